//! Wall-clock timers live in the changelog and fire on idle partitions: a
//! `reminder` instance (a reminder per key, `delay_ms` after its record)
//! commits a few records with distinct keys, then is killed with SIGKILL
//! before any reminder is due. Its successor (same group and ids) is sent
//! nothing more, so its partitions stay idle; it must restore the pending
//! timers and fire each once: a `read_committed` reader sees every key's
//! `reminder` exactly once, not before its time and within a bound of it,
//! and still once a few seconds later. The successor's `/metrics` must show
//! no timer left pending and one firing per key.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eoshost_tests::faults::{http_get, stop_cleanly};
use eoshost_tests::timeouts::{ALL_COMMITTED_SOON, EXIT_AFTER_SIGTERM, GROUP_FORMED};
use eoshost_tests::{Eoshost, EoshostSpec, Isolation, OutputRecord, RecordPlan, Scenario, Seeded, metrics};

const PARTITIONS: i32 = 2;
/// One record per key, so one reminder per key.
const KEYS: u64 = 6;
const DELAY: Duration = Duration::from_secs(8);
/// From a reminder's time to its commit on the successor: its start, the
/// group join (static membership: at once), the state's restore, the
/// firing (within a commit interval) and the commit.
const FIRED_WITHIN: Duration = Duration::from_secs(30);
/// How long after every reminder was seen the output must still hold each
/// once.
const STILL_ONCE_AFTER: Duration = Duration::from_secs(3);

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn metric(addr: &str, name: &str) -> Option<f64> {
    metrics::scrape(addr).map(|text| metrics::metric_sum(&text, name))
}

/// Starts `spec` with `/metrics` at `addr` and waits until it has joined
/// the group (`/readyz` answers 200).
fn spawn_ready(scenario: &Scenario, spec: &EoshostSpec, addr: &str, label: &str) -> anyhow::Result<Eoshost> {
    let mut run = scenario.spawn(&spec.clone().args(["--metrics-addr", addr]), label)?;
    let deadline = Instant::now() + GROUP_FORMED;
    while http_get(addr, "/readyz").is_none_or(|(status, _)| status != 200) {
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{label} ended ({exit}) before it was ready:\n{}", run.stderr_tail(30));
        }
        anyhow::ensure!(Instant::now() < deadline, "{label} not ready within {GROUP_FORMED:?}:\n{}", run.stderr_tail(30));
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(run)
}

/// The reminders in `outputs` (markers aside), by key, and what else is
/// there.
fn reminders(outputs: &[OutputRecord]) -> (BTreeMap<String, Vec<&OutputRecord>>, Vec<String>) {
    let mut by_key: BTreeMap<String, Vec<&OutputRecord>> = BTreeMap::new();
    let mut strangers = Vec::new();
    for record in outputs.iter().filter(|r| !r.is_marker()) {
        match (record.key_text(), record.value_text().as_deref()) {
            (Some(key), Some("reminder")) => by_key.entry(key).or_default().push(record),
            (key, value) => strangers.push(format!("{}/{}@{}: {key:?}={value:?}", record.topic, record.partition, record.offset)),
        }
    }
    (by_key, strangers)
}

#[test]
fn a_wall_clock_timer_on_an_idle_partition_fires_once_after_a_restart() -> anyhow::Result<()> {
    let scenario = Scenario::new("timers_wall_clock");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    scenario.delete_at_end(&format!("{group}.state"));
    // The same ids for both instances: the successor fences what is left
    // of the first and, a static member, gets its partitions at once.
    let spec = scenario
        .spec("reminder", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .plugin_config(&format!("delay_ms={}", DELAY.as_millis()))
        .commit_interval_ms(100)
        .fast_failure_detection();
    let progress = broker.progress(&group, &input)?;
    let mut problems = Vec::new();

    let first_addr = metrics::free_local_addr()?;
    let mut first = spawn_ready(&scenario, &spec, &first_addr, "first")?;
    let written_ms = now_ms();
    let seeded = Seeded::write(broker, &input, &RecordPlan::new(KEYS, PARTITIONS), KEYS)?;
    progress.wait_all_committed(&mut [&mut first], ALL_COMMITTED_SOON)?;
    let committed_ms = now_ms();
    // The commit that took the records also wrote their timers.
    let deadline = Instant::now() + Duration::from_secs(5);
    let pending_before_kill = loop {
        let pending = metric(&first_addr, "eoshost_timers_pending");
        if pending == Some(KEYS as f64) || Instant::now() > deadline {
            break pending;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if pending_before_kill != Some(KEYS as f64) {
        problems.push(format!(
            "the first instance shows eoshost_timers_pending {pending_before_kill:?} after committing {KEYS} records, not {KEYS}"
        ));
    }
    anyhow::ensure!(first.kill()?, "the first instance ended on its own:\n{}", first.stderr_tail(30));
    let killed_after = Duration::from_millis((now_ms() - written_ms).max(0) as u64);
    scenario.report(&format!("SIGKILL first {killed_after:?} after the records were written; committed {committed_ms} ms"));
    // Nothing fired before the kill, or the restart proves nothing.
    let before = broker.read_topic(&output, Isolation::Uncommitted, 0)?;
    let (fired_early, _) = reminders(&before);
    anyhow::ensure!(
        fired_early.is_empty() && killed_after < DELAY,
        "the first instance was killed {killed_after:?} after the records were written and wrote reminders for {:?}: \
         the timers were due before the kill, so the restart proves nothing",
        fired_early.keys().collect::<Vec<_>>()
    );

    let second_addr = metrics::free_local_addr()?;
    let mut second = spawn_ready(&scenario, &spec, &second_addr, "second")?;
    // Every timer is due by `committed_ms + DELAY` at the latest.
    let bound_ms = committed_ms + (DELAY + FIRED_WITHIN).as_millis() as i64;
    let mut seen_ms: BTreeMap<String, i64> = BTreeMap::new();
    while (seen_ms.len() as u64) < KEYS && now_ms() < bound_ms {
        let outputs = broker.read_topic(&output, Isolation::Committed, 0)?;
        let read_ms = now_ms();
        for key in reminders(&outputs).0.into_keys() {
            seen_ms.entry(key).or_insert(read_ms);
        }
        if let Some(exit) = second.try_exit() {
            anyhow::bail!("the second instance ended ({exit}):\n{}", second.stderr_tail(30));
        }
    }
    std::thread::sleep(STILL_ONCE_AFTER);
    let outputs = broker.read_topic(&output, Isolation::Committed, KEYS as usize)?;
    let (found, strangers) = reminders(&outputs);
    let keys: Vec<String> = seeded.records.iter().map(|r| r.key.clone()).collect();
    let missing: Vec<&String> = keys.iter().filter(|k| !found.contains_key(*k)).collect();
    let duplicates: usize = found.values().map(|records| records.len().saturating_sub(1)).sum();
    let unexpected: Vec<&String> = found.keys().filter(|k| !keys.contains(k)).collect();
    if !missing.is_empty() {
        problems.push(format!("no reminder within {:?} of its time for {missing:?}", FIRED_WITHIN));
    }
    if duplicates > 0 {
        problems.push(format!(
            "{duplicates} reminders more than one per key: {:?}",
            found.iter().filter(|(_, r)| r.len() > 1).map(|(k, r)| (k, r.len())).collect::<Vec<_>>()
        ));
    }
    if !unexpected.is_empty() || !strangers.is_empty() {
        problems.push(format!("outputs of no input key: {unexpected:?} {strangers:?}"));
    }
    // A reminder is stamped with its timer's time: the processing time of
    // its record (after `written_ms`, before `committed_ms`) plus the delay;
    // committed before that time, it fired early.
    let mut lateness_ms = Vec::new();
    for (key, records) in &found {
        for record in records {
            let Some(time) = record.timestamp else {
                problems.push(format!("the reminder of {key} has no timestamp"));
                continue;
            };
            let (earliest, latest) = (written_ms + DELAY.as_millis() as i64, committed_ms + DELAY.as_millis() as i64);
            if !(earliest..=latest).contains(&time) {
                problems.push(format!(
                    "the reminder of {key} is stamped {time}, outside its timer's possible times [{earliest}, {latest}]"
                ));
            }
            if let Some(&seen) = seen_ms.get(key) {
                if seen < time {
                    problems.push(format!("the reminder of {key} was committed by {seen}, before its time {time}"));
                }
                lateness_ms.push(seen - time);
            }
        }
    }

    let deadline = Instant::now() + Duration::from_secs(5);
    let (pending, fired) = loop {
        let pending = metric(&second_addr, "eoshost_timers_pending");
        let fired = metric(&second_addr, "eoshost_timers_fired_total");
        if (pending == Some(0.0) && fired == Some(KEYS as f64)) || Instant::now() > deadline {
            break (pending, fired);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if pending != Some(0.0) {
        problems.push(format!("the second instance shows eoshost_timers_pending {pending:?}, not 0, after every reminder fired"));
    }
    if fired != Some(KEYS as f64) {
        problems.push(format!("the second instance shows eoshost_timers_fired_total {fired:?}, not {KEYS}"));
    }
    if let Err(problem) = stop_cleanly(&mut second, EXIT_AFTER_SIGTERM) {
        problems.push(problem);
    }
    let aborted = broker
        .read_topic(&output, Isolation::Uncommitted, 0)?
        .iter()
        .filter(|r| !r.is_marker())
        .count()
        .saturating_sub(outputs.iter().filter(|r| !r.is_marker()).count());

    let right = problems.is_empty();
    let line = format!(
        "SUMMARY timers_wall_clock keys={KEYS} delay_ms={} reminders={} missing={} duplicates={duplicates} \
         unexpected={} seen_after_time_ms={lateness_ms:?} aborted_outputs={aborted} pending_before_kill={} \
         pending_after={} fired_total_after={} problems={} result={}",
        DELAY.as_millis(),
        found.values().map(Vec::len).sum::<usize>(),
        missing.len(),
        unexpected.len() + strangers.len(),
        pending_before_kill.map_or("none".to_owned(), |v| v.to_string()),
        pending.map_or("none".to_owned(), |v| v.to_string()),
        fired.map_or("none".to_owned(), |v| v.to_string()),
        problems.len(),
        if right { "PASS" } else { "FAIL" }
    );
    scenario.report(&line);
    assert!(right, "{line}\n{}", problems.iter().map(|p| format!("  problem: {p}")).collect::<Vec<_>>().join("\n"));
    Ok(())
}
