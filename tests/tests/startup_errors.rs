//! Bad configuration is a clear error at start, before any record moves
//! (DESIGN §1.1, §2): eoshost creates no topics, so a missing input, output
//! or dead-letter topic ends with exit code 2 and a message naming it; an
//! unreachable broker ends with exit code 1 once `--connect-timeout-ms`
//! passes.

use std::time::{Duration, Instant};

use eoshost_tests::timeouts::EXIT_AT_START;
use eoshost_tests::{EoshostSpec, Exit, Scenario};

#[test]
fn missing_input_topic_exits_2_naming_it() -> anyhow::Result<()> {
    let scenario = Scenario::new("missing_input_topic");
    let missing = scenario.unique("no-such-input");
    let output = scenario.topic("out", 1)?;
    let spec = scenario.spec("identity", &missing, &[&output], &scenario.unique("group"));
    let (exit, stderr, _) = scenario.run_to_exit(&spec, "missing-input", EXIT_AT_START)?;
    assert_eq!(exit, Exit::Code(2), "stderr:\n{stderr}");
    assert!(stderr.contains(&missing), "stderr does not name the missing topic {missing}:\n{stderr}");
    Ok(())
}

#[test]
fn missing_output_topic_exits_2_naming_it() -> anyhow::Result<()> {
    let scenario = Scenario::new("missing_output_topic");
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let missing = scenario.unique("no-such-output");
    let spec = scenario.spec("identity", &input, &[&output, &missing], &scenario.unique("group"));
    let (exit, stderr, _) = scenario.run_to_exit(&spec, "missing-output", EXIT_AT_START)?;
    assert_eq!(exit, Exit::Code(2), "stderr:\n{stderr}");
    assert!(stderr.contains(&missing), "stderr does not name the missing topic {missing}:\n{stderr}");
    Ok(())
}

#[test]
fn missing_default_dead_letter_topic_exits_2_naming_it() -> anyhow::Result<()> {
    let scenario = Scenario::new("missing_dlq_topic");
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let spec = scenario.spec("identity", &input, &[&output], &scenario.unique("group")).args(["--on-error", "dlq"]);
    let (exit, stderr, _) = scenario.run_to_exit(&spec, "missing-dlq", EXIT_AT_START)?;
    let dlq = format!("{input}.dlq");
    assert_eq!(exit, Exit::Code(2), "stderr:\n{stderr}");
    assert!(stderr.contains(&dlq), "stderr does not name the missing dead-letter topic {dlq}:\n{stderr}");
    Ok(())
}

#[test]
fn unreachable_broker_exits_1_after_the_connect_timeout() -> anyhow::Result<()> {
    // No broker needed: port 1 on loopback refuses every connection.
    let scenario = Scenario::new("unreachable_broker");
    let unreachable = "127.0.0.1:1";
    let spec = EoshostSpec::new("identity", "orders", &["enriched"], &scenario.unique("group"), unreachable)
        .args(["--connect-timeout-ms", "3000"]);
    let started = Instant::now();
    let (exit, stderr, _) = scenario.run_to_exit(&spec, "unreachable", EXIT_AT_START)?;
    let took = started.elapsed();
    assert_eq!(exit, Exit::Code(1), "stderr:\n{stderr}");
    assert!(took < Duration::from_secs(12), "gave up only after {took:?} with --connect-timeout-ms 3000");
    assert!(stderr.contains(unreachable), "the message should name the unreachable bootstrap list {unreachable}:\n{stderr}");
    Ok(())
}
