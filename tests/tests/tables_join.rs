//! Joins with a `--table` against a real broker: `lookup` joins each order
//! with its customer (the latest value per key of a compacted topic).
//!
//! - Under SIGKILLs and rebalances (two members, dynamic membership) every
//!   order is joined exactly once, and every output carries the table's
//!   value for its customer — the latest one, `null` for a deleted or
//!   absent customer (the table is not written during that test).
//! - A customer updated while the stream flows: orders produced a few
//!   seconds after the update carry the new value, and the table's gauges
//!   show the table.
//! - A restart reloads the table, updated while eoshost was down, before it
//!   processes a record: the first orders after the restart see the update.

use std::collections::BTreeSet;
use std::time::Duration;

use eoshost_tests::faults::{by_mode, mode_name, samples_by_label, stop_cleanly};
use eoshost_tests::kills::run_through_kills;
use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, FIRST_COMMIT};
use eoshost_tests::{
    EoshostSpec, Feeder, Isolation, OutputRecord, RecordPlan, Scenario, Seeded, TRANSACTION_TIMEOUT, TableRows, Tally,
    env_number, metrics,
};

const PARTITIONS: i32 = 6;
/// Orders name customers `c-0` … `c-59` (`RecordPlan`'s `customer_id`).
const CUSTOMERS: u64 = 60;

/// The customers table of these tests: `c-0`…`c-4` written then deleted,
/// `c-5`…`c-9` written twice (the second value wins), `c-50`… never written.
fn customer_rows() -> Vec<(String, Option<String>)> {
    let mut rows = Vec::new();
    for i in 0..50 {
        rows.push((format!("c-{i}"), Some(format!(r#"{{"name":"customer {i}","tier":"silver","v":1}}"#))));
    }
    for i in 0..5 {
        rows.push((format!("c-{i}"), None));
    }
    for i in 5..10 {
        rows.push((format!("c-{i}"), Some(format!(r#"{{"name":"customer {i}","tier":"gold","v":2}}"#))));
    }
    rows
}

/// What every join test starts from: the customers table written to its
/// compacted topic, the orders and output topics, a group, and `lookup`
/// joining each order with its customer.
struct Join {
    table: TableRows,
    table_topic: String,
    input: String,
    output: String,
    group: String,
    spec: EoshostSpec,
}

impl Join {
    fn set_up(scenario: &Scenario) -> anyhow::Result<Join> {
        let table_topic = scenario.compacted_topic("customers", 3)?;
        let mut table = TableRows::default();
        table.write(scenario.broker(), &table_topic, &customer_rows())?;
        let input = scenario.topic("orders", PARTITIONS)?;
        let output = scenario.topic("joined", PARTITIONS)?;
        let group = scenario.unique("group");
        let spec = scenario
            .spec("lookup", &input, &[&output], &group)
            .plugin_config("table=customers")
            .plugin_config("key_field=customer_id")
            .plugin_config("as=customer")
            .args(["--table".to_owned(), format!("customers={table_topic}")]);
        Ok(Join { table, table_topic, input, output, group, spec })
    }
}

/// The order `output` joined, and the customer value it carries (compact
/// JSON text, `null` for none).
fn joined(output: &OutputRecord) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_slice(output.value.as_deref()?).ok()?;
    let customer_id = value.get("customer_id")?.as_str()?.to_owned();
    Some((customer_id, serde_json::to_string(value.get("customer")?).ok()?))
}

/// What `lookup` must have put in an order of `customer_id`: the table's
/// value, compact, or `null`.
fn expected_customer(table: &TableRows, customer_id: &str) -> String {
    table.value(customer_id).map_or_else(
        || "null".to_owned(),
        |json| serde_json::to_string(&serde_json::from_str::<serde_json::Value>(json).expect("test rows are JSON")).unwrap(),
    )
}

/// Outputs whose joined customer is not `expected` for their order, as
/// sample lines.
fn wrong_joins(outputs: &[OutputRecord], expected: impl Fn(&str) -> String) -> Vec<String> {
    outputs
        .iter()
        .filter(|output| !output.is_marker())
        .filter_map(|output| match joined(output) {
            None => Some(format!("not a joined order: {}", output.value_text().unwrap_or_default())),
            Some((customer_id, customer)) if customer != expected(&customer_id) => Some(format!(
                "order {:?} of {customer_id}: customer {customer}, expected {}",
                output.number(),
                expected(&customer_id)
            )),
            Some(_) => None,
        })
        .collect()
}

#[test]
fn every_order_is_joined_exactly_once_with_its_customer_while_instances_are_killed() -> anyhow::Result<()> {
    let scenario = Scenario::new("tables_join_kills");
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
    let wrong = wrong_joins(&outputs, |customer_id| expected_customer(&table, customer_id));
    if let Err(error) = broker.assert_no_hanging_transaction(&[&output], TRANSACTION_TIMEOUT) {
        problems.push(format!("{error:#}"));
    }
    let right = tally.is_exactly_once() && wrong.is_empty() && problems.is_empty();
    let line = format!(
        "SUMMARY tables_join_kills mode={} records={} outputs={} duplicates={} lost={} wrong_joins={} kills={} \
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
    let wrong_before = wrong_joins(&before, |customer_id| expected_customer(&table, customer_id));
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
    let stale = wrong_joins(&after, |customer_id| expected_customer(&table, customer_id));
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
    let stale = wrong_joins(&after, |customer_id| expected_customer(&table, customer_id));
    anyhow::ensure!(stale.is_empty(), "orders processed after the restart saw the old table: {:?}", &stale[..stale.len().min(5)]);
    let loaded = log.find("table loaded").ok_or_else(|| anyhow::anyhow!("no \"table loaded\" line:\n{log}"))?;
    let started = log.find("eoshost started").ok_or_else(|| anyhow::anyhow!("no \"eoshost started\" line:\n{log}"))?;
    anyhow::ensure!(loaded < started, "the table was loaded after the consumer started:\n{log}");
    scenario.report("SUMMARY tables_join_restart stale_after_restart=0 loaded_before_start=true result=PASS");
    Ok(())
}
