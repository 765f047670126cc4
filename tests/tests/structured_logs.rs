//! Logs as operators collect them: with `--log-format json` every stderr line
//! is one JSON object, among them the effective configuration and the
//! progress lines; a secret given with `-X sasl.password=…` never appears in
//! any log line; and text logs written to a file carry no colour codes.

use std::time::Duration;

use eoshost_tests::timeouts::{ALL_COMMITTED, EXIT_AFTER_SIGTERM, LOG_LINE};
use eoshost_tests::{Eoshost, Exit, RecordPlan, Scenario, Seeded, unique_suffix};

/// With `--progress-interval-s 1`, a progress line comes every second.
const NEXT_PROGRESS_LINE: Duration = Duration::from_secs(10);

fn stop_cleanly(run: &mut Eoshost) -> anyhow::Result<()> {
    let (exit, _) =
        run.terminate(EXIT_AFTER_SIGTERM)?.ok_or_else(|| anyhow::anyhow!("no exit within {EXIT_AFTER_SIGTERM:?} of SIGTERM"))?;
    anyhow::ensure!(exit == Exit::Code(0), "{exit}; stderr tail:\n{}", run.stderr_tail(30));
    Ok(())
}

#[test]
fn json_logs_parse_line_by_line_and_never_show_a_password_given_with_x() -> anyhow::Result<()> {
    let scenario = Scenario::new("structured_logs_json");
    let broker = scenario.broker();
    let input = scenario.topic("in", 2)?;
    let output = scenario.topic("out", 2)?;
    let group = scenario.unique("group");
    let seeded = Seeded::write(broker, &input, &RecordPlan::new(8, 2), 100)?;
    let secret = format!("pw-{}", unique_suffix());
    let spec = scenario
        .spec("identity", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .librdkafka(&format!("sasl.password={secret}"))
        .args(["--log-format", "json", "--progress-interval-s", "1"]);
    let progress = broker.progress(&group, &input)?;
    let mut run = scenario.spawn(&spec, "json")?;
    progress.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;
    // A progress line written after every record was committed, so that the
    // progress lines together report them all.
    let log_at_committed = run.stderr().len();
    run.wait_for_stderr("a progress line after the records were committed", NEXT_PROGRESS_LINE, |text| {
        text.get(log_at_committed..).is_some_and(|after| after.contains("\"message\":\"progress:"))
    })?;
    stop_cleanly(&mut run)?;

    let stderr = run.stderr();
    let mut lines = Vec::new();
    for (number, line) in stderr.lines().enumerate() {
        let event: serde_json::Value =
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("stderr line {} is not JSON ({e}): {line}", number + 1))?;
        anyhow::ensure!(
            event.get("level").is_some() && event.get("timestamp").is_some(),
            "line {} lacks level/timestamp: {line}",
            number + 1
        );
        lines.push(event);
    }
    scenario.report(&format!("{} JSON lines for {} records", lines.len(), seeded.len()));
    let message = |event: &serde_json::Value| event.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_owned();

    let configuration = lines
        .iter()
        .find(|event| message(event) == "effective configuration")
        .ok_or_else(|| anyhow::anyhow!("no effective configuration line:\n{stderr}"))?;
    let settings = configuration.get("config").and_then(|c| c.as_str()).unwrap_or_default();
    assert!(settings.contains("X.sasl.password=<redacted>"), "{settings}");
    assert!(settings.contains(&format!("group={group}")), "{settings}");

    let reports: Vec<&serde_json::Value> = lines.iter().filter(|event| message(event).starts_with("progress:")).collect();
    assert!(!reports.is_empty(), "no progress line");
    for field in ["in_per_s", "out_per_s", "lag", "commits", "aborts", "traps", "dead_letters"] {
        assert!(reports.iter().all(|event| event.get(field).is_some()), "a progress line lacks {field}: {reports:?}");
    }
    let reported_commits: u64 = reports.iter().filter_map(|event| event.get("commits").and_then(|c| c.as_u64())).sum();
    assert!(reported_commits > 0, "the progress lines report no commit although {} records were committed", seeded.len());

    let stdout = std::fs::read_to_string(run.stderr_path().with_extension("stdout")).unwrap_or_default();
    assert!(!stderr.contains(&secret) && !stdout.contains(&secret), "the -X sasl.password value appeared in the output");
    Ok(())
}

#[test]
fn text_logs_written_to_a_file_carry_no_colour_codes() -> anyhow::Result<()> {
    let scenario = Scenario::new("structured_logs_text");
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let group = scenario.unique("group");
    let spec = scenario
        .spec("identity", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .args(["--progress-interval-s", "1"]);
    let mut run = scenario.spawn(&spec, "text")?;
    run.wait_for_line("progress:", LOG_LINE)?;
    stop_cleanly(&mut run)?;
    let stderr = run.stderr();
    assert!(stderr.contains("effective configuration"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in a log file:\n{stderr}");
    Ok(())
}
