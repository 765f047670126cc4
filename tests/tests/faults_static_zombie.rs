//! Fault injection, a static-membership zombie: instance A runs with fixed
//! ids (`--transactional-id`, hence the same `group.instance.id`) and
//! transactions of a second, so that it always has one open. It is frozen
//! with SIGSTOP, and A′ — the replacement an orchestrator starts for a node
//! it believes dead, with the same ids — takes over at once: its
//! `init_transactions` bumps the producer epoch (aborting A's open
//! transaction) and its JoinGroup replaces A's member id, without a new
//! generation. Then A is thawed with SIGCONT, its transaction long past
//! `--commit-interval-ms`, so the first thing it does is try to commit.
//!
//! That commit must be refused — the coordinator answers FENCED_INSTANCE_ID
//! to the member id A still carries, and A's producer epoch is fenced — and
//! nothing A wrote may become visible: a `read_committed` reader sees every
//! input exactly once, in per-key order (a commit of A accepted after A′
//! took over would show as duplicates). A must then exit with code 4
//! ("fenced by a newer instance with the same group.instance.id") instead of
//! retrying, rejoining or exiting 1, and A′ must keep working throughout.
//!
//! Quick mode (CI): one freeze. `EOSHOST_FAULTS_FULL=1`: three, the twin
//! of one round being the zombie of the next.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use eoshost_tests::faults::{
    FaultReport, by_mode, ended_on_its_own, freeze, plain, plain_tail, stop_cleanly, thaw, wait_all_committed_or_stall,
    wait_committed_beyond,
};
use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, FIRST_COMMIT, NEXT_COMMIT, STALL, TAKEOVER, THAWED_ZOMBIE_REFUSED};
use eoshost_tests::{Eoshost, Exit, Feeder, Isolation, RecordPlan, Scenario, metrics};

const PARTITIONS: i32 = 6;
const KEYS: u64 = 60;
/// The exit code of an instance fenced by a newer one with its
/// `group.instance.id` (README, "Exit codes").
const FENCED_EXIT_CODE: i32 = 4;
/// What the host logs (at debug level) for every committed transaction.
const COMMIT_LINE: &str = "eoshost::kafka::transaction: committed";

/// Lines of `text` (a log, colours and all) that record a committed
/// transaction.
fn commits_in(text: &str) -> usize {
    plain(text).lines().filter(|line| line.contains(COMMIT_LINE)).count()
}

#[test]
fn a_frozen_static_member_replaced_by_its_twin_is_refused_and_exits_fenced() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_static_zombie");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    let freezes = by_mode(1, 3);
    let minimum = scenario.scaled(by_mode(8_000, 20_000));
    let feeder = Feeder::start(broker, &input, RecordPlan::new(KEYS, PARTITIONS), minimum, scenario.scaled(600))?;

    let base = scenario
        .spec("identity", &input, &[&output], &group)
        // A freeze always lands in an open transaction with records in it.
        .commit_interval_ms(1_000)
        // Every commit in the log: what A did after the thaw is countable.
        .env("EOSHOST_LOG", "info,eoshost=debug");
    let spawn = |ids: &str, label: &str| -> anyhow::Result<Eoshost> {
        let addr = metrics::free_local_addr()?;
        scenario.spawn(&base.clone().transactional_id(ids).args(["--metrics-addr", &addr]), label)
    };
    let progress = broker.progress(&group, &input)?;
    let ids = scenario.unique("twin");
    let mut current = spawn(&ids, "a")?;
    progress.wait_progress(0, &mut [&mut current], FIRST_COMMIT)?;
    let mut problems = Vec::new();
    let mut outcomes = Vec::new();

    for round in 0..freezes {
        // The twin that took over in one round is the zombie of the next.
        let mut zombie = current;
        // A is working: its commits move the group's offsets.
        let before = progress.committed_total()?;
        progress.wait_progress(before, &mut [&mut zombie], NEXT_COMMIT)?;
        std::thread::sleep(scenario.random_ms(0, 800));

        let log_at_freeze = zombie.stderr().len();
        let commits_before_freeze = commits_in(&zombie.stderr());
        freeze(&mut zombie)?;
        let frozen_at = Instant::now();
        let at_freeze = progress.committed_total()?;
        scenario.report(&format!("round {round}: SIGSTOP {} (ids {ids}); committed {at_freeze}", zombie.label()));

        let mut twin = spawn(&ids, "a-prime")?;
        let took_over = wait_committed_beyond(&progress, at_freeze, &mut [&mut twin], TAKEOVER);
        let took_over_after = frozen_at.elapsed();
        if let Err(error) = took_over {
            thaw(&mut zombie)?;
            anyhow::bail!("round {round}: the twin made no commit while A was frozen: {error:#}");
        }
        // Past A's commit interval several times over: on waking, it commits.
        std::thread::sleep(Duration::from_secs(2));
        thaw(&mut zombie)?;
        let thawed_at = Instant::now();

        let exit = zombie.wait_exit(THAWED_ZOMBIE_REFUSED);
        let exited_after = thawed_at.elapsed();
        let after_thaw = zombie.stderr().get(log_at_freeze..).unwrap_or_default().to_owned();
        let commits_after_thaw = commits_in(&after_thaw);
        match exit {
            Some(Exit::Code(FENCED_EXIT_CODE)) => {}
            Some(exit) => problems.push(format!(
                "round {round}: the thawed zombie {} ended with {exit} after {exited_after:?}, not exit code \
                 {FENCED_EXIT_CODE} (fenced by a newer instance with the same group.instance.id); stderr tail:\n{}",
                zombie.label(),
                plain_tail(&zombie, 20)
            )),
            None => {
                problems.push(format!(
                    "round {round}: the thawed zombie {} was still running {THAWED_ZOMBIE_REFUSED:?} after SIGCONT (exit code \
                     {FENCED_EXIT_CODE} expected); stderr tail:\n{}",
                    zombie.label(),
                    plain_tail(&zombie, 20)
                ));
                zombie.kill()?;
            }
        }
        // The commit pattern must match this host's log at all, or "no
        // commit after the thaw" would prove nothing.
        if commits_before_freeze == 0 {
            problems.push(format!(
                "round {round}: {} logged no \"{COMMIT_LINE}\" line before the freeze: the check of its commits after \
                 the thaw is blind",
                zombie.label()
            ));
        }
        if commits_after_thaw > 0 {
            problems.push(format!(
                "round {round}: the thawed zombie {} committed {commits_after_thaw} transaction(s) after its twin took over",
                zombie.label()
            ));
        }
        if !plain(&after_thaw).to_lowercase().contains("fenced") {
            problems.push(format!(
                "round {round}: the thawed zombie {} never logged being fenced; stderr tail:\n{}",
                zombie.label(),
                plain_tail(&zombie, 20)
            ));
        }
        if let Some(problem) = ended_on_its_own(&mut twin) {
            // Counted as a failure; a fresh twin drains the rest, so the
            // summary still shows what reached the output.
            problems.push(format!("round {round}: the twin A′ must keep working, but {problem}"));
            twin = spawn(&ids, "a-prime-again")?;
        }
        let exit_text = exit.map_or_else(|| "running".to_owned(), |exit| exit.to_string().replace(' ', "_"));
        scenario.report(&format!(
            "round {round}: twin committed {took_over_after:?} after the freeze; thawed {} ended with {exit_text} \
             {exited_after:?} after SIGCONT, {commits_after_thaw} commits after the thaw",
            zombie.label()
        ));
        outcomes.push(exit_text);
        current = twin;
    }

    let seeded = feeder.finish()?;
    let overall = Duration::from_secs(by_mode(180, 400));
    if let Some(stalled) = wait_all_committed_or_stall(broker, &progress, &input, &mut [&mut current], STALL, overall)? {
        scenario.report(&stalled);
        problems.push(stalled);
    }
    if let Err(problem) = stop_cleanly(&mut current, EXIT_AFTER_SIGTERM) {
        problems.push(problem);
    }

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let everything = broker.read_topic(&output, Isolation::Uncommitted, seeded.len())?;
    let mut report = FaultReport::count("faults_static_zombie", &seeded.all(), &BTreeSet::new(), &outputs, &[]).kills(freezes);
    report.note("sigstops", freezes);
    report.note("zombie_exits", outcomes.join(","));
    report.note("aborted_outputs", everything.iter().filter(|r| !r.is_marker()).count().saturating_sub(outputs.len()));
    report.check_no_hanging_transaction(broker, &[&output]);
    report.problems(problems);
    report.finish(&scenario);
    Ok(())
}
