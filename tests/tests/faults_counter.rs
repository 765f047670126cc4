//! Fault injection, stateful: two `counter` instances share one group over
//! six input partitions while records flow in; again and again one of them
//! is killed with SIGKILL and started again — at once, or after the group
//! has moved its partitions to the other member (dynamic membership, so
//! every restart moves partitions too). Each count lives in the plugin's
//! state, kept exactly once in the changelog topic eoshost creates.
//! Afterwards a `read_committed` reader must see, for every key, the values
//! `1, 2, …, n` in order, `n` the number of inputs with that key — a count
//! skipped would be a state write lost, a count repeated a state write or
//! an output applied twice — and a marker committed after the run must be
//! visible at once.
//!
//! Quick mode (CI): ~12,000 records, 6 kills. `EOSHOST_FAULTS_FULL=1`:
//! 100,000 records, 20 kills. `EOSHOST_FAULTS_BOUNCES` overrides the number
//! of kills; `EOSHOST_TEST_SEED` replays the random choices.

use std::collections::HashMap;

use eoshost_tests::counts::CountTally;
use eoshost_tests::faults::{by_mode, mode_name, stop_cleanly};
use eoshost_tests::kills::run_through_kills;
use eoshost_tests::timeouts::EXIT_AFTER_SIGTERM;
use eoshost_tests::{Feeder, Isolation, RecordPlan, Scenario, TRANSACTION_TIMEOUT, env_number};

const MEMBERS: usize = 2;
const PARTITIONS: i32 = 6;
const KEYS: u64 = 60;

#[test]
fn every_key_counts_one_to_n_without_gap_or_repeat_while_counter_instances_are_killed() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_counter");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    scenario.delete_at_end(&format!("{group}.state"));
    let minimum = scenario.scaled(by_mode(12_000, 100_000));
    let per_second = scenario.scaled(by_mode(400, 1_000));
    let kills_wanted = env_number("EOSHOST_FAULTS_BOUNCES", by_mode(6.0, 20.0)) as usize;

    let feeder = Feeder::start(broker, &input, RecordPlan::new(KEYS, PARTITIONS), minimum, per_second)?;
    let spec = scenario.spec("counter", &input, &[&output], &group).fast_failure_detection().args(["--static-membership", "off"]);
    let progress = broker.progress(&group, &input)?;
    let (mut members, phase, seeded) = run_through_kills(&scenario, &spec, MEMBERS, feeder, &progress, kills_wanted, minimum)?;
    let (kills, moved, mut problems) = (phase.kills, phase.takeovers, phase.problems);
    let restores: usize = members.iter().map(|m| m.stderr().matches("restored state from the changelog").count()).sum();
    for member in &mut members {
        if let Err(problem) = stop_cleanly(member, EXIT_AFTER_SIGTERM) {
            problems.push(problem);
        }
    }

    let mut per_key: HashMap<String, usize> = HashMap::new();
    for record in &seeded.records {
        *per_key.entry(record.key.clone()).or_default() += 1;
    }
    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let tally = CountTally::count(&per_key, &outputs);
    let marker = match broker.assert_no_hanging_transaction(&[&output], TRANSACTION_TIMEOUT) {
        Ok(visible) => visible.as_millis().to_string(),
        Err(error) => {
            problems.push(format!("{error:#}"));
            "none".to_owned()
        }
    };
    let right = tally.is_exactly_once() && problems.is_empty();
    let line = format!(
        "SUMMARY faults_counter mode={} records={} keys={} outputs={} duplicates={} gaps={} order_violations={} \
         unexpected={} kills={kills} takeovers={moved} members={MEMBERS} partitions={PARTITIONS} \
         restores_by_final_members={restores} marker_ms={marker} problems={} result={}",
        mode_name(),
        tally.inputs,
        tally.keys,
        tally.outputs,
        tally.duplicates,
        tally.gaps,
        tally.order_violations,
        tally.unexpected,
        problems.len(),
        if right { "PASS" } else { "FAIL" }
    );
    scenario.report(&line);
    if !right {
        let details: Vec<String> =
            std::iter::once(tally.samples()).chain(problems.iter().map(|p| format!("  problem: {p}"))).collect();
        panic!("faults_counter: not exactly once\n{line}\n{}", details.join("\n"));
    }
    Ok(())
}
