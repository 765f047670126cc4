//! `eoshost_consumer_lag{topic, partition}` is there for every assigned
//! partition from the assignment on, also when nothing arrives: an operator
//! (and the lag alert) sees an idle input as lag 0, not as no data. An
//! instance with `--metrics-addr` is given an input of four empty
//! partitions; from its assignment line, `/metrics` must list lag 0 for each
//! of the four within [`LAG_WITHIN`] — in the Kafka pipeline and in the
//! PostgreSQL sink.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eoshost_tests::{Eoshost, Postgres, Scenario, metrics, timeouts};

/// From the assignment line to a lag sample of every partition.
const LAG_WITHIN: Duration = Duration::from_secs(5);
/// How long the scrapes go on, so that a late lag is measured, not only
/// missed.
const OBSERVE_FOR: Duration = Duration::from_secs(15);
const SCRAPE_EVERY: Duration = Duration::from_millis(100);
const PARTITIONS: i32 = 4;

/// The `eoshost_consumer_lag` samples of `topic` in a scrape, by partition.
fn lag_by_partition(scrape: &str, topic: &str) -> BTreeMap<i32, f64> {
    let mut found = BTreeMap::new();
    for line in scrape.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Some(labels) = series.strip_prefix("eoshost_consumer_lag{").and_then(|rest| rest.strip_suffix('}')) else {
            continue;
        };
        let label =
            |name: &str| labels.split(',').find_map(|pair| pair.strip_prefix(name)?.strip_prefix("=\"")?.strip_suffix('"'));
        if label("topic") != Some(topic) {
            continue;
        }
        if let (Some(partition), Ok(value)) = (label("partition").and_then(|p| p.parse().ok()), value.parse()) {
            found.insert(partition, value);
        }
    }
    found
}

/// Waits for one of `assigned` on stderr, then scrapes `/metrics` until
/// every partition of `input` has a lag sample. Returns the time from the
/// assignment line (seen within 5 ms of being written) to the scrape that
/// had them all, and those samples.
fn lag_after_assignment(
    run: &mut Eoshost,
    assigned: &[&str],
    metrics_addr: &str,
    input: &str,
) -> anyhow::Result<(Duration, BTreeMap<i32, f64>)> {
    run.wait_for_stderr(&format!("one of {assigned:?}"), timeouts::LOG_LINE, |text| {
        assigned.iter().any(|line| text.contains(line))
    })?;
    let assigned_at = Instant::now();
    let mut last = String::new();
    loop {
        if let Some(scrape) = metrics::scrape(metrics_addr) {
            let lags = lag_by_partition(&scrape, input);
            if (0..PARTITIONS).all(|partition| lags.contains_key(&partition)) {
                return Ok((assigned_at.elapsed(), lags));
            }
            last = scrape;
        }
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{} ended ({exit}) while its lag was awaited; stderr tail:\n{}", run.label(), run.stderr_tail(30));
        }
        if assigned_at.elapsed() > OBSERVE_FOR {
            let lines: Vec<&str> = last.lines().filter(|line| line.starts_with("eoshost_consumer_lag")).collect();
            anyhow::bail!(
                "{OBSERVE_FOR:?} after the assignment, /metrics has lag samples of {input} partitions {:?} of 0..{PARTITIONS}; \
                 its eoshost_consumer_lag lines: {lines:?}",
                lag_by_partition(&last, input).keys().collect::<Vec<_>>()
            );
        }
        std::thread::sleep(SCRAPE_EVERY);
    }
}

/// The verdict: every partition sampled within [`LAG_WITHIN`], at lag 0.
fn assert_idle_lag(scenario: &Scenario, what: &str, took: Duration, lags: &BTreeMap<i32, f64>) {
    scenario.report(&format!("{what}: lag of all {PARTITIONS} partitions on /metrics {took:.2?} after the assignment: {lags:?}"));
    assert!(
        took <= LAG_WITHIN,
        "{what}: the lag of every partition came {took:.2?} after the assignment, not within {LAG_WITHIN:?}"
    );
    let busy: Vec<_> = lags.iter().filter(|(_, lag)| **lag != 0.0).collect();
    assert!(busy.is_empty(), "{what}: an empty input shows a lag other than 0: {busy:?}");
}

#[test]
fn the_pipeline_exports_lag_0_for_every_partition_of_an_idle_input_within_5_s_of_assignment() -> anyhow::Result<()> {
    let scenario = Scenario::new("consumer_lag_idle_pipeline");
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", 1)?;
    let metrics_addr = metrics::free_local_addr()?;
    let spec = scenario
        .spec("identity", &input, &[&output], &scenario.unique("group"))
        .transactional_id(&scenario.unique("txn"))
        .args(["--metrics-addr", &metrics_addr]);
    let mut run = scenario.spawn(&spec, "pipeline")?;
    let (took, lags) = lag_after_assignment(&mut run, &["partitions assigned"], &metrics_addr, &input)?;
    let _ = run.terminate(timeouts::EXIT_AFTER_SIGTERM);
    assert_idle_lag(&scenario, "pipeline", took, &lags);
    Ok(())
}

#[test]
fn the_postgres_sink_exports_lag_0_for_every_partition_of_an_idle_input_within_5_s_of_assignment() -> anyhow::Result<()> {
    let scenario = Scenario::new("consumer_lag_idle_sink");
    let pg = Postgres::get()?;
    let input = scenario.topic("in", PARTITIONS)?;
    let table = scenario.unique("rows").replace('-', "_");
    let metrics_addr = metrics::free_local_addr()?;
    // --output is the sink's allow-list of the topics outputs may name;
    // identity names none.
    let spec = scenario.spec("identity", &input, &["unused"], &scenario.unique("group")).args([
        "--sink",
        "postgres",
        "--postgres-url",
        pg.url(),
        "--table",
        &table,
        "--metrics-addr",
        &metrics_addr,
    ]);
    let mut run = scenario.spawn(&spec, "sink")?;
    // The sink's own assignment line (host/src/sink/partitions.rs), or the
    // pipeline's, should it log that one too.
    let measured = lag_after_assignment(
        &mut run,
        &["assigned; starting at the database's offsets", "partitions assigned"],
        &metrics_addr,
        &input,
    );
    let _ = run.terminate(timeouts::EXIT_AFTER_SIGTERM);
    pg.drop_tables(&[&table, &format!("{table}_dead_letters")]);
    let (took, lags) = measured?;
    assert_idle_lag(&scenario, "postgres sink", took, &lags);
    Ok(())
}

#[test]
fn lag_samples_are_read_by_topic_and_partition_label() {
    let scrape = "# TYPE eoshost_consumer_lag gauge\n\
                  eoshost_consumer_lag{topic=\"in\",partition=\"0\"} 0\n\
                  eoshost_consumer_lag{partition=\"3\",topic=\"in\"} 7\n\
                  eoshost_consumer_lag{topic=\"in-2\",partition=\"1\"} 5\n\
                  eoshost_consumer_lag_other{topic=\"in\",partition=\"2\"} 9\n";
    assert_eq!(lag_by_partition(scrape, "in"), BTreeMap::from([(0, 0.0), (3, 7.0)]));
}
