//! Joins with a `--table` against a real broker: `lookup` joins each order
//! with its customer (the latest value per key of a compacted topic); the
//! same join under SIGKILLs is `faults_tables_join.rs`.
//!
//! - A customer updated while the stream flows: orders produced a few
//!   seconds after the update carry the new value, and the table's gauges
//!   show the table.
//! - A restart reloads the table, updated while eoshost was down, before it
//!   processes a record: the first orders after the restart see the update.

use std::collections::BTreeSet;
use std::time::Duration;

use eoshost_tests::faults::{samples_by_label, stop_cleanly};
use eoshost_tests::tables::{CUSTOMERS, Join, PARTITIONS};
use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, FIRST_COMMIT};
use eoshost_tests::{Isolation, OutputRecord, RecordPlan, Scenario, Seeded, Tally, metrics};

#[test]
fn orders_produced_after_a_customer_update_carry_the_new_value() -> anyhow::Result<()> {
    let scenario = Scenario::new("tables_join_update");
    let broker = scenario.broker();
    let Join { mut table, table_topic, input, output, group, spec } = Join::set_up(&scenario)?;
    let metrics_addr = metrics::free_local_addr()?;
    let plan = RecordPlan::new(CUSTOMERS, PARTITIONS);

    let spec = spec.args(["--metrics-addr", &metrics_addr]);
    let mut run = scenario.spawn(&spec, "lookup")?;
    let mut seeded = Seeded::write(broker, &input, &plan, 600)?;
    let progress = broker.progress(&group, &input)?;
    progress.wait_all_committed(&mut [&mut run], FIRST_COMMIT)?;
    let before = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let wrong_before = table.wrong_joins(&before);
    anyhow::ensure!(wrong_before.is_empty(), "joins before the update: {wrong_before:?}");

    // Update every customer (and bring back a deleted one) while eoshost runs.
    let updates: Vec<(String, Option<String>)> = (0..CUSTOMERS)
        .map(|i| (format!("c-{i}"), Some(format!(r#"{{"name":"customer {i}","tier":"platinum","v":3}}"#))))
        .collect();
    table.write(broker, &table_topic, &updates)?;
    std::thread::sleep(Duration::from_secs(3));
    let first_after = seeded.len() as u64;
    seeded.extend(broker, &plan, 600)?;
    progress.wait_all_committed(&mut [&mut run], FIRST_COMMIT)?;
    // The gauges: sizes every second, the lag every 5 s, so wait for a lag
    // measured after the update was applied.
    let caught_up = |text: &str| samples_by_label(text, "eoshost_table_lag", "table").get("customers") == Some(&0.0);
    let deadline = std::time::Instant::now() + Duration::from_secs(12);
    let mut metrics = metrics::scrape(&metrics_addr).unwrap_or_default();
    while !caught_up(&metrics) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        metrics = metrics::scrape(&metrics_addr).unwrap_or_default();
    }
    stop_cleanly(&mut run, EXIT_AFTER_SIGTERM).map_err(anyhow::Error::msg)?;

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    Tally::count(&seeded.all(), &outputs).assert_exactly_once("lookup across a table update");
    let after: Vec<OutputRecord> = outputs.into_iter().filter(|o| o.number().is_some_and(|n| n >= first_after)).collect();
    anyhow::ensure!(after.len() == 600, "{} orders produced after the update were joined, expected 600", after.len());
    let stale = table.wrong_joins(&after);
    anyhow::ensure!(
        stale.is_empty(),
        "orders produced 3 s after the update carry old values: {:?}",
        &stale[..stale.len().min(5)]
    );

    let records = samples_by_label(&metrics, "eoshost_table_records", "table");
    let lag = samples_by_label(&metrics, "eoshost_table_lag", "table");
    let bytes = samples_by_label(&metrics, "eoshost_table_bytes", "table");
    anyhow::ensure!(records.get("customers") == Some(&60.0), "eoshost_table_records: {records:?}\n{metrics}");
    anyhow::ensure!(bytes.get("customers").is_some_and(|b| *b > 60.0 * 40.0), "eoshost_table_bytes: {bytes:?}");
    anyhow::ensure!(lag.get("customers") == Some(&0.0), "eoshost_table_lag: {lag:?}");
    scenario.report(&format!(
        "SUMMARY tables_join_update records={} updated_customers={CUSTOMERS} stale_after_update=0 result=PASS",
        seeded.len()
    ));
    Ok(())
}

#[test]
fn a_restart_reloads_the_table_before_processing_a_record() -> anyhow::Result<()> {
    let scenario = Scenario::new("tables_join_restart");
    let broker = scenario.broker();
    let Join { mut table, table_topic, input, output, group, spec } = Join::set_up(&scenario)?;
    let plan = RecordPlan::new(CUSTOMERS, PARTITIONS);

    let mut first = scenario.spawn(&spec, "first")?;
    let mut seeded = Seeded::write(broker, &input, &plan, 120)?;
    let progress = broker.progress(&group, &input)?;
    progress.wait_all_committed(&mut [&mut first], FIRST_COMMIT)?;
    stop_cleanly(&mut first, EXIT_AFTER_SIGTERM).map_err(anyhow::Error::msg)?;

    // While eoshost is down: the table changes, and orders wait.
    let updates: Vec<(String, Option<String>)> = (0..CUSTOMERS)
        .map(|i| match i % 3 {
            0 => (format!("c-{i}"), None),
            _ => (format!("c-{i}"), Some(format!(r#"{{"name":"customer {i}","tier":"restarted","v":4}}"#))),
        })
        .collect();
    table.write(broker, &table_topic, &updates)?;
    let first_after = seeded.len() as u64;
    seeded.extend(broker, &plan, 120)?;

    let mut second = scenario.spawn(&spec, "second")?;
    progress.wait_all_committed(&mut [&mut second], FIRST_COMMIT)?;
    let log = second.stderr();
    stop_cleanly(&mut second, EXIT_AFTER_SIGTERM).map_err(anyhow::Error::msg)?;

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    Tally::count(&seeded.all(), &outputs).assert_exactly_once("lookup across a restart");
    let after: Vec<OutputRecord> = outputs.into_iter().filter(|o| o.number().is_some_and(|n| n >= first_after)).collect();
    let expected_after: BTreeSet<u64> = (first_after..seeded.len() as u64).collect();
    anyhow::ensure!(
        after.len() == expected_after.len(),
        "{} orders after the restart, expected {}",
        after.len(),
        expected_after.len()
    );
    let stale = table.wrong_joins(&after);
    anyhow::ensure!(stale.is_empty(), "orders processed after the restart saw the old table: {:?}", &stale[..stale.len().min(5)]);
    let loaded = log.find("table loaded").ok_or_else(|| anyhow::anyhow!("no \"table loaded\" line:\n{log}"))?;
    let started = log.find("eoshost started").ok_or_else(|| anyhow::anyhow!("no \"eoshost started\" line:\n{log}"))?;
    anyhow::ensure!(loaded < started, "the table was loaded after the consumer started:\n{log}");
    scenario.report("SUMMARY tables_join_restart stale_after_restart=0 loaded_before_start=true result=PASS");
    Ok(())
}
