//! Two instances share one group over a 6-partition topic; one is killed
//! with SIGKILL while both work. The survivor gets the dead one's partitions
//! when its session expires and resumes them from the committed offsets —
//! seen as every partition committed past its end offset at the kill, which
//! only a live instance can do — and the dead one's open transaction is
//! aborted, never half-visible: every input exactly once, per-key order
//! kept.

use std::time::{Duration, Instant};

use eoshost_tests::timeouts::{GROUP_FORMED, NEXT_COMMIT, TAKEOVER_AFTER_SIGKILL};
use eoshost_tests::{Feeder, Isolation, RecordPlan, Scenario, TRANSACTION_TIMEOUT, Tally};

#[test]
fn survivor_takes_over_a_sigkilled_instances_partitions_exactly_once() -> anyhow::Result<()> {
    let scenario = Scenario::new("rebalance");
    let broker = scenario.broker();
    let partitions = 6;
    let input = scenario.topic("in", partitions)?;
    let output = scenario.topic("out", partitions)?;
    let group = scenario.unique("group");
    let minimum = scenario.scaled(15_000);
    let feeder = Feeder::start(broker, &input, RecordPlan::new(60, partitions), minimum, scenario.scaled(1_000))?;

    let base = scenario.spec("identity", &input, &[&output], &group).fast_failure_detection();
    let (survivor_id, victim_id) = (scenario.unique("survivor"), scenario.unique("victim"));
    // client.id tells the members apart in the group description.
    let survivor_spec = base.clone().transactional_id(&survivor_id).librdkafka(&format!("client.id={survivor_id}"));
    let victim_spec = base.transactional_id(&victim_id).librdkafka(&format!("client.id={victim_id}"));
    let mut survivor = scenario.spawn(&survivor_spec, "survivor")?;
    let mut victim = scenario.spawn(&victim_spec, "victim")?;
    let progress = broker.progress(&group, &input)?;

    // Wait until both hold partitions, then until the victim's partitions
    // make progress: it is working when it dies.
    let deadline = Instant::now() + GROUP_FORMED;
    let victim_partitions = loop {
        if let Some(members) = broker.group_assignment(&group, &input) {
            let of = |id: &str| members.iter().find(|(client, _)| client.contains(id)).map(|(_, p)| p.clone());
            if let (Some(mine), Some(theirs)) = (of(&victim_id), of(&survivor_id))
                && !mine.is_empty()
                && !theirs.is_empty()
            {
                scenario.report(&format!("assignment: victim {mine:?}, survivor {theirs:?}"));
                break Some(mine);
            }
            if members.len() == 2 && of(&victim_id).is_none() {
                // The host sets its own client.id: members are anonymous.
                scenario.report(&format!(
                    "two members, client ids {:?}: cannot tell them apart",
                    members.iter().map(|m| &m.0).collect::<Vec<_>>()
                ));
                break None;
            }
        }
        if Instant::now() > deadline {
            scenario.report(&format!(
                "no stable two-member group description within {GROUP_FORMED:?}; going by committed progress alone"
            ));
            break None;
        }
        for run in [&mut survivor, &mut victim] {
            if let Some(exit) = run.try_exit() {
                anyhow::bail!("{} ended ({exit}) before the kill:\n{}", run.label(), run.stderr_tail(40));
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let before = progress.committed()?;
    let moved =
        |now: &[Option<i64>], partition: i32| now[partition as usize].unwrap_or(0) > before[partition as usize].unwrap_or(0);
    let watched: Vec<i32> = victim_partitions.clone().unwrap_or_else(|| (0..partitions).collect());
    let deadline = Instant::now() + NEXT_COMMIT;
    loop {
        let now = progress.committed()?;
        if watched.iter().all(|&p| moved(&now, p)) {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "partitions {watched:?} made no progress within {NEXT_COMMIT:?}: {}",
            progress.describe()
        );
        anyhow::ensure!(victim.try_exit().is_none(), "the victim ended on its own:\n{}", victim.stderr_tail(40));
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(scenario.random_ms(0, 1_000));
    anyhow::ensure!(victim.kill()?, "the victim ended on its own before its SIGKILL:\n{}", victim.stderr_tail(40));
    let killed_at = Instant::now();
    let at_kill = progress.committed()?;
    // The victim read nothing beyond these: a partition committed past its
    // end offset at the kill was committed by the survivor.
    let end_at_kill = broker.end_offsets(&input)?;
    scenario.report(&format!("SIGKILL victim; committed then {at_kill:?}, end offsets {end_at_kill:?}"));

    // The takeover, while records keep flowing to every partition: the
    // survivor commits each one — the victim's too — past its end offset at
    // the kill.
    let deadline = killed_at + TAKEOVER_AFTER_SIGKILL;
    let taken_over = loop {
        let now = progress.committed()?;
        let behind: Vec<i32> =
            (0..partitions).filter(|&p| now[p as usize].is_none_or(|next| next <= end_at_kill[p as usize])).collect();
        if behind.is_empty() {
            break now;
        }
        anyhow::ensure!(survivor.try_exit().is_none(), "the survivor ended on its own:\n{}", survivor.stderr_tail(40));
        anyhow::ensure!(
            Instant::now() < deadline,
            "no takeover: partitions {behind:?} (the victim held {}) not committed past their end offsets at the kill \
             {end_at_kill:?} within {TAKEOVER_AFTER_SIGKILL:?}: {}",
            victim_partitions.as_ref().map_or_else(|| "unknown partitions".to_owned(), |p| format!("{p:?}")),
            progress.describe()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let moved_on: Vec<String> =
        watched.iter().map(|&p| format!("{p}: {:?} -> {:?}", at_kill[p as usize], taken_over[p as usize])).collect();
    scenario.report(&format!(
        "the survivor took over {:?} after the kill; {} partitions: {}",
        killed_at.elapsed(),
        if victim_partitions.is_some() { "the victim's" } else { "all" },
        moved_on.join(", ")
    ));
    let seeded = feeder.finish()?;
    progress.wait_all_committed(&mut [&mut survivor], Duration::from_secs(180))?;
    let shutdown = survivor.terminate(Duration::from_secs(15))?;
    scenario.report(&format!("survivor stopped: {shutdown:?}"));

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let tally = Tally::count(&seeded.all(), &outputs).with_kills(1);
    scenario.report(&tally.to_string());
    tally.assert_exactly_once("survivor after the other instance's SIGKILL");
    let visible_after = broker.assert_no_hanging_transaction(&[&output], TRANSACTION_TIMEOUT)?;
    scenario.report(&format!("markers visible after {visible_after:?}"));
    Ok(())
}
