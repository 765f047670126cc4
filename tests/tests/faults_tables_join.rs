//! Fault injection, joins: two `lookup` members share one group over six
//! order partitions while orders flow in; again and again one of them is
//! killed with SIGKILL and started again — at once, or after the group has
//! moved its partitions (dynamic membership). Each instance loads the
//! customers table (`--table`) at every start. Afterwards a
//! `read_committed` reader must see every order exactly once, each carrying
//! the table's value for its customer — the latest one, `null` for a
//! deleted or absent customer (the table is not written during the test).
//!
//! Quick mode (CI): ~10,000 orders, 5 kills. `EOSHOST_FAULTS_FULL=1`:
//! 80,000 orders, 15 kills. `EOSHOST_FAULTS_BOUNCES` overrides the number
//! of kills; `EOSHOST_TEST_SEED` replays the random choices.

use eoshost_tests::faults::{by_mode, mode_name, stop_cleanly};
use eoshost_tests::kills::run_through_kills;
use eoshost_tests::tables::{CUSTOMERS, Join, PARTITIONS};
use eoshost_tests::timeouts::EXIT_AFTER_SIGTERM;
use eoshost_tests::{Feeder, Isolation, RecordPlan, Scenario, TRANSACTION_TIMEOUT, Tally, env_number};

#[test]
fn every_order_is_joined_exactly_once_with_its_customer_while_instances_are_killed() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_tables_join");
    let broker = scenario.broker();
    let Join { table, input, output, group, spec, .. } = Join::set_up(&scenario)?;
    let minimum = scenario.scaled(by_mode(10_000, 80_000));
    let kills_wanted = env_number("EOSHOST_FAULTS_BOUNCES", by_mode(5.0, 15.0)) as usize;

    let feeder = Feeder::start(broker, &input, RecordPlan::new(CUSTOMERS, PARTITIONS), minimum, scenario.scaled(500))?;
    let spec = spec.fast_failure_detection().args(["--static-membership", "off"]);
    let progress = broker.progress(&group, &input)?;
    let (mut members, phase, seeded) = run_through_kills(&scenario, &spec, 2, feeder, &progress, kills_wanted, minimum)?;
    let mut problems = phase.problems;
    let loads: usize = members.iter().map(|m| m.stderr().matches("table loaded").count()).sum();
    for member in &mut members {
        if let Err(problem) = stop_cleanly(member, EXIT_AFTER_SIGTERM) {
            problems.push(problem);
        }
    }

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let tally = Tally::count(&seeded.all(), &outputs).with_kills(phase.kills);
    let wrong = table.wrong_joins(&outputs);
    if let Err(error) = broker.assert_no_hanging_transaction(&[&output], TRANSACTION_TIMEOUT) {
        problems.push(format!("{error:#}"));
    }
    let right = tally.is_exactly_once() && wrong.is_empty() && problems.is_empty();
    let line = format!(
        "SUMMARY faults_tables_join mode={} records={} outputs={} duplicates={} lost={} wrong_joins={} kills={} \
         takeovers={} table_loads_by_final_members={loads} problems={} result={}",
        mode_name(),
        seeded.len(),
        tally.outputs,
        tally.duplicates,
        tally.lost,
        wrong.len(),
        phase.kills,
        phase.takeovers,
        problems.len(),
        if right { "PASS" } else { "FAIL" }
    );
    scenario.report(&line);
    assert!(
        right,
        "{line}\n{}\nwrong joins (first 10):\n{}\nproblems:\n{}",
        tally.samples(),
        wrong.iter().take(10).cloned().collect::<Vec<_>>().join("\n"),
        problems.join("\n")
    );
    Ok(())
}
