//! SIGTERM at any moment of start-up is a clean stop (DESIGN §1.1): exit
//! code 0 within seconds, a line saying it stopped, no transaction left open.
//! Ten fresh instances are each stopped at another point of their start-up —
//! the first log line and two short delays after it, the compile of a large
//! plugin, the plugins loaded, a broker that cannot be reached, the
//! subscription, the group join, during and after a state restore. Then an
//! instance of each plugin runs the same inputs and groups to the end, and a
//! `read_committed` reader must see every record once (`identity`) and every
//! key counted `1, 2, …, n` once each (`counter`): no stop committed anything
//! twice or lost it.

use std::collections::HashMap;
use std::time::Duration;

use eoshost_tests::counts::CountTally;
use eoshost_tests::{EoshostSpec, Exit, Isolation, RecordPlan, Scenario, Seeded, Tally, plugin_path, timeouts};

/// SIGTERM to exit, at every point.
const STOP_WITHIN: Duration = Duration::from_secs(15);
/// Markers must show at once: a stop that left a transaction open would hold
/// them back until the 30 s transaction timeout.
const NO_OPEN_TRANSACTION_WITHIN: Duration = Duration::from_secs(5);
/// For the counter's run over its tens of thousands of keys, and the final
/// runs (more than [`timeouts::ALL_COMMITTED`]'s few thousand records).
const RUN_TO_END_WITHIN: Duration = Duration::from_secs(300);
/// Delays after the first log line of points 9 and 10.
const SHORT_DELAY: Duration = Duration::from_millis(50);
const LONGER_DELAY: Duration = Duration::from_millis(300);
/// Nothing listens on port 1 of loopback: every connection is refused.
const UNREACHABLE: &str = "127.0.0.1:1";
/// Far beyond the stop bound: only the signal can end the unreachable run in time.
const UNREACHABLE_CONNECT_TIMEOUT_MS: &str = "120000";

const PARTITIONS: i32 = 3;
/// New `identity` input before each point, so that a stop after the join
/// lands with records in flight.
const RECORDS_PER_POINT: u64 = 1_000;
/// Distinct keys of `counter`, each counted twice before the restore points:
/// enough changelog for a restore that takes a moment.
const COUNTED_KEYS: u64 = 40_000;
const ROUNDS_BEFORE_RESTORE: u64 = 2;

/// What a clean stop logs: before the loop ran, or from the loop.
const STOPPED_LINES: [&str; 2] = ["stopped before start-up finished", "stopped cleanly"];

/// When the SIGTERM goes.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// This long after stderr holds its first complete line.
    AfterFirstLine(Duration),
    /// As soon as a line containing this appears.
    AtLine(&'static str),
}

/// One point of start-up: which instance, and when it is stopped.
struct Point {
    name: String,
    spec: EoshostSpec,
    moment: Moment,
    /// Its output topic, checked for an open transaction after the stop.
    output: String,
}

/// Starts `point`'s instance, sends SIGTERM at its moment and checks the
/// clean stop; returns the report line.
fn stop_at(scenario: &Scenario, index: usize, point: &Point) -> anyhow::Result<String> {
    let mut run = scenario.spawn(&point.spec, &format!("point{index}"))?;
    match point.moment {
        Moment::AfterFirstLine(delay) => {
            run.wait_for_stderr("a first line", timeouts::LOG_LINE, |text| text.contains('\n'))?;
            // A deliberate offset into start-up, not a wait for something.
            std::thread::sleep(delay);
        }
        Moment::AtLine(needle) => run.wait_for_line(needle, timeouts::LOG_LINE)?,
    }
    let signalled_at = run.uptime();
    let last_line = run.stderr_tail(1);
    let (exit, took) = run.terminate(STOP_WITHIN)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no exit within {STOP_WITHIN:?} of SIGTERM (SIGKILLed); last line at the signal: {last_line}\nstderr tail:\n{}",
            run.stderr_tail(30)
        )
    })?;
    let outcome = format!("SIGTERM {signalled_at:.2?} after start (last line: {last_line}); {exit} {took:.2?} later");
    anyhow::ensure!(exit == Exit::Code(0), "{outcome}; stderr tail:\n{}", run.stderr_tail(30));
    let stderr = run.stderr();
    anyhow::ensure!(
        STOPPED_LINES.iter().any(|line| stderr.contains(line)),
        "{outcome}, but no line says it stopped ({STOPPED_LINES:?}); stderr tail:\n{}",
        run.stderr_tail(30)
    );
    // Whether a stop meant for the restore came while it ran.
    let restore = match (stderr.contains("restoring state"), stderr.contains("restored state from the changelog")) {
        (true, false) => "; the restore was cut short",
        (true, true) => "; the restore had finished",
        (false, _) => "",
    };
    let markers = scenario.broker().assert_no_hanging_transaction(&[&point.output], NO_OPEN_TRANSACTION_WITHIN)?;
    Ok(format!("{outcome}{restore}; markers visible after {markers:.2?}"))
}

/// Runs `spec` until its group has committed all of `input`, then stops it.
fn run_to_end(scenario: &Scenario, spec: &EoshostSpec, input: &str, label: &str) -> anyhow::Result<()> {
    let progress = scenario.broker().progress(spec.group(), input)?;
    let mut run = scenario.spawn(spec, label)?;
    progress.wait_all_committed(&mut [&mut run], RUN_TO_END_WITHIN)?;
    let stopped = run.terminate(STOP_WITHIN)?;
    scenario.report(&format!("{}: all of {input} committed; stop: {stopped:?}", run.label()));
    anyhow::ensure!(
        matches!(stopped, Some((Exit::Code(0), _))),
        "{}: SIGTERM after the work: {stopped:?}; stderr tail:\n{}",
        run.label(),
        run.stderr_tail(30)
    );
    Ok(())
}

#[test]
fn sigterm_at_ten_points_of_start_up_exits_0_and_nothing_is_committed_twice() -> anyhow::Result<()> {
    let scenario = Scenario::new("startup_signals");
    let broker = scenario.broker();
    // Before minutes of set-up: point 2 needs the Python plugin.
    plugin_path("enrich-py");

    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    let plan = RecordPlan::new(64, PARTITIONS);
    let mut seeded = Seeded::write(broker, &input, &plan, RECORDS_PER_POINT)?;
    let identity =
        scenario.spec("identity", &input, &[&output], &group).transactional_id(&scenario.unique("txn")).fast_failure_detection();
    // The Python `enrich` on the same input and group: its compile takes
    // seconds once the precompiled cache is off.
    let large_plugin = scenario
        .spec("enrich-py", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .fast_failure_detection()
        .env("EOSHOST_CACHE_DIR", "off");
    let unreachable = identity.clone().bootstrap(UNREACHABLE).args(["--connect-timeout-ms", UNREACHABLE_CONNECT_TIMEOUT_MS]);

    // The counter's state, filled before the restore points.
    let counted = scenario.topic("counted", PARTITIONS)?;
    let counts = scenario.topic("counts", PARTITIONS)?;
    let counter_group = scenario.unique("counter-group");
    scenario.delete_at_end(&format!("{counter_group}.state"));
    let keys = scenario.scaled(COUNTED_KEYS);
    let counter_plan = RecordPlan::new(keys, PARTITIONS);
    let mut counted_seeded = Seeded::write(broker, &counted, &counter_plan, keys * ROUNDS_BEFORE_RESTORE)?;
    let counter = scenario
        .spec("counter", &counted, &[&counts], &counter_group)
        .transactional_id(&scenario.unique("txn"))
        .fast_failure_detection();
    run_to_end(&scenario, &counter, &counted, "counter-fill")?;
    // A last round, counted after the restores.
    counted_seeded.extend(broker, &counter_plan, keys)?;

    let point = |name: &str, spec: &EoshostSpec, moment: Moment, output: &str| Point {
        name: name.to_owned(),
        spec: spec.clone(),
        moment,
        output: output.to_owned(),
    };
    let points = [
        point("the first log line", &identity, Moment::AfterFirstLine(Duration::ZERO), &output),
        point("loading a large plugin (enrich-py, no cache)", &large_plugin, Moment::AtLine("loading plugins"), &output),
        point("plugins loaded", &identity, Moment::AtLine("plugins loaded"), &output),
        point("Kafka unreachable", &unreachable, Moment::AtLine("cannot reach Kafka yet"), &output),
        point("subscribed", &identity, Moment::AtLine("eoshost started"), &output),
        point("partitions assigned", &identity, Moment::AtLine("partitions assigned"), &output),
        point("restoring state", &counter, Moment::AtLine("restoring state"), &counts),
        point("state restored", &counter, Moment::AtLine("restored state from the changelog"), &counts),
        point("50 ms after the first line", &identity, Moment::AfterFirstLine(SHORT_DELAY), &output),
        point("300 ms after the first line", &identity, Moment::AfterFirstLine(LONGER_DELAY), &output),
    ];

    let mut failures = Vec::new();
    for (index, point) in points.iter().enumerate() {
        let index = index + 1;
        seeded.extend(broker, &plan, RECORDS_PER_POINT)?;
        match stop_at(&scenario, index, point) {
            Ok(line) => scenario.report(&format!("point {index} ({}): {line}", point.name)),
            Err(error) => {
                let line = format!("point {index} ({}): FAILED: {error:#}", point.name);
                scenario.report(&line);
                failures.push(line);
            }
        }
    }

    run_to_end(&scenario, &identity, &input, "identity-to-the-end")?;
    run_to_end(&scenario, &counter, &counted, "counter-to-the-end")?;
    let tally = Tally::count(&seeded.all(), &broker.read_topic(&output, Isolation::Committed, seeded.len())?);
    scenario.report(&tally.to_string());
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for record in &counted_seeded.records {
        *per_key.entry(record.key.clone()).or_default() += 1;
    }
    let count_tally = CountTally::count(&per_key, &broker.read_topic(&counts, Isolation::Committed, counted_seeded.len())?);
    let count_line = format!(
        "counter: inputs={} keys={} outputs={} duplicates={} gaps={} order_violations={} unexpected={}",
        count_tally.inputs,
        count_tally.keys,
        count_tally.outputs,
        count_tally.duplicates,
        count_tally.gaps,
        count_tally.order_violations,
        count_tally.unexpected
    );
    scenario.report(&count_line);

    assert!(failures.is_empty(), "{} of {} points did not stop cleanly:\n{}", failures.len(), points.len(), failures.join("\n"));
    tally.assert_exactly_once("identity runs stopped at ten points of start-up");
    assert!(count_tally.is_exactly_once(), "counter runs stopped during start-up: {count_line}\n{}", count_tally.samples());
    broker.assert_no_hanging_transaction(&[&output, &counts], NO_OPEN_TRANSACTION_WITHIN)?;
    Ok(())
}
