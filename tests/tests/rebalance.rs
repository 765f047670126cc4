//! Two instances share one group over a 6-partition topic; one is killed
//! with SIGKILL while both work. The survivor gets the dead one's partitions
//! when its session expires and resumes them from the committed offsets —
//! and the dead one's open transaction is aborted, never half-visible: every
//! input exactly once, per-key order kept.

use std::time::{Duration, Instant};

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
    let deadline = Instant::now() + Duration::from_secs(90);
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
            scenario.report("no stable two-member group description within 90 s; going by committed progress alone");
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = progress.committed()?;
        if watched.iter().all(|&p| moved(&now, p)) {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "partitions {watched:?} made no progress within 60 s: {}",
            progress.describe()
        );
        anyhow::ensure!(victim.try_exit().is_none(), "the victim ended on its own:\n{}", victim.stderr_tail(40));
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(scenario.random_ms(0, 1_000));
    anyhow::ensure!(victim.kill()?, "the victim ended on its own before its SIGKILL:\n{}", victim.stderr_tail(40));
    let at_kill = progress.committed()?;
    scenario.report(&format!("SIGKILL victim; committed then {at_kill:?}"));

    // Keep records flowing to the victim's partitions through the takeover.
    std::thread::sleep(Duration::from_secs(3));
    let seeded = feeder.finish()?;
    progress.wait_all_committed(&mut [&mut survivor], Duration::from_secs(180))?;
    let shutdown = survivor.terminate(Duration::from_secs(15))?;
    scenario.report(&format!("survivor stopped: {shutdown:?}"));
    if let Some(partitions) = &victim_partitions {
        let end = broker.end_offsets(&input)?;
        let finished: Vec<String> =
            partitions.iter().map(|&p| format!("{p}: {:?} -> {}", at_kill[p as usize], end[p as usize])).collect();
        scenario.report(&format!("the survivor finished the victim's partitions: {}", finished.join(", ")));
    }

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let tally = Tally::count(&seeded.all(), &outputs).with_kills(1);
    scenario.report(&tally.to_string());
    tally.assert_exactly_once("survivor after the other instance's SIGKILL");
    let visible_after = broker.assert_no_hanging_transaction(&[&output], TRANSACTION_TIMEOUT)?;
    scenario.report(&format!("markers visible after {visible_after:?}"));
    Ok(())
}
