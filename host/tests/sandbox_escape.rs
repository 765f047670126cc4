//! The `escape` fixture tries files, directories, environment, arguments,
//! sockets and name lookup: every attempt must be denied. Its write to a
//! topic outside `--output` is refused, and its stdout flood is bounded.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::{limits, load, plugin_path, record};
use eoshost::plugin::{OutputTopics, PluginEngine, Sandbox};

#[test]
fn every_escape_attempt_is_denied() {
    // The host has an environment (cargo sets plenty) that a leaky sandbox
    // would show the plugin.
    assert!(std::env::vars_os().count() > 0, "the test process has no environment to leak");
    let engine = PluginEngine::new(limits(5000, 64)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "escape", &[]));
    let outputs = sandbox.transform(&record("x")).unwrap();
    let report = String::from_utf8(outputs[0].value.clone().unwrap()).unwrap();
    let attempts = report.trim_matches(['{', '}']).split(',').collect::<Vec<_>>();
    assert_eq!(attempts.len(), 9, "{report}");
    for attempt in attempts {
        assert!(attempt.ends_with(":\"denied\""), "not denied: {attempt} (report {report})");
    }
}

#[test]
fn a_topic_outside_the_output_list_is_refused() {
    let engine = PluginEngine::new(limits(5000, 64)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "escape", &[("forbidden_topic", "secrets")]));
    let outputs = sandbox.transform(&record("x")).unwrap();
    let topics = OutputTopics::new(vec!["enriched".into(), "audit".into()]);
    assert_eq!(topics.resolve(&outputs[0]).unwrap(), "enriched");
    let refused = topics.resolve(&outputs[1]).unwrap_err();
    assert_eq!(refused.topic, "secrets");
    assert!(refused.to_string().contains("not in --output (enriched,audit)"), "{refused}");
}

/// Bytes of stdout the plugin writes per call (1,024 lines of 1,537 bytes).
const FLOOD_PER_CALL: usize = 1024 * (24 * 64 + 1);

#[test]
fn a_stdout_flood_stays_bounded_in_the_hosts_log() {
    let calls = 3;
    let mut child = Command::new(env!("CARGO_BIN_EXE_eoshost"))
        .args(["test", "--plugin", plugin_path("escape").to_str().unwrap()])
        .env("EOSHOST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running eoshost test");
    let mut stdin = child.stdin.take().unwrap();
    for _ in 0..calls {
        writeln!(stdin, "{{\"value\":\"x\"}}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let log = String::from_utf8_lossy(&output.stderr);
    let forwarded = log.lines().filter(|line| line.contains("flooding stdout")).count();
    let drops = log.lines().filter(|line| line.contains("dropped")).count();
    assert!(forwarded > 0, "the kept part of the plugin's stdout reaches the log:\n{}", &log[..log.len().min(2000)]);
    assert_eq!(drops, calls, "one 'dropped' warning per flooding call:\n{}", &log[..log.len().min(2000)]);
    // 16 KiB kept per call (SandboxLimits::output_bytes_per_call), plus the
    // log lines' own prefixes: far below what the plugin wrote.
    let bound = calls * 64 * 1024;
    assert!(
        output.stderr.len() < bound,
        "{} bytes of log for {} bytes of plugin stdout; at most {bound} expected",
        output.stderr.len(),
        calls * FLOOD_PER_CALL
    );
}
