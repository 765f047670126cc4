//! Fault injection, a zombie: two instances share one group (6 s session,
//! 1 s heartbeats). One of them is frozen with SIGSTOP — heartbeats and all,
//! as a long GC pause or a stalled VM freezes a process — while it has a
//! transaction open; its session expires and its partitions move to the
//! other instance. Then it is thawed with SIGCONT. It must be fenced: the
//! broker refuses its stale-generation offsets (KIP-447) or its bumped
//! producer epoch, so nothing it wrote while it was a zombie becomes
//! visible; and it must then leave or rejoin the group cleanly. Two kinds of
//! freeze alternate: *short* (thawed as soon as the partitions have moved,
//! while its transaction is still open on the broker) and *long* (thawed
//! after the broker has timed that transaction out and the other instance
//! has moved its partitions on). A `read_committed` reader must see every
//! input exactly once, in per-key order; `read_uncommitted` shows what the
//! zombies wrote that was aborted.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use eoshost_tests::faults::{
    FaultReport, by_mode, ended_on_its_own, freeze, plain_tail, stop_cleanly, thaw, wait_all_committed_or_stall,
};
use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, GROUP_SETTLED, LONG_STALL, TAKEOVER};
use eoshost_tests::{Broker, Eoshost, Feeder, Isolation, RecordPlan, Scenario, metrics};

const PARTITIONS: i32 = 6;
const KEYS: u64 = 60;

/// Who holds which partitions, by the instances' client ids.
fn holdings(broker: &Broker, group: &str, topic: &str, ids: &[&str]) -> Option<Vec<Vec<i32>>> {
    let members = broker.group_assignment(group, topic)?;
    Some(
        ids.iter()
            .map(|id| members.iter().find(|(client, _)| client.contains(id)).map(|(_, p)| p.clone()).unwrap_or_default())
            .collect(),
    )
}

/// How the broker told the thawed zombie off, from what it logged after
/// `from`: its stale group generation or expired member id refused
/// (KIP-447), its session found expired and its assignment lost, or its producer
/// fenced by an epoch bump. `None` when it logged none of them: then nothing
/// shows that it was fenced at all.
fn fencing_evidence(stderr: &std::path::Path, from: usize) -> Option<String> {
    let text = std::fs::read(stderr).map(|b| String::from_utf8_lossy(&b).to_lowercase()).unwrap_or_default();
    let after = text.get(from.min(text.len())..).unwrap_or_default();
    let mut found = Vec::new();
    if ["unknown member", "illegal generation", "unknown_member_id", "illegal_generation"].iter().any(|p| after.contains(p)) {
        found.push("stale_generation");
    }
    // eoshost's own warning (a transaction was open), or librdkafka's when
    // it notices the expired session itself on waking.
    if after.contains("assignment lost") || after.contains("consumer group session timed out") {
        found.push("membership_lost");
    }
    if after.contains("fenced") {
        found.push("producer_fenced");
    }
    (!found.is_empty()).then(|| found.join("+"))
}

fn transactions_aborted(addr: &str) -> Option<f64> {
    metrics::scrape(addr).map(|text| metrics::metric_sum(&text, "eoshost_transactions_aborted_total"))
}

struct Member {
    id: String,
    metrics_addr: String,
    run: Eoshost,
}

#[test]
fn a_frozen_instance_is_fenced_when_it_wakes_and_nothing_it_wrote_shows() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_zombie");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    let minimum = scenario.scaled(by_mode(15_000, 60_000));
    let per_second = scenario.scaled(by_mode(600, 1_000));
    let freezes = by_mode(2, 6);
    let feeder = Feeder::start(broker, &input, RecordPlan::new(KEYS, PARTITIONS), minimum, per_second)?;

    let base = scenario
        .spec("identity", &input, &[&output], &group)
        .fast_failure_detection()
        // Transactions of a second: a freeze almost always lands in an open
        // one, with records in it.
        .commit_interval_ms(1_000);
    let spawn_member = |role: &str| -> anyhow::Result<Member> {
        let id = scenario.unique(role);
        let metrics_addr = metrics::free_local_addr()?;
        let spec =
            base.clone().transactional_id(&id).librdkafka(&format!("client.id={id}")).args(["--metrics-addr", &metrics_addr]);
        let run = scenario.spawn(&spec, role)?;
        Ok(Member { id, metrics_addr, run })
    };
    let mut zombie = spawn_member("zombie")?;
    let mut peer = spawn_member("peer")?;
    let progress = broker.progress(&group, &input)?;
    let mut problems = Vec::new();
    let mut outcomes = Vec::new();

    for round in 0..freezes {
        let long = round % 2 == 1;
        let (zombie_id, peer_id) = (zombie.id.clone(), peer.id.clone());
        let ids = [zombie_id.as_str(), peer_id.as_str()];
        // Both hold partitions, and the zombie's are moving: it is working.
        let deadline = Instant::now() + GROUP_SETTLED;
        let zombie_partitions = loop {
            if let Some([mine, theirs]) = holdings(broker, &group, &input, &ids).as_deref()
                && !mine.is_empty()
                && !theirs.is_empty()
            {
                break mine.clone();
            }
            for member in [&mut zombie, &mut peer] {
                if let Some(problem) = ended_on_its_own(&mut member.run) {
                    anyhow::bail!("before freeze {round}: {problem}");
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "no two-member assignment within {GROUP_SETTLED:?}");
            std::thread::sleep(Duration::from_millis(250));
        };
        let before = progress.committed()?;
        let deadline = Instant::now() + GROUP_SETTLED;
        loop {
            let now = progress.committed()?;
            let moved = |p: &i32| now[*p as usize].unwrap_or(0) > before[*p as usize].unwrap_or(0);
            if zombie_partitions.iter().all(moved) {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "the zombie's partitions made no progress: {}", progress.describe());
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(scenario.random_ms(0, 300));
        let aborted_before = transactions_aborted(&zombie.metrics_addr);

        let log_at_freeze = zombie.run.stderr().len();
        freeze(&mut zombie.run)?;
        let frozen_at = Instant::now();
        let at_freeze = progress.committed()?;
        scenario.report(&format!(
            "freeze {round} ({}): SIGSTOP {} holding {zombie_partitions:?}; committed {at_freeze:?}",
            if long { "long" } else { "short" },
            zombie.run.label()
        ));
        // Its session expires and the peer takes every partition.
        let moved_after = loop {
            if let Some([mine, theirs]) = holdings(broker, &group, &input, &ids).as_deref()
                && mine.is_empty()
                && theirs.len() == PARTITIONS as usize
            {
                break frozen_at.elapsed();
            }
            if let Some(problem) = ended_on_its_own(&mut peer.run) {
                thaw(&mut zombie.run)?;
                anyhow::bail!("during freeze {round}: {problem}");
            }
            if frozen_at.elapsed() > GROUP_SETTLED {
                thaw(&mut zombie.run)?;
                anyhow::bail!("the zombie's partitions did not move to the peer within {GROUP_SETTLED:?} of SIGSTOP");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut moved_on_after = None;
        if long {
            // The broker times the zombie's transaction out (10 s, swept
            // every 10 s) and the peer resumes its partitions from the
            // offsets committed before the freeze.
            let deadline = frozen_at + TAKEOVER;
            while moved_on_after.is_none() {
                let now = progress.committed()?;
                if zombie_partitions.iter().all(|p| now[*p as usize].unwrap_or(0) > at_freeze[*p as usize].unwrap_or(0)) {
                    moved_on_after = Some(frozen_at.elapsed());
                } else if Instant::now() > deadline {
                    thaw(&mut zombie.run)?;
                    anyhow::bail!(
                        "the peer did not move the zombie's partitions on within {TAKEOVER:?}: {}",
                        progress.describe()
                    );
                } else {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            // Past the transaction timeout and the broker's abort sweep (10 s
            // each): the zombie's transaction is aborted and its epoch bumped.
            let aborted_by_now = Duration::from_secs(22) + scenario.random_ms(0, 2_000);
            std::thread::sleep(aborted_by_now.saturating_sub(frozen_at.elapsed()));
        }
        thaw(&mut zombie.run)?;
        let frozen_for = frozen_at.elapsed();

        // Thawed: it must find out it was fenced, and rejoin or leave.
        let deadline = Instant::now() + GROUP_SETTLED;
        let thawed = zombie.run.label().to_owned();
        let thawed_log = zombie.run.stderr_path().to_owned();
        let outcome = loop {
            if let Some(exit) = zombie.run.try_exit() {
                if exit.code().is_none() {
                    problems.push(format!(
                        "the thawed zombie {} crashed ({exit}); stderr tail:\n{}",
                        zombie.run.label(),
                        plain_tail(&zombie.run, 20)
                    ));
                }
                let outcome = format!("exited ({exit})");
                zombie = spawn_member("zombie")?;
                break outcome;
            }
            if let Some([mine, theirs]) = holdings(broker, &group, &input, &[&zombie.id, &peer.id]).as_deref()
                && !mine.is_empty()
                && !theirs.is_empty()
            {
                break "rejoined".to_owned();
            }
            if let Some(problem) = ended_on_its_own(&mut peer.run) {
                anyhow::bail!("after thawing in round {round}: {problem}");
            }
            if Instant::now() > deadline {
                problems.push(format!(
                    "the thawed zombie {} neither left nor rejoined within {GROUP_SETTLED:?}; stderr tail:\n{}",
                    zombie.run.label(),
                    plain_tail(&zombie.run, 20)
                ));
                break "stuck".to_owned();
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        let aborted_after = transactions_aborted(&zombie.metrics_addr);
        let fenced_by = match fencing_evidence(&thawed_log, log_at_freeze) {
            Some(evidence) => evidence,
            None => {
                problems.push(format!(
                    "round {round}: the thawed zombie {thawed} logged no sign of being fenced (no stale generation, \
                     lost assignment or fenced producer) after SIGCONT"
                ));
                "nothing_logged".to_owned()
            }
        };
        scenario.report(&format!(
            "thawed {thawed} after {frozen_for:?}: partitions moved after {moved_after:?}{}; zombie {outcome}, \
             fenced by {fenced_by}; its aborted transactions {aborted_before:?} -> {aborted_after:?}",
            moved_on_after.map(|d| format!(", moved on after {d:?}")).unwrap_or_default()
        ));
        outcomes.push(format!("{}:{outcome}:{fenced_by}", if long { "long" } else { "short" }));
    }

    let seeded = feeder.finish()?;
    let overall = Duration::from_secs(by_mode(180, 600));
    let mut runs = [&mut zombie.run, &mut peer.run];
    if let Some(stalled) = wait_all_committed_or_stall(broker, &progress, &input, &mut runs, LONG_STALL, overall)? {
        scenario.report(&stalled);
        problems.push(stalled);
    }
    for member in [&mut zombie, &mut peer] {
        if let Err(problem) = stop_cleanly(&mut member.run, EXIT_AFTER_SIGTERM) {
            problems.push(problem);
        }
    }

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let everything = broker.read_topic(&output, Isolation::Uncommitted, seeded.len())?;
    let mut report = FaultReport::count("faults_zombie", &seeded.all(), &BTreeSet::new(), &outputs, &[]).kills(freezes);
    report.note("sigstops", freezes);
    report.note("zombie", outcomes.join(","));
    report.note("aborted_outputs", everything.iter().filter(|r| !r.is_marker()).count().saturating_sub(outputs.len()));
    report.check_no_hanging_transaction(broker, &[&output]);
    report.problems(problems);
    report.finish(&scenario);
    Ok(())
}
