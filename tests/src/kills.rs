//! The kill phase the stateful fault scenarios share (`faults_counter`,
//! `faults_dedup`): while the feeder writes, again and again a member chosen
//! at random is killed with SIGKILL and started again — at once, or after
//! the group has moved its partitions to the others (a session outlives
//! 6 s with `fast_failure_detection`).

use std::time::Instant;

use crate::broker::GroupProgress;
use crate::faults::ended_on_its_own;
use crate::process::{Eoshost, EoshostSpec};
use crate::records::Feeder;
use crate::scenario::Scenario;

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
