//! A `--table` that cannot be served is a clear error, exit code 2, never
//! a silent empty table: a table topic that does not exist (named), a
//! plugin that reads tables with no `--table` given, and a table past
//! `--table-max-mb` — at start-up while loading, and later when an update
//! grows it (eoshost then stops cleanly, committing what it processed,
//! and exits 2 naming the flag and the table).

use anyhow::Context as _;
use eoshost_tests::timeouts::{EXIT_AT_START, FIRST_COMMIT};
use eoshost_tests::{EoshostSpec, Exit, RecordPlan, Scenario, Seeded, TableRows};

fn lookup(scenario: &Scenario, input: &str, output: &str) -> EoshostSpec {
    scenario
        .spec("lookup", input, &[output], &scenario.unique("group"))
        .plugin_config("table=customers")
        .plugin_config("key_field=customer_id")
        .plugin_config("as=customer")
}

/// `count` rows of about 1 KiB each.
fn kibibyte_rows(from: usize, count: usize) -> Vec<(String, Option<String>)> {
    (from..from + count).map(|i| (format!("c-{i}"), Some(format!(r#"{{"pad":"{}"}}"#, "x".repeat(1000))))).collect()
}

#[test]
fn a_missing_table_topic_exits_2_naming_it() -> anyhow::Result<()> {
    let scenario = Scenario::new("table_topic_missing");
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let missing = scenario.unique("no-such-table");
    let spec = lookup(&scenario, &input, &output).args(["--table".to_owned(), format!("customers={missing}")]);
    let (exit, stderr, _) = scenario.run_to_exit(&spec, "missing-table", EXIT_AT_START)?;
    assert_eq!(exit, Exit::Code(2), "stderr:\n{stderr}");
    assert!(stderr.contains(&missing), "stderr does not name the missing table topic {missing}:\n{stderr}");
    Ok(())
}

#[test]
fn a_plugin_that_reads_tables_without_any_table_given_exits_2() -> anyhow::Result<()> {
    let scenario = Scenario::new("table_not_given");
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let (exit, stderr, _) = scenario.run_to_exit(&lookup(&scenario, &input, &output), "no-table", EXIT_AT_START)?;
    assert_eq!(exit, Exit::Code(2), "stderr:\n{stderr}");
    assert!(stderr.contains("no --table was given"), "stderr does not say --table is missing:\n{stderr}");
    Ok(())
}

#[test]
fn a_table_past_table_max_mb_while_loading_exits_2_naming_the_flag_and_the_table() -> anyhow::Result<()> {
    let scenario = Scenario::new("table_too_big_at_start");
    let broker = scenario.broker();
    let table_topic = scenario.compacted_topic("customers", 2)?;
    TableRows::default().write(broker, &table_topic, &kibibyte_rows(0, 1_500))?;
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let spec = lookup(&scenario, &input, &output).args([
        "--table".to_owned(),
        format!("customers={table_topic}"),
        "--table-max-mb".to_owned(),
        "1".to_owned(),
    ]);
    let (exit, stderr, _) = scenario.run_to_exit(&spec, "too-big", EXIT_AT_START)?;
    assert_eq!(exit, Exit::Code(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains("--table-max-mb") && stderr.contains("table \"customers\""),
        "stderr does not name --table-max-mb and the table:\n{stderr}"
    );
    Ok(())
}

#[test]
fn a_table_that_grows_past_table_max_mb_while_running_stops_cleanly_with_exit_2() -> anyhow::Result<()> {
    let scenario = Scenario::new("table_too_big_later");
    let broker = scenario.broker();
    let table_topic = scenario.compacted_topic("customers", 2)?;
    let mut rows = TableRows::default();
    rows.write(broker, &table_topic, &kibibyte_rows(0, 500))?;
    let input = scenario.topic("in", 2)?;
    let output = scenario.topic("out", 2)?;
    let spec = lookup(&scenario, &input, &output).args([
        "--table".to_owned(),
        format!("customers={table_topic}"),
        "--table-max-mb".to_owned(),
        "1".to_owned(),
    ]);
    let mut run = scenario.spawn(&spec, "grows")?;
    let seeded = Seeded::write(broker, &input, &RecordPlan::new(10, 2), 100)?;
    let progress = broker.progress(spec.group(), &input)?;
    progress.wait_all_committed(&mut [&mut run], FIRST_COMMIT)?;

    rows.write(broker, &table_topic, &kibibyte_rows(500, 1_000))?;
    let exit = run.wait_exit(EXIT_AT_START).with_context(|| format!("still running:\n{}", run.stderr_tail(20)))?;
    let stderr = run.stderr();
    assert_eq!(exit, Exit::Code(2), "stderr:\n{stderr}");
    assert!(stderr.contains("--table-max-mb") && stderr.contains("table \"customers\""), "stderr:\n{stderr}");
    assert_eq!(progress.committed_total()?, seeded.len() as i64, "the records processed before the stop stay committed");
    Ok(())
}
