//! The kill phase the stateful fault scenarios share (`faults_counter`,
//! `faults_dedup`): while the feeder writes, again and again a member chosen
//! at random is killed with SIGKILL and started again — at once, or after
//! the group has moved its partitions to the others (a session outlives
//! 6 s with `fast_failure_detection`).

use std::time::{Duration, Instant};

use crate::broker::GroupProgress;
use crate::faults::{by_mode, ended_on_its_own, wait_all_committed_or_stall};
use crate::process::{Eoshost, EoshostSpec};
use crate::records::{Feeder, Seeded};
use crate::scenario::Scenario;
use crate::timeouts::{FIRST_COMMIT, STALL};

/// What the kill phase did.
pub struct KillPhase {
    pub kills: usize,
    /// Kills after which the others took the partitions over before the
    /// killed member came back.
    pub takeovers: usize,
    /// Members that ended on their own, with their stderr tails.
    pub problems: Vec<String>,
}

/// Kills and restarts members of `members` (all run `spec`) until
/// `kills_wanted` kills are done and the feeder has written `minimum`.
pub fn kill_at_random(
    scenario: &Scenario,
    spec: &EoshostSpec,
    members: &mut [Eoshost],
    feeder: &Feeder,
    progress: &GroupProgress<'_>,
    kills_wanted: usize,
    minimum: u64,
) -> anyhow::Result<KillPhase> {
    let mut phase = KillPhase { kills: 0, takeovers: 0, problems: Vec::new() };
    let started = Instant::now();
    while phase.kills < kills_wanted || feeder.produced() < minimum {
        std::thread::sleep(scenario.random_ms(1_500, 4_000));
        anyhow::ensure!(feeder.is_flowing(), "the feeder stopped during the kill phase");
        for (i, member) in members.iter_mut().enumerate() {
            if let Some(problem) = ended_on_its_own(member) {
                phase.problems.push(problem);
                *member = scenario.spawn(spec, &format!("member{i}-after-exit"))?;
            }
        }
        let i = (scenario.random_ms(0, members.len() as u64).as_millis() as usize).min(members.len() - 1);
        let label = members[i].label().to_owned();
        let committed_before = progress.committed_total()?;
        if members[i].kill()? {
            phase.kills += 1;
            scenario.report(&format!(
                "SIGKILL {label} after {:?}; committed {committed_before}, fed {}",
                members[i].uptime(),
                feeder.produced()
            ));
        }
        if scenario.chance(40) {
            phase.takeovers += 1;
            std::thread::sleep(scenario.random_ms(7_000, 9_000));
        }
        members[i] = scenario.spawn(spec, &format!("member{i}"))?;
    }
    scenario.report(&format!(
        "kill phase over after {:?}: {} SIGKILL ({} with a takeover); fed {}; {}",
        started.elapsed(),
        phase.kills,
        phase.takeovers,
        feeder.produced(),
        progress.describe()
    ));
    Ok(phase)
}

/// The whole run of a kill scenario: `count` members of `spec` start (the
/// group's first commit awaited), [`kill_at_random`] runs while `feeder`
/// writes, then the feeder finishes and everything fed to `progress`'s
/// topic must be committed (a stall is a problem of the phase, reported).
/// Returns the members, still running, the phase and what was fed.
pub fn run_through_kills(
    scenario: &Scenario,
    spec: &EoshostSpec,
    count: usize,
    feeder: Feeder,
    progress: &GroupProgress<'_>,
    kills_wanted: usize,
    minimum: u64,
) -> anyhow::Result<(Vec<Eoshost>, KillPhase, Seeded)> {
    let mut members: Vec<Eoshost> =
        (0..count).map(|i| scenario.spawn(spec, &format!("member{i}"))).collect::<anyhow::Result<_>>()?;
    {
        let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
        progress.wait_progress(0, &mut runs, FIRST_COMMIT)?;
    }
    let mut phase = kill_at_random(scenario, spec, &mut members, &feeder, progress, kills_wanted, minimum)?;
    let seeded = feeder.finish()?;
    let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
    let overall = Duration::from_secs(by_mode(120, 600));
    if let Some(stalled) = wait_all_committed_or_stall(scenario.broker(), progress, &seeded.topic, &mut runs, STALL, overall)? {
        scenario.report(&stalled);
        phase.problems.push(stalled);
    }
    Ok((members, phase, seeded))
}
