//! What state costs: `counter` (a get and a set per record, one changelog
//! record per changed key per transaction) against `identity` over the same
//! 600,000 input records on the same broker, one after the other, each
//! timed from its first commit to everything committed (start-up and the
//! group join are not throughput). Prints the rates and their ratio;
//! `counter` must keep at least a fifth of `identity`'s rate.

use std::time::{Duration, Instant};

use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, FIRST_BATCH};
use eoshost_tests::{RecordPlan, Scenario, Seeded};

const RECORDS: u64 = 600_000;
const KEYS: u64 = 1_000;
const PARTITIONS: i32 = 6;

#[test]
fn counter_keeps_within_a_factor_of_identity_s_throughput() -> anyhow::Result<()> {
    let scenario = Scenario::new("state_throughput");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    Seeded::write(broker, &input, &RecordPlan::new(KEYS, PARTITIONS), scenario.scaled(RECORDS))?;
    let mut rates = Vec::new();
    for plugin in ["identity", "counter"] {
        let output = scenario.topic(&format!("{plugin}-out"), PARTITIONS)?;
        let group = scenario.unique(plugin);
        scenario.delete_at_end(&format!("{group}.state"));
        let spec = scenario.spec(plugin, &input, &[&output], &group).transactional_id(&scenario.unique("txn"));
        let mut run = scenario.spawn(&spec, plugin)?;
        let progress = broker.progress(&group, &input)?;
        let first = progress.wait_progress(0, &mut [&mut run], FIRST_BATCH)?;
        let started = Instant::now();
        progress.wait_all_committed(&mut [&mut run], Duration::from_secs(300))?;
        let took = started.elapsed();
        run.terminate(EXIT_AFTER_SIGTERM)?;
        let timed = scenario.scaled(RECORDS) - first as u64;
        let rate = timed as f64 / took.as_secs_f64();
        scenario.report(&format!("{plugin}: {timed} records after its first commit in {took:.2?}: {rate:.0} records/s"));
        rates.push(rate);
    }
    let ratio = rates[1] / rates[0];
    scenario.report(&format!("THROUGHPUT counter/identity ratio={ratio:.2}"));
    assert!(ratio > 0.2, "counter runs at {ratio:.2} of identity's rate");
    Ok(())
}
