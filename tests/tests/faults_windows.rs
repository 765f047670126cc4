//! Fault injection, timers: two `window-count` instances (tumbling windows
//! of 2 s, 1 s of grace) share one group over six input partitions while
//! records flow in, stamped with an event time that advances with the
//! feed; every 31st record is stamped a minute behind, before any window
//! of its partition, so it is late whatever happened before it and goes to
//! the dead-letter topic (`--on-error dlq`). Again and again a member is
//! killed with SIGKILL and started again — at once, or after the group has
//! moved its partitions (dynamic membership, so every restart is a
//! rebalance) — and then a member is frozen with SIGSTOP until the group
//! has moved all its partitions to the other, and thawed: a zombie, which
//! must be fenced.
//!
//! The windows, the counts in them, the pending stream-time timers and
//! each partition's stream time live in the changelog eoshost keeps. A
//! `read_committed` reader must afterwards see every window that its
//! partition's final stream time closed exactly once, with the number of
//! the key's records in it and the timestamp `end − 1`; none that stayed
//! open (an early emission); and every late record exactly once in the
//! dead-letter topic, with its source. A count lost or applied twice, a
//! timer fired twice or lost, a stream time that went back after a restart
//! (a late record counted) or ahead (a record rejected as late), or a
//! zombie's commit shows there.
//!
//! Quick mode (CI): ~12,000 records, 4 kills, 1 freeze. `EOSHOST_FAULTS_FULL=1`:
//! 60,000 records, 12 kills, 4 freezes (short and long alternating).
//! `EOSHOST_FAULTS_BOUNCES` overrides the number of kills; `EOSHOST_TEST_SEED`
//! replays the random choices.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eoshost_tests::faults::{
    by_mode, ended_on_its_own, freeze, mode_name, plain, plain_tail, stop_cleanly, thaw, wait_all_committed_or_stall,
    wait_every_partition_committing,
};
use eoshost_tests::kills::kill_at_random;
use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, FIRST_COMMIT, GROUP_SETTLED, LONG_STALL, NEXT_COMMIT, TAKEOVER};
use eoshost_tests::windows::{WindowSpec, WindowTally};
use eoshost_tests::{
    Broker, Eoshost, EoshostSpec, Feeder, GroupProgress, Isolation, RecordPlan, Scenario, TRANSACTION_TIMEOUT, Tally, Timestamps,
    dead_letter_problems, env_number,
};

const MEMBERS: usize = 2;
const PARTITIONS: i32 = 6;
const KEYS: u64 = 30;
const WINDOWS: WindowSpec = WindowSpec { size_ms: 2_000, grace_ms: 1_000 };
/// Every 31st record is late: more than the keys, so the record of its key
/// before it is never late (see `Timestamps`).
const LATE_EVERY: u64 = 31;
/// How far behind the first record the late ones are stamped: far more
/// than a window and its grace.
const LATE_BY_MS: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The group as the broker describes it: the partitions of each member.
fn members_holding(broker: &Broker, group: &str, topic: &str) -> Option<Vec<Vec<i32>>> {
    broker.group_assignment(group, topic).map(|members| members.into_iter().map(|(_, partitions)| partitions).collect())
}

/// Fails when a member ended while it should be working.
fn all_running(members: &mut [Eoshost], when: &str) -> anyhow::Result<()> {
    for member in members.iter_mut() {
        if let Some(problem) = ended_on_its_own(member) {
            anyhow::bail!("{when}: {problem}");
        }
    }
    Ok(())
}

/// How the thawed zombie learnt that it was replaced, from what it logged
/// after `from`: a refused generation or member id (KIP-447), a lost
/// assignment, or a fenced producer. `None`: no sign of it at all.
fn fencing_evidence(log: &str, from: usize) -> Option<String> {
    let after = plain(log.get(from.min(log.len())..).unwrap_or_default()).to_lowercase();
    let signs = [
        ("stale_generation", &["unknown member", "illegal generation", "unknown_member_id", "illegal_generation"][..]),
        ("membership_lost", &["assignment lost", "consumer group session timed out"][..]),
        ("producer_fenced", &["fenced"][..]),
    ];
    let found: Vec<&str> =
        signs.iter().filter(|(_, needles)| needles.iter().any(|n| after.contains(n))).map(|(name, _)| *name).collect();
    (!found.is_empty()).then(|| found.join("+"))
}

/// One zombie: a member that holds partitions and commits is frozen with
/// SIGSTOP until the group has given all its partitions to the other (and,
/// when `long`, until the other has committed them past where they stood
/// and the broker has timed the frozen member's transaction out), then
/// thawed. It must say it was fenced and then leave or rejoin. Returns the
/// outcome for the summary; what went wrong goes to `problems`.
fn zombie_round(
    scenario: &Scenario,
    spec: &EoshostSpec,
    input: &str,
    progress: &GroupProgress<'_>,
    members: &mut [Eoshost],
    long: bool,
    problems: &mut Vec<String>,
) -> anyhow::Result<String> {
    let (broker, group) = (scenario.broker(), spec.group());
    // Both hold partitions and every partition commits: both are working.
    let deadline = Instant::now() + GROUP_SETTLED;
    while !members_holding(broker, group, input).is_some_and(|m| m.len() == MEMBERS && m.iter().all(|p| !p.is_empty())) {
        all_running(members, "before a freeze")?;
        anyhow::ensure!(Instant::now() < deadline, "no stable two-member group within {GROUP_SETTLED:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
    {
        let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
        wait_every_partition_committing(progress, 1, &mut runs, NEXT_COMMIT)?;
    }
    std::thread::sleep(scenario.random_ms(0, 500));

    let (frozen, peer) = if scenario.chance(50) { (0, 1) } else { (1, 0) };
    let log_at_freeze = members[frozen].stderr().len();
    freeze(&mut members[frozen])?;
    let frozen_at = Instant::now();
    let at_freeze = progress.committed()?;
    let label = members[frozen].label().to_owned();
    scenario.report(&format!("SIGSTOP {label} ({}); committed {at_freeze:?}", if long { "long" } else { "short" }));

    // Its session expires: one member is left, holding every partition.
    let moved = loop {
        if members_holding(broker, group, input).is_some_and(|m| m.len() == 1 && m[0].len() == PARTITIONS as usize) {
            break frozen_at.elapsed();
        }
        if let Some(problem) = ended_on_its_own(&mut members[peer]) {
            thaw(&mut members[frozen])?;
            anyhow::bail!("while {label} was frozen: {problem}");
        }
        if frozen_at.elapsed() > GROUP_SETTLED {
            thaw(&mut members[frozen])?;
            anyhow::bail!("the partitions of the frozen {label} did not move within {GROUP_SETTLED:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if long {
        let deadline = frozen_at + TAKEOVER;
        loop {
            let now = progress.committed()?;
            if now.iter().zip(&at_freeze).all(|(now, then)| now.unwrap_or(0) > then.unwrap_or(0)) {
                break;
            }
            if Instant::now() > deadline {
                thaw(&mut members[frozen])?;
                anyhow::bail!("the peer did not move every partition on within {TAKEOVER:?}: {}", progress.describe());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // Past the transaction timeout and the broker's abort sweep.
        let aborted_by_now = Duration::from_secs(22) + scenario.random_ms(0, 2_000);
        std::thread::sleep(aborted_by_now.saturating_sub(frozen_at.elapsed()));
    }
    thaw(&mut members[frozen])?;
    let frozen_for = frozen_at.elapsed();

    let deadline = Instant::now() + GROUP_SETTLED;
    let outcome = loop {
        if let Some(exit) = members[frozen].try_exit() {
            if exit.code().is_none() {
                problems.push(format!(
                    "the thawed zombie {label} crashed ({exit}); stderr tail:\n{}",
                    plain_tail(&members[frozen], 20)
                ));
            }
            break format!("exited({exit})");
        }
        if members_holding(broker, group, input).is_some_and(|m| m.len() == MEMBERS && m.iter().all(|p| !p.is_empty())) {
            break "rejoined".to_owned();
        }
        if let Some(problem) = ended_on_its_own(&mut members[peer]) {
            anyhow::bail!("after thawing {label}: {problem}");
        }
        if Instant::now() > deadline {
            problems.push(format!(
                "the thawed zombie {label} neither left nor rejoined within {GROUP_SETTLED:?}; stderr tail:\n{}",
                plain_tail(&members[frozen], 20)
            ));
            break "stuck".to_owned();
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let fenced_by = fencing_evidence(&members[frozen].stderr(), log_at_freeze).unwrap_or_else(|| {
        problems.push(format!("the thawed zombie {label} logged no sign of being fenced after SIGCONT"));
        "nothing_logged".to_owned()
    });
    scenario.report(&format!(
        "thawed {label} after {frozen_for:?} (partitions moved after {moved:?}): {outcome}, fenced by {fenced_by}"
    ));
    if members[frozen].try_exit().is_some() {
        members[frozen] = scenario.spawn(spec, &format!("member{frozen}-after-zombie"))?;
    }
    Ok(format!("{}:{outcome}:{fenced_by}", if long { "long" } else { "short" }))
}

#[test]
fn every_closed_window_once_and_every_late_record_dead_lettered_through_kills_and_zombies() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_windows");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let dlq = scenario.topic("dlq", 1)?;
    let group = scenario.unique("group");
    scenario.delete_at_end(&format!("{group}.state"));
    let minimum = scenario.scaled(by_mode(12_000, 60_000));
    let per_second = scenario.scaled(by_mode(200, 300));
    let kills_wanted = env_number("EOSHOST_FAULTS_BOUNCES", by_mode(4.0, 12.0)) as usize;
    let freezes = by_mode(1, 4);

    // Event time runs about as fast as the wall clock: a window closes
    // every 2 s of feeding, with ~13 records of each key in it.
    let base_ms = now_ms();
    let plan = RecordPlan::new(KEYS, PARTITIONS).with_timestamps(Timestamps {
        base_ms,
        step_ms: (1_000 / per_second as i64).max(1),
        late_every: LATE_EVERY,
        late_ms: base_ms - LATE_BY_MS,
    });
    let feeder = Feeder::start(broker, &input, plan.clone(), minimum, per_second)?;
    let spec = scenario
        .spec("window-count", &input, &[&output], &group)
        .plugin_config(&format!("size={}s", WINDOWS.size_ms / 1_000))
        .plugin_config(&format!("grace={}s", WINDOWS.grace_ms / 1_000))
        .fast_failure_detection()
        .args(["--static-membership", "off", "--on-error", "dlq", "--dlq-topic", &dlq]);
    let progress = broker.progress(&group, &input)?;

    let mut members: Vec<Eoshost> =
        (0..MEMBERS).map(|i| scenario.spawn(&spec, &format!("member{i}"))).collect::<anyhow::Result<_>>()?;
    {
        let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
        progress.wait_progress(0, &mut runs, FIRST_COMMIT)?;
    }
    let phase = kill_at_random(&scenario, &spec, &mut members, &feeder, &progress, kills_wanted, 0)?;
    let mut problems = phase.problems;
    let mut zombies = Vec::new();
    for round in 0..freezes {
        zombies.push(zombie_round(&scenario, &spec, &input, &progress, &mut members, round % 2 == 1, &mut problems)?);
    }

    let seeded = feeder.finish()?;
    let overall = Duration::from_secs(by_mode(180, 600));
    {
        let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
        if let Some(stalled) = wait_all_committed_or_stall(broker, &progress, &input, &mut runs, LONG_STALL, overall)? {
            scenario.report(&stalled);
            problems.push(stalled);
        }
    }
    for member in &mut members {
        if let Err(problem) = stop_cleanly(member, EXIT_AFTER_SIGTERM) {
            problems.push(problem);
        }
    }

    let expected = WindowTally::count(&seeded, &plan, WINDOWS, &[]);
    let outputs = broker.read_topic(&output, Isolation::Committed, expected.windows)?;
    let tally = WindowTally::count(&seeded, &plan, WINDOWS, &outputs);
    let late: std::collections::BTreeSet<u64> = seeded.records.iter().filter(|r| plan.is_late(r.n)).map(|r| r.n).collect();
    let letters = broker.read_topic(&dlq, Isolation::Committed, late.len())?;
    let letters_tally = Tally::count(&late, &letters);
    let letter_problems = dead_letter_problems(&letters, &seeded, "late");
    if !letter_problems.is_empty() {
        problems.push(format!(
            "{} dead letters are wrong, first ones:\n{}",
            letter_problems.len(),
            letter_problems[..letter_problems.len().min(5)].join("\n")
        ));
    }
    let aborted_outputs = broker
        .read_topic(&output, Isolation::Uncommitted, 0)?
        .iter()
        .filter(|r| !r.is_marker())
        .count()
        .saturating_sub(tally.outputs);
    let marker = match broker.assert_no_hanging_transaction(&[&output, &dlq], TRANSACTION_TIMEOUT) {
        Ok(visible) => visible.as_millis().to_string(),
        Err(error) => {
            problems.push(format!("{error:#}"));
            "none".to_owned()
        }
    };

    let late_dlq = late.len() - letters_tally.lost;
    let right = tally.is_right() && letters_tally.is_exactly_once() && problems.is_empty();
    let line = format!(
        "SUMMARY faults_windows mode={} records={} windows={} emitted={} duplicates={} missing={} wrong_counts={} \
         early={} wrong_timestamps={} malformed={} unexpected={} open={} late_sent={} late_dlq={} dlq_duplicates={} \
         dlq_unexpected={} kills={} takeovers={} zombies={} aborted_outputs={aborted_outputs} members={MEMBERS} \
         partitions={PARTITIONS} marker_ms={marker} problems={} result={}",
        mode_name(),
        tally.records,
        tally.windows,
        tally.outputs,
        tally.duplicates,
        tally.missing,
        tally.wrong_counts,
        tally.early,
        tally.wrong_timestamps,
        tally.malformed,
        tally.unexpected,
        tally.open,
        late.len(),
        late_dlq,
        letters_tally.duplicates,
        letters_tally.unexpected,
        phase.kills,
        phase.takeovers,
        if zombies.is_empty() { "none".to_owned() } else { zombies.join(",") },
        problems.len(),
        if right { "PASS" } else { "FAIL" }
    );
    scenario.report(&line);
    if !right {
        let details: Vec<String> = [tally.samples(), letters_tally.samples()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .chain(problems.iter().map(|p| format!("  problem: {p}")))
            .collect();
        panic!("faults_windows: windows or dead letters not exactly once\n{line}\n{}", details.join("\n"));
    }
    Ok(())
}
