//! Fault injection, hostile plugins in the live pipeline: `spin` (never
//! returns), `hog` (grows memory without bound), `deep` (overflows its
//! stack) and `escape` (writes to a topic outside `--output`) each get real
//! records — some seeded before the start, more while it runs — under
//! `--on-error dlq`. Each record must land in the dead-letter topic exactly
//! once with an `eoshost.error` naming the trap kind, nothing may reach the
//! output, the host must stay up and serving (`/healthz`, `/readyz`, a
//! clean SIGTERM), and `eoshost_plugin_traps_total{kind}` must count the
//! traps under their kind and no other. A last scenario mixes one poison
//! record into a flowing stream: `chaos` traps on that value only, and every
//! other record — on its partition and on the others — reaches the output
//! exactly once, in per-key order, while the poison record is dead-lettered.

use std::collections::BTreeSet;
use std::time::Duration;

use eoshost_tests::faults::{
    FaultReport, by_mode, describe_counts, http_get, plain_tail, stop_cleanly, traps_by_kind, wait_all_committed_or_stall,
};
use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, FIRST_COMMIT, STALL};
use eoshost_tests::{Feeder, Isolation, RecordPlan, Scenario, Seeded, TRANSACTION_TIMEOUT, dead_letter_problems, metrics};

const PARTITIONS: i32 = 3;
const KEYS: u64 = 12;
/// Tries of a trapping record: the first call and `--max-retries` more.
const MAX_RETRIES: u64 = 1;

/// One hostile plugin against one input topic.
struct Hostile<'a> {
    scenario: &'a str,
    plugin: &'a str,
    /// The `kind` label of its traps; `None` for a plugin that does not trap.
    kind: Option<&'a str>,
    /// What `eoshost.error` of every dead letter must contain.
    error_contains: &'a str,
    /// Records seeded before the start, and as many more while it runs.
    half: u64,
    args: &'a [&'a str],
}

impl Hostile<'_> {
    fn run(&self) -> anyhow::Result<()> {
        let scenario = Scenario::new(self.scenario);
        let broker = scenario.broker();
        let input = scenario.topic("in", PARTITIONS)?;
        let output = scenario.topic("out", PARTITIONS)?;
        let dlq = format!("{input}.dlq");
        scenario.named_topic(&dlq, PARTITIONS)?;
        let group = scenario.unique("group");
        let plan = RecordPlan::new(KEYS, PARTITIONS);
        let mut seeded = Seeded::write(broker, &input, &plan, self.half)?;

        let metrics_addr = metrics::free_local_addr()?;
        let spec = scenario
            .spec(self.plugin, &input, &[&output], &group)
            .transactional_id(&scenario.unique("txn"))
            .args(["--on-error", "dlq", "--max-retries", &MAX_RETRIES.to_string(), "--metrics-addr", &metrics_addr])
            .args(self.args.iter().copied());
        let mut run = scenario.spawn(&spec, self.plugin)?;
        let progress = broker.progress(&group, &input)?;
        progress.wait_progress(0, &mut [&mut run], FIRST_COMMIT)?;
        // More records reach the running host after it has met the first.
        seeded.extend(broker, &plan, self.half)?;
        // A trapping record costs (1 + --max-retries) tries of at most
        // --plugin-timeout-ms each; 20 s without a commit is a livelock.
        let budget = Duration::from_secs(60 + seeded.len() as u64 * 2);
        let mut problems = Vec::new();
        let stalled = wait_all_committed_or_stall(broker, &progress, &input, &mut [&mut run], Duration::from_secs(20), budget)?;
        if let Some(stalled) = stalled {
            scenario.report(&stalled);
            problems.push(format!("{stalled}; stderr tail:\n{}", plain_tail(&run, 12)));
        }

        let health = http_get(&metrics_addr, "/healthz").map(|(status, _)| status);
        let ready = http_get(&metrics_addr, "/readyz").map(|(status, _)| status);
        if health != Some(200) || ready != Some(200) {
            problems.push(format!("after all records: /healthz {health:?}, /readyz {ready:?} (200 and 200 expected)"));
        }
        let text = metrics::scrape(&metrics_addr).unwrap_or_default();
        let traps = traps_by_kind(&text);
        let dead_lettered = metrics::metric_sum(&text, "eoshost_records_dead_lettered_total");
        let tries = seeded.len() as f64 * (MAX_RETRIES + 1) as f64;
        for (kind, &count) in &traps {
            let expected_kind = self.kind == Some(kind.as_str());
            if expected_kind && count < tries {
                problems.push(format!(
                    "eoshost_plugin_traps_total{{kind=\"{kind}\"}} is {count}, below the {tries} tries of {} records",
                    seeded.len()
                ));
            }
            if !expected_kind && count > 0.0 {
                problems.push(format!(
                    "eoshost_plugin_traps_total{{kind=\"{kind}\"}} is {count}: {} traps are not {kind}",
                    self.plugin
                ));
            }
        }
        if let Some(kind) = self.kind
            && !traps.contains_key(kind)
        {
            problems.push(format!("no eoshost_plugin_traps_total{{kind=\"{kind}\"}} on /metrics"));
        }
        if let Err(problem) = stop_cleanly(&mut run, EXIT_AFTER_SIGTERM) {
            problems.push(problem);
        }

        let outputs = broker.read_topic(&output, Isolation::Uncommitted, 0)?;
        let letters = broker.read_topic(&dlq, Isolation::Committed, seeded.len())?;
        let mut report = FaultReport::count(self.scenario, &seeded.all(), &seeded.all(), &outputs, &letters);
        report.note("plugin", self.plugin);
        report.note("traps", describe_counts(&traps));
        report.note("dead_lettered_metric", dead_lettered);
        let wrong = dead_letter_problems(&letters, &seeded, self.error_contains);
        report.note("bad_dead_letters", wrong.len());
        problems.extend(wrong.into_iter().take(5));
        // Not even aborted records: every output was refused or never made.
        if outputs.iter().any(|o| !o.is_marker()) {
            problems.push(format!("{} records on the output topic, even uncommitted", outputs.len()));
        }
        match broker.assert_no_hanging_transaction(&[&output, &dlq], TRANSACTION_TIMEOUT) {
            Ok(visible) => report.note("marker_ms", visible.as_millis()),
            Err(error) => problems.push(format!("{error:#}")),
        }
        report.problems(problems);
        report.finish(&scenario);
        Ok(())
    }
}

#[test]
fn spin_records_time_out_into_the_dlq_while_the_host_keeps_serving() -> anyhow::Result<()> {
    Hostile {
        scenario: "faults_hostile_spin",
        plugin: "spin",
        kind: Some("timeout"),
        error_contains: "timeout trap",
        half: by_mode(3, 10),
        args: &["--plugin-timeout-ms", "200"],
    }
    .run()
}

#[test]
fn hog_records_hit_the_memory_cap_into_the_dlq_while_the_host_keeps_serving() -> anyhow::Result<()> {
    Hostile {
        scenario: "faults_hostile_hog",
        plugin: "hog",
        kind: Some("memory"),
        error_contains: "memory trap",
        half: by_mode(6, 50),
        args: &["--plugin-memory-mb", "16"],
    }
    .run()
}

#[test]
fn deep_records_overflow_the_stack_into_the_dlq_while_the_host_keeps_serving() -> anyhow::Result<()> {
    Hostile {
        scenario: "faults_hostile_deep",
        plugin: "deep",
        kind: Some("stack"),
        error_contains: "stack trap",
        half: by_mode(6, 50),
        args: &[],
    }
    .run()
}

#[test]
fn escape_records_naming_a_forbidden_topic_go_to_the_dlq_while_the_host_keeps_serving() -> anyhow::Result<()> {
    Hostile {
        scenario: "faults_hostile_escape",
        plugin: "escape",
        kind: None,
        error_contains: "not in --output",
        half: by_mode(6, 50),
        args: &[],
    }
    .run()
}

#[test]
fn one_poison_record_is_dead_lettered_while_every_other_record_flows() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_hostile_poison");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let dlq = format!("{input}.dlq");
    scenario.named_topic(&dlq, PARTITIONS)?;
    let group = scenario.unique("group");
    let plan = RecordPlan::new(KEYS, PARTITIONS);
    let minimum = scenario.scaled(by_mode(6_000, 60_000));
    // Half-way through, on partition 1: records before and after it on its
    // own partition, and the other partitions all along.
    let poison = (minimum / 2..).find(|&n| plan.partition(n) == 1).expect("some record lands on partition 1");
    let feeder = Feeder::start(broker, &input, plan.clone(), minimum, scenario.scaled(by_mode(1_000, 2_000)))?;

    let metrics_addr = metrics::free_local_addr()?;
    let spec = scenario
        .spec("chaos", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .plugin_config(&format!("trap_on_value={}", plan.value(poison)))
        // Transient traps besides: retried, never dead-lettered.
        .plugin_config("trap_per_million=1000")
        .args(["--on-error", "dlq", "--metrics-addr", &metrics_addr]);
    let mut run = scenario.spawn(&spec, "chaos")?;
    let progress = broker.progress(&group, &input)?;
    progress.wait_progress(0, &mut [&mut run], FIRST_COMMIT)?;
    let seeded = feeder.finish()?;
    let mut problems = Vec::new();
    let overall = Duration::from_secs(by_mode(120, 400));
    if let Some(stalled) = wait_all_committed_or_stall(broker, &progress, &input, &mut [&mut run], STALL, overall)? {
        scenario.report(&stalled);
        problems.push(stalled);
    }
    let text = metrics::scrape(&metrics_addr).unwrap_or_default();
    let traps = traps_by_kind(&text);
    let panics = traps.get("panic").copied().unwrap_or(0.0);
    // The poison record traps on each of its 4 tries (--max-retries 3).
    if panics < 4.0 {
        problems.push(format!("eoshost_plugin_traps_total{{kind=\"panic\"}} is {panics}, below the poison's 4 tries"));
    }
    // Nothing answering is a failure too: the host must still be serving.
    match http_get(&metrics_addr, "/healthz").map(|(status, _)| status) {
        Some(200) => {}
        Some(status) => problems.push(format!("/healthz answered {status} after the poison record (200 expected)")),
        None => problems.push(format!("nothing answered /healthz on {metrics_addr} after the poison record")),
    }
    if let Err(problem) = stop_cleanly(&mut run, EXIT_AFTER_SIGTERM) {
        problems.push(problem);
    }

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len() - 1)?;
    let letters = broker.read_topic(&dlq, Isolation::Committed, 1)?;
    let mut report = FaultReport::count("faults_hostile_poison", &seeded.all(), &BTreeSet::from([poison]), &outputs, &letters);
    report.note("poison", format!("{poison}@{}/{}", seeded.get(poison).partition, seeded.get(poison).offset));
    report.note("traps", describe_counts(&traps));
    problems.extend(dead_letter_problems(&letters, &seeded, "panic trap"));
    match broker.assert_no_hanging_transaction(&[&output, &dlq], TRANSACTION_TIMEOUT) {
        Ok(visible) => report.note("marker_ms", visible.as_millis()),
        Err(error) => problems.push(format!("{error:#}")),
    }
    report.problems(problems);
    report.finish(&scenario);
    Ok(())
}
