//! Fault injection, stateful: two `dedup` instances share one group over
//! six input partitions while records flow in, a third of them repeats of
//! an earlier order of the same key (so of the same partition); instances
//! are killed with SIGKILL and restarted as in `faults_counter`. The ids
//! seen live in the plugin's state, kept exactly once in the changelog.
//! Afterwards a `read_committed` reader must see every distinct order
//! exactly once — a repeat let through would be a state write lost, an
//! order missing a state write applied without its record — in per-key
//! order, and a marker committed after the run must be visible at once.
//!
//! Quick mode (CI): ~9,000 records, 5 kills. `EOSHOST_FAULTS_FULL=1`:
//! 60,000 records, 15 kills.

use std::collections::BTreeSet;

use eoshost_tests::faults::{FaultReport, by_mode, stop_cleanly};
use eoshost_tests::kills::run_through_kills;
use eoshost_tests::timeouts::EXIT_AFTER_SIGTERM;
use eoshost_tests::{Feeder, Isolation, RecordPlan, Scenario, env_number};

const MEMBERS: usize = 2;
const PARTITIONS: i32 = 6;
const KEYS: u64 = 60;

#[test]
fn every_distinct_id_exactly_once_while_dedup_instances_are_killed() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_dedup");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    scenario.delete_at_end(&format!("{group}.state"));
    let minimum = scenario.scaled(by_mode(9_000, 60_000));
    let per_second = scenario.scaled(by_mode(400, 1_000));
    let kills_wanted = env_number("EOSHOST_FAULTS_BOUNCES", by_mode(5.0, 15.0)) as usize;

    let plan = RecordPlan::new(KEYS, PARTITIONS).with_repeats();
    let feeder = Feeder::start(broker, &input, plan.clone(), minimum, per_second)?;
    let spec = scenario
        .spec("dedup", &input, &[&output], &group)
        .plugin_config("id_field=order_id")
        .plugin_config("window=1h")
        .fast_failure_detection()
        .args(["--static-membership", "off"]);
    let progress = broker.progress(&group, &input)?;
    let (mut members, phase, seeded) = run_through_kills(&scenario, &spec, MEMBERS, feeder, &progress, kills_wanted, minimum)?;
    let mut problems = phase.problems;
    for member in &mut members {
        if let Err(problem) = stop_cleanly(member, EXIT_AFTER_SIGTERM) {
            problems.push(problem);
        }
    }

    let distinct: BTreeSet<u64> = seeded.records.iter().filter(|r| !plan.is_repeat(r.n)).map(|r| r.n).collect();
    let outputs = broker.read_topic(&output, Isolation::Committed, distinct.len())?;
    let mut report = FaultReport::count("faults_dedup", &distinct, &BTreeSet::new(), &outputs, &[]).kills(phase.kills);
    report.note("inputs", seeded.len());
    report.note("repeats", seeded.len() - distinct.len());
    report.note("takeovers", phase.takeovers);
    report.note("members", MEMBERS);
    report.note("partitions", PARTITIONS);
    report.check_no_hanging_transaction(broker, &[&output]);
    report.problems(problems);
    report.finish(&scenario);
    Ok(())
}
