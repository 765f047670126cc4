//! The restore of a stateful plugin's state on assignment is measured and
//! bounded: `counter` counts 100,000 distinct keys, each updated three
//! times (so the changelog holds several records per key, as it does
//! between compactions), and is stopped; a new instance in the same group
//! restores all of it from the changelog before reading on. Its log line
//! says how long that took; the restore must bring back every key, take
//! under 60 s, and the counts must go on from where they were.

use std::time::Duration;

use eoshost_tests::faults::plain;
use eoshost_tests::timeouts::EXIT_AFTER_SIGTERM;
use eoshost_tests::{Isolation, RecordPlan, Scenario, Seeded};

const KEYS: u64 = 100_000;
const UPDATES: u64 = 3;
const PARTITIONS: i32 = 6;

/// `elapsed=…` and `keys=…` of the last "restored state" line of `log`.
fn last_restore(log: &str) -> Option<(Duration, u64)> {
    let line = plain(log).lines().rev().find(|l| l.contains("restored state from the changelog"))?.to_owned();
    let field = |name: &str| line.split_whitespace().find_map(|word| word.strip_prefix(&format!("{name}=")).map(str::to_owned));
    let keys = field("keys")?.parse().ok()?;
    let elapsed = field("elapsed")?;
    let split = elapsed.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = elapsed.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "ms" => number / 1e3,
        "µs" | "us" => number / 1e6,
        "ns" => number / 1e9,
        _ => return None,
    };
    Some((Duration::from_secs_f64(seconds), keys))
}

#[test]
fn the_state_of_100_000_keys_with_several_updates_each_is_restored_in_bounded_time() -> anyhow::Result<()> {
    let scenario = Scenario::new("state_restore_time");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    scenario.delete_at_end(&format!("{group}.state"));
    let plan = RecordPlan::new(KEYS, PARTITIONS);
    let mut seeded = Seeded::write(broker, &input, &plan, KEYS * UPDATES)?;
    let spec = scenario.spec("counter", &input, &[&output], &group).transactional_id(&scenario.unique("txn"));

    let mut first = scenario.spawn(&spec, "counting")?;
    let progress = broker.progress(&group, &input)?;
    progress.wait_all_committed(&mut [&mut first], Duration::from_secs(300))?;
    first.terminate(EXIT_AFTER_SIGTERM)?;

    // One more round: the new instance restores first, then counts on.
    seeded.extend(broker, &plan, KEYS)?;
    let mut second = scenario.spawn(&spec, "restoring")?;
    progress.wait_all_committed(&mut [&mut second], Duration::from_secs(300))?;
    second.terminate(EXIT_AFTER_SIGTERM)?;
    let (took, keys) = last_restore(&second.stderr()).ok_or_else(|| anyhow::anyhow!("no restore line in the log"))?;
    scenario.report(&format!(
        "RESTORE keys={keys} changelog_updates_per_key={UPDATES} partitions={PARTITIONS} elapsed_ms={}",
        took.as_millis()
    ));
    assert_eq!(keys, KEYS, "every key restored");
    assert!(took < Duration::from_secs(60), "restoring {keys} keys took {took:?}");

    // The last round's counts go on from the restored ones: all are UPDATES + 1.
    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let last: Vec<_> = outputs.iter().filter(|r| r.value_text().as_deref() == Some(&(UPDATES + 1).to_string())).collect();
    assert_eq!(last.len() as u64, KEYS, "every key counted on to {} after the restore", UPDATES + 1);
    Ok(())
}
