//! Fault injection, group bounces: three eoshost instances share one group
//! over nine input partitions while records flow in; again and again one of
//! them, chosen at random, is bounced — hard (SIGKILL, a crash) or clean
//! (SIGTERM, which must end in exit code 0) — and started again at once.
//! Instances take the default transactional id (`<group>-<host>-<n>`, the
//! slot a restart inherits from its predecessor, fencing it). Afterwards a
//! `read_committed` reader must see every input exactly once, in per-key
//! order, and a marker committed after the run must be visible at once.
//!
//! Quick mode (CI): ~30,000 records, 8 bounces. `EOSHOST_FAULTS_FULL=1`:
//! ≥ 200,000 records, 30 bounces. `EOSHOST_FAULTS_BOUNCES` overrides the
//! number of bounces; `EOSHOST_TEST_SEED` replays the random choices.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use eoshost_tests::faults::{FaultReport, by_mode, ended_on_its_own, stop_cleanly, wait_all_committed_or_stall};
use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, FIRST_COMMIT, LONG_STALL};
use eoshost_tests::{Eoshost, Feeder, Isolation, RecordPlan, Scenario, env_number};

const MEMBERS: usize = 3;
const PARTITIONS: i32 = 9;
const KEYS: u64 = 90;

#[test]
fn every_record_exactly_once_while_group_members_are_killed_and_stopped_at_random() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_group_bounces");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    let minimum = scenario.scaled(by_mode(30_000, 200_000));
    let per_second = scenario.scaled(by_mode(1_200, 2_500));
    let bounces_wanted = env_number("EOSHOST_FAULTS_BOUNCES", by_mode(8.0, 30.0)) as usize;

    let feeder = Feeder::start(broker, &input, RecordPlan::new(KEYS, PARTITIONS), minimum, per_second)?;
    let spec = scenario.spec("identity", &input, &[&output], &group).fast_failure_detection();
    let mut members: Vec<Eoshost> =
        (0..MEMBERS).map(|i| scenario.spawn(&spec, &format!("member{i}"))).collect::<anyhow::Result<_>>()?;
    let progress = broker.progress(&group, &input)?;
    {
        let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
        progress.wait_progress(0, &mut runs, FIRST_COMMIT)?;
    }

    // The bounce phase lasts until the wanted bounces are done and the
    // feeder has written its minimum: records flow through every bounce.
    let mut problems = Vec::new();
    let (mut hard, mut clean) = (0usize, 0usize);
    let phase_started = Instant::now();
    while hard + clean < bounces_wanted || feeder.produced() < minimum {
        std::thread::sleep(scenario.random_ms(1_000, 4_000));
        anyhow::ensure!(feeder.is_flowing(), "the feeder stopped during the bounce phase");
        for (i, member) in members.iter_mut().enumerate() {
            if let Some(problem) = ended_on_its_own(member) {
                problems.push(problem);
                *member = scenario.spawn(&spec, &format!("member{i}-after-exit"))?;
            }
        }
        // A member at random (a random whole number of milliseconds below
        // MEMBERS is a random index).
        let i = (scenario.random_ms(0, MEMBERS as u64).as_millis() as usize).min(MEMBERS - 1);
        // The first bounce is hard and the second clean; then either.
        let kill = match hard + clean {
            0 => true,
            1 => false,
            _ => scenario.chance(50),
        };
        let label = members[i].label().to_owned();
        let committed_before = progress.committed_total()?;
        if kill {
            if members[i].kill()? {
                hard += 1;
                scenario.report(&format!(
                    "SIGKILL {label} after {:?}; committed {committed_before}, fed {}",
                    members[i].uptime(),
                    feeder.produced()
                ));
            }
        } else {
            match stop_cleanly(&mut members[i], EXIT_AFTER_SIGTERM) {
                Ok(took) => {
                    clean += 1;
                    scenario.report(&format!(
                        "SIGTERM {label} after {:?}: exit 0 in {took:?}; committed {committed_before}, fed {}",
                        members[i].uptime(),
                        feeder.produced()
                    ));
                }
                Err(problem) => {
                    scenario.report(&format!("SIGTERM {label}: {}", problem.lines().next().unwrap_or_default()));
                    problems.push(problem);
                }
            }
        }
        // Now and then the group runs a member short for a moment.
        if scenario.chance(30) {
            std::thread::sleep(scenario.random_ms(500, 3_000));
        }
        members[i] = scenario.spawn(&spec, &format!("member{i}"))?;
    }
    let seeded = feeder.finish()?;
    scenario.report(&format!(
        "bounce phase over after {:?}: {hard} SIGKILL, {clean} SIGTERM; fed {} records; {}",
        phase_started.elapsed(),
        seeded.len(),
        progress.describe()
    ));

    {
        let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
        let overall = Duration::from_secs(by_mode(240, 900));
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

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let mut report = FaultReport::count("faults_group_bounces", &seeded.all(), &BTreeSet::new(), &outputs, &[]).kills(hard);
    report.note("sigterms", clean);
    report.note("members", MEMBERS);
    report.note("partitions", PARTITIONS);
    report.check_no_hanging_transaction(broker, &[&output]);
    report.problems(problems);
    report.finish(&scenario);
    Ok(())
}
