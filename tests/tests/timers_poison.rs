//! A timer whose handler fails follows `--on-error` for the timer, like a
//! record: `reminder` with `trap_timer_of` (its handler writes state, then
//! panics) and `reject_timer_of`, under `--on-error dlq --max-retries 2`.
//! The trapping timer fires three times (two retries on fresh instances),
//! then is dead-lettered once, as is the rejected one; each dead letter's
//! key is the timer's key and its headers name the timer. The other keys'
//! reminders are written once, and the trapping handler's state write never
//! reaches the changelog (it was undone with the trap).

use std::time::{Duration, Instant};

use eoshost_tests::faults::stop_cleanly;
use eoshost_tests::timeouts::{ALL_COMMITTED_SOON, EXIT_AFTER_SIGTERM};
use eoshost_tests::{Isolation, OutputRecord, RecordPlan, Scenario, Seeded, metrics};

const PARTITIONS: i32 = 2;
/// One record per key: `k0` traps, `k1` is rejected, `k2` and `k3` fire.
const KEYS: u64 = 4;

fn letter_for<'a>(letters: &'a [OutputRecord], key: &str) -> Vec<&'a OutputRecord> {
    letters.iter().filter(|l| !l.is_marker() && l.key_text().as_deref() == Some(key)).collect()
}

#[test]
fn a_failing_timer_is_retried_then_dead_lettered_naming_the_timer_and_its_writes_are_undone() -> anyhow::Result<()> {
    let scenario = Scenario::new("timers_poison");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let dlq = format!("{input}.dlq");
    scenario.named_topic(&dlq, 1)?;
    let group = scenario.unique("group");
    let state_topic = format!("{group}.state");
    scenario.delete_at_end(&state_topic);
    let addr = metrics::free_local_addr()?;
    let spec = scenario
        .spec("reminder", &input, &[&output], &group)
        .plugin_config("delay_ms=500")
        .plugin_config("trap_timer_of=k0")
        .plugin_config("reject_timer_of=k1")
        .commit_interval_ms(100)
        .args(["--on-error", "dlq", "--dlq-topic", &dlq, "--max-retries", "2", "--metrics-addr", &addr]);
    let progress = broker.progress(&group, &input)?;
    let mut run = scenario.spawn(&spec, "reminder")?;
    let seeded = Seeded::write(broker, &input, &RecordPlan::new(KEYS, PARTITIONS), KEYS)?;
    progress.wait_all_committed(&mut [&mut run], ALL_COMMITTED_SOON)?;

    // Two dead letters and two reminders, within a few seconds of the timers' time.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (letters, outputs) = loop {
        let letters = broker.read_topic(&dlq, Isolation::Committed, 0)?;
        let outputs = broker.read_topic(&output, Isolation::Committed, 0)?;
        let done =
            letters.iter().filter(|l| !l.is_marker()).count() >= 2 && outputs.iter().filter(|o| !o.is_marker()).count() >= 2;
        if done || Instant::now() > deadline {
            break (letters, outputs);
        }
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("eoshost ended ({exit}):\n{}", run.stderr_tail(30));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_secs(2));
    let traps = metrics::scrape(&addr).map(|text| metrics::metric_sum(&text, "eoshost_plugin_traps_total"));
    let fired = metrics::scrape(&addr).map(|text| metrics::metric_sum(&text, "eoshost_timers_fired_total"));
    stop_cleanly(&mut run, EXIT_AFTER_SIGTERM).map_err(anyhow::Error::msg)?;
    let letters_after = broker.read_topic(&dlq, Isolation::Committed, 0)?;
    let outputs_after = broker.read_topic(&output, Isolation::Committed, 0)?;
    assert_eq!(letters_after.len(), letters.len(), "no dead letter came later: each timer is dead-lettered once");
    assert_eq!(outputs_after.len(), outputs.len(), "no reminder came later");

    let trapped = letter_for(&letters, "k0");
    let rejected = letter_for(&letters, "k1");
    assert_eq!(trapped.len(), 1, "the trapping timer is dead-lettered once: {letters:?}");
    assert_eq!(rejected.len(), 1, "the rejected timer is dead-lettered once: {letters:?}");
    for letter in [trapped[0], rejected[0]] {
        assert_eq!(letter.header("eoshost.timer.clock").as_deref(), Some("wall-clock"), "{letter:?}");
        assert!(letter.header("eoshost.timer.time").is_some_and(|t| t.parse::<i64>().is_ok()), "{letter:?}");
        assert_eq!(letter.header("eoshost.plugin").as_deref(), Some("reminder"), "{letter:?}");
        assert_eq!(letter.header("eoshost.source.topic").as_deref(), Some(input.as_str()), "{letter:?}");
    }
    let trap_error = trapped[0].header("eoshost.error").unwrap_or_default();
    assert!(trap_error.contains("trapped 3 times") && trap_error.contains("trap_timer_of"), "{trap_error}");
    let reject_error = rejected[0].header("eoshost.error").unwrap_or_default();
    assert!(reject_error.contains("reject_timer_of"), "{reject_error}");
    assert_eq!(traps, Some(3.0), "two retries on fresh instances, then the verdict");

    let mut reminded: Vec<String> = outputs
        .iter()
        .filter(|o| !o.is_marker() && o.value_text().as_deref() == Some("reminder"))
        .filter_map(|o| o.key_text())
        .collect();
    reminded.sort();
    assert_eq!(reminded, ["k2", "k3"], "every other key is reminded once");
    assert_eq!(fired, Some(4.0), "two firings and two dropped timers committed");
    assert_eq!(seeded.len(), KEYS as usize);

    // The trapping handler's state write was undone with each trap.
    let changelog = broker.read_topic(&state_topic, Isolation::Committed, 0)?;
    let leaked: Vec<&OutputRecord> =
        changelog.iter().filter(|r| r.key.as_deref().is_some_and(|key| key.ends_with(b"\0trapped"))).collect();
    assert!(leaked.is_empty(), "a trapped handler's state write reached the changelog: {leaked:?}");
    Ok(())
}
