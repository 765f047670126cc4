//! What operators query exists: a scrape of a live instance's `/metrics`
//! (`--metrics-addr`, a real pipeline on the broker) lists every metric of
//! DESIGN §1.6 with its known labels, and every metric name that the Grafana
//! dashboard (`deploy/grafana/eoshost.json`) and the alert rules
//! (`deploy/prometheus/alerts.yaml`) query. A renamed metric breaks this test
//! instead of silently emptying a panel or disarming an alert.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eoshost_tests::timeouts::{ALL_COMMITTED, EXIT_AFTER_SIGTERM, LAG_REPORTED};
use eoshost_tests::{Exit, RecordPlan, Scenario, Seeded, metrics};

/// DESIGN §1.6, as scraped (counters with `_total`, histograms by family).
const DESIGNED: [&str; 10] = [
    "eoshost_records_consumed_total",
    "eoshost_records_produced_total",
    "eoshost_records_dead_lettered_total",
    "eoshost_transactions_committed_total",
    "eoshost_transactions_aborted_total",
    "eoshost_transaction_commit_seconds",
    "eoshost_plugin_call_seconds",
    "eoshost_plugin_traps_total",
    "eoshost_consumer_lag",
    "eoshost_producer_replacements_total",
];

const TRAP_KINDS: [&str; 5] = ["panic", "timeout", "memory", "stack", "other"];

fn repository_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").join(path)
}

/// Every `eoshost_…` metric name in `text` (a PromQL-bearing file).
fn queried_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find("eoshost_") {
        let start = from + found;
        let preceded_by_name = start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .map_or(text.len(), |length| start + length);
        if !preceded_by_name {
            names.insert(text[start..end].to_owned());
        }
        from = end;
    }
    names
}

/// Sample names and `# TYPE` family names of a Prometheus/OpenMetrics text.
fn exported_names(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter_map(|line| match line.strip_prefix("# TYPE ") {
            Some(family) => family.split_whitespace().next(),
            None if line.starts_with('#') => None,
            None => line.split(['{', ' ']).next(),
        })
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_live_scrape_lists_every_designed_metric_and_every_metric_the_dashboard_and_alerts_query() -> anyhow::Result<()> {
    let scenario = Scenario::new("operations_metrics");
    let broker = scenario.broker();
    let partitions = 2;
    let input = scenario.topic("in", partitions)?;
    let output = scenario.topic("out", partitions)?;
    let group = scenario.unique("group");
    let seeded = Seeded::write(broker, &input, &RecordPlan::new(16, partitions), 200)?;
    let metrics_addr = metrics::free_local_addr()?;
    let spec = scenario
        .spec("identity", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .args(["--metrics-addr", &metrics_addr]);
    let progress = broker.progress(&group, &input)?;
    let mut run = scenario.spawn(&spec, "identity")?;
    progress.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;

    // Lag comes from librdkafka's statistics (every 5 s): wait for a report.
    let deadline = Instant::now() + LAG_REPORTED;
    let scrape = loop {
        let text = metrics::scrape(&metrics_addr).unwrap_or_default();
        if text.contains("eoshost_consumer_lag{") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    scenario.report(&format!("{} records committed; scrape of {} bytes", seeded.len(), scrape.len()));
    let exported = exported_names(&scrape);

    let missing: Vec<&str> = DESIGNED.iter().copied().filter(|name| !exported.contains(*name)).collect();
    assert!(missing.is_empty(), "DESIGN §1.6 metrics missing from /metrics: {missing:?}\n{scrape}");
    for kind in TRAP_KINDS {
        assert!(
            scrape.contains(&format!("eoshost_plugin_traps_total{{kind=\"{kind}\"}} 0")),
            "trap kind {kind} not exported at 0"
        );
    }
    for reason in ["fenced", "fatal", "hung_call", "abort_failed"] {
        let series = format!("eoshost_producer_replacements_total{{reason=\"{reason}\"}}");
        assert!(scrape.contains(&series), "{series} not exported from the start\n{scrape}");
    }
    for partition in 0..partitions {
        let series = format!("eoshost_consumer_lag{{topic=\"{input}\",partition=\"{partition}\"}}");
        assert!(scrape.contains(&series), "{series} not exported\n{scrape}");
    }
    assert_eq!(metrics::metric_sum(&scrape, "eoshost_records_consumed_total"), seeded.len() as f64);

    for file in ["deploy/grafana/eoshost.json", "deploy/prometheus/alerts.yaml"] {
        let path = repository_file(file);
        let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let queried = queried_names(&text);
        assert!(queried.len() >= 6, "{file} queries only {queried:?}: did the name scan break?");
        let unknown: Vec<&String> = queried.iter().filter(|name| !exported.contains(*name)).collect();
        assert!(unknown.is_empty(), "{file} queries metrics that /metrics does not export: {unknown:?}");
        scenario.report(&format!("{file}: {} metric names, all exported", queried.len()));
    }

    let (exit, _) =
        run.terminate(EXIT_AFTER_SIGTERM)?.ok_or_else(|| anyhow::anyhow!("no exit within {EXIT_AFTER_SIGTERM:?} of SIGTERM"))?;
    assert_eq!(exit, Exit::Code(0), "stderr tail:\n{}", run.stderr_tail(20));
    Ok(())
}

#[test]
fn the_name_scan_finds_names_in_queries_and_ignores_longer_identifiers() {
    let names = queried_names("rate(eoshost_records_consumed_total{job=\"x\"}[5m]) / my_eoshost_thing + eoshost_consumer_lag");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["eoshost_consumer_lag", "eoshost_records_consumed_total"]);
}
