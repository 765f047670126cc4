//! SIGTERM while records flow is a clean shutdown (DESIGN §1.1, exit 0):
//! the open transaction is committed or aborted — not left to time out —
//! and the group is left, so a second run starts at once and finishes the
//! rest exactly once.

use std::time::Duration;

use eoshost_tests::timeouts::FIRST_COMMIT;
use eoshost_tests::{Exit, Feeder, Isolation, RecordPlan, Scenario, Tally};

/// Markers must show well inside the 10 s transaction timeout: an open
/// transaction left by the stopped instance would hold them back longer.
const NO_OPEN_TRANSACTION_WITHIN: Duration = Duration::from_secs(5);

#[test]
fn sigterm_exits_0_leaving_no_open_transaction_and_a_second_run_finishes_exactly_once() -> anyhow::Result<()> {
    let scenario = Scenario::new("graceful_shutdown");
    let broker = scenario.broker();
    let partitions = 3;
    let input = scenario.topic("in", partitions)?;
    let output = scenario.topic("out", partitions)?;
    let group = scenario.unique("group");
    let minimum = scenario.scaled(10_000);
    let feeder = Feeder::start(broker, &input, RecordPlan::new(48, partitions), minimum, scenario.scaled(1_000))?;

    // Default session timeout (45 s) on purpose: only a group left on
    // shutdown lets the second run start within seconds.
    let spec = scenario.spec("identity", &input, &[&output], &group).transactional_id(&scenario.unique("txn"));
    let progress = broker.progress(&group, &input)?;
    let mut first = scenario.spawn(&spec, "first")?;
    progress.wait_progress(0, &mut [&mut first], FIRST_COMMIT)?;
    std::thread::sleep(scenario.random_ms(500, 1_500));
    anyhow::ensure!(feeder.is_flowing(), "records stopped flowing before the SIGTERM");

    let (exit, took) = first
        .terminate(Duration::from_secs(10))?
        .ok_or_else(|| anyhow::anyhow!("no exit within 10 s of SIGTERM (SIGKILLed); stderr tail:\n{}", first.stderr_tail(30)))?;
    scenario.report(&format!("first run: {exit} {took:?} after SIGTERM"));
    assert_eq!(exit, Exit::Code(0), "SIGTERM must end in a clean shutdown; stderr tail:\n{}", first.stderr_tail(30));

    let visible_after = broker.assert_no_hanging_transaction(&[&output], NO_OPEN_TRANSACTION_WITHIN)?;
    scenario.report(&format!("markers visible {visible_after:?} after the shutdown"));
    let after_first = progress.committed_total()?;

    let seeded = feeder.finish()?;
    scenario.report(&format!("first run committed {after_first} of {} records", seeded.len()));
    assert!(after_first > 0 && (after_first as usize) < seeded.len(), "the SIGTERM should land mid-stream");

    let mut second = scenario.spawn(&spec, "second")?;
    progress
        .wait_progress(after_first, &mut [&mut second], Duration::from_secs(25))
        .map_err(|e| e.context("the second run made no progress within 25 s: did the first leave the group?"))?;
    progress.wait_all_committed(&mut [&mut second], Duration::from_secs(120))?;
    let (exit, took) = second
        .terminate(Duration::from_secs(10))?
        .ok_or_else(|| anyhow::anyhow!("second run: no exit within 10 s of SIGTERM"))?;
    scenario.report(&format!("second run: {exit} {took:?} after SIGTERM"));
    assert_eq!(exit, Exit::Code(0), "idle SIGTERM must end in a clean shutdown");

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let tally = Tally::count(&seeded.all(), &outputs);
    scenario.report(&tally.to_string());
    tally.assert_exactly_once("two runs split by a SIGTERM");
    broker.assert_no_hanging_transaction(&[&output], NO_OPEN_TRANSACTION_WITHIN)?;
    Ok(())
}
