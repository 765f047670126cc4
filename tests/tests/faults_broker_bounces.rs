//! Fault injection, broker bounces: the loopback broker becomes a
//! three-node cluster (`scripts/kafka start --brokers 3`: RF 3,
//! `min.insync.replicas=2`), two eoshost instances share one group while
//! records flow in, and the node that is **both** their group's coordinator
//! and the transaction coordinator of both instances (their transactional
//! ids are picked so that one node is, found from the coordinator
//! partitions' leaders, not guessed) is killed with SIGKILL, left down for
//! 30–35 s (past the controller's 9 s broker session, so its leaders and
//! coordinators move) and restarted on its storage (`scripts/kafka
//! start-node K`); it takes its leaderships back within seconds
//! (`leader.imbalance.check.interval.seconds=5` in the cluster), so the next
//! kill hits both coordinators again. Each kill comes once every partition
//! has committed three times in a row (the group's joins are over). No
//! instance may exit, and the
//! committed offsets must advance while each killed node is down. Afterwards
//! a `read_committed` reader must see every input exactly once, in per-key
//! order, and a marker committed after the run must be visible at once.
//!
//! The single node the other tests use is on the same ports, so it is
//! replaced (`start --brokers 3` stops it under the script's lock) and
//! started afresh at the end, also when the test fails: that wipes its
//! topics, so nothing else may use the broker meanwhile. Cargo runs test
//! binaries one at a time and this binary has one test; a cluster replaced
//! by another process's `scripts/kafka start` (a demo, a bench) fails the
//! test with a message saying so. It always runs on `scripts/kafka`'s own
//! cluster, whatever `EOSHOST_TEST_BOOTSTRAP` names (nothing here uses that
//! broker); to leave it out, do not select it (`cargo test --test NAME`, or
//! `-- --skip brokers_are_killed`): it never passes without having run.
//! Records flow for the whole run: quick mode (CI) 300/s (≥ 10,000) and one
//! kill; `EOSHOST_FAULTS_FULL=1` 500/s (≥ 50,000) and two kills;
//! `EOSHOST_FAULTS_BROKER_KILLS` overrides the kills.

use std::collections::BTreeSet;

use anyhow::Context as _;
use std::time::{Duration, Instant};

use eoshost_tests::cluster::{Leaders, THREE_NODES, ThreeNodeCluster, wait_topic_on_every_node};
use eoshost_tests::faults::{
    FaultReport, by_mode, committed_total_patiently, dump_stacks, ended_on_its_own, stop_cleanly, wait_all_committed_or_stall,
    wait_committed_beyond, wait_every_partition_committing,
};
use eoshost_tests::timeouts::{EXIT_AFTER_SIGTERM, LEADERSHIP_BACK, LONG_STALL, TOPIC_ON_EVERY_NODE};
use eoshost_tests::{Broker, Eoshost, Feeder, Isolation, RecordPlan, Scenario, env_number};

const PARTITIONS: i32 = 6;
const KEYS: u64 = 60;

#[test]
fn every_record_exactly_once_while_brokers_are_killed_and_restarted() -> anyhow::Result<()> {
    let scenario = Scenario::new("faults_broker_bounces");
    let switched = Instant::now();
    let cluster = ThreeNodeCluster::start(scenario.log_dir())?;
    scenario.report(&format!("three nodes up in {:?}: {THREE_NODES}", switched.elapsed()));
    // Before the first Broker::get of this binary, so that every helper
    // connects to the three nodes (and creates topics with RF 3).
    Broker::use_bootstrap(THREE_NODES)?;
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    for topic in [&input, &output] {
        wait_topic_on_every_node(topic, PARTITIONS as usize, TOPIC_ON_EVERY_NODE)?;
    }
    let group = scenario.unique("group");
    let minimum = scenario.scaled(by_mode(10_000, 50_000));
    let per_second = scenario.scaled(by_mode(300, 500));
    let kills_wanted = env_number("EOSHOST_FAULTS_BROKER_KILLS", by_mode(1.0, 2.0)) as usize;
    let leaders = Leaders::new(&broker.config())?;

    let feeder = Feeder::start(broker, &input, RecordPlan::new(KEYS, PARTITIONS), minimum, per_second)?;
    let mut base = scenario.spec("identity", &input, &[&output], &group).fast_failure_detection();
    if std::env::var_os("EOSHOST_LOG").is_none() {
        // Every commit in the instances' logs: a stall shows where it began.
        base = base.env("EOSHOST_LOG", "info,eoshost=debug");
    }
    let target = leaders.group_coordinator(&group).context("the group has no coordinator")?;
    let ids = (0..2)
        .map(|i| {
            (0..500)
                .map(|n| scenario.unique(&format!("txn{i}-{n}")))
                .find(|id| leaders.transaction_coordinator(id) == Some(target))
                .context("no transactional id found that node {target} coordinates")
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    scenario.report(&format!("node {target} coordinates group {group} and the transactions of {ids:?}"));
    let specs: Vec<_> = ids.iter().map(|id| base.clone().transactional_id(id)).collect();
    let mut members: Vec<Eoshost> =
        specs.iter().enumerate().map(|(i, spec)| scenario.spawn(spec, &format!("member{i}"))).collect::<anyhow::Result<_>>()?;
    let progress = broker.progress(&group, &input)?;
    {
        let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
        wait_committed_beyond(&progress, 0, &mut runs, Duration::from_secs(120))?;
    }

    let mut problems = Vec::new();
    let mut victims = Vec::new();
    // Input records committed while each killed node was down.
    let mut down_progress = Vec::new();
    for round in 0..kills_wanted {
        std::thread::sleep(scenario.random_ms(1_000, 3_000));
        // A node restarted takes its leaderships back within seconds.
        let waited = Instant::now();
        let node = loop {
            match leaders.sole_coordinator(&group, &ids) {
                Some(node) => break node,
                None if waited.elapsed() < LEADERSHIP_BACK => std::thread::sleep(Duration::from_millis(500)),
                None => {
                    problems.push(format!(
                        "kill {round}: no node coordinated both the group and the transactions for {LEADERSHIP_BACK:?}"
                    ));
                    break leaders.group_coordinator(&group).unwrap_or(target);
                }
            }
        };
        // A kill during the group's first joins, or during the rebalance
        // that follows a node's return, tests a rebalance, not a failover:
        // wait for steady commits on every partition first.
        {
            let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
            if let Err(error) = wait_every_partition_committing(&progress, 3, &mut runs, Duration::from_secs(120)) {
                problems.push(format!("kill {round}: no steady state before it: {error:#}"));
                break;
            }
        }
        cluster.ensure_still_ours()?;
        let before = committed_total_patiently(&progress)?;
        cluster.kill_node(node)?;
        let killed_at = Instant::now();
        scenario.report(&format!(
            "kill {round}: SIGKILL node {node} (group and transaction coordinator); committed {before}, fed {}",
            feeder.produced()
        ));
        victims.push(node.to_string());
        // Down past the controller's broker session timeout (9 s), so that
        // the cluster fences the node and moves its leaders and coordinators:
        // eoshost must keep committing on two nodes.
        std::thread::sleep(scenario.random_ms(30_000, 35_000));
        for (i, member) in members.iter_mut().enumerate() {
            if let Some(problem) = ended_on_its_own(member) {
                problems.push(format!("while node {node} was down: {problem}"));
                *member = scenario.spawn(&specs[i], &format!("member{i}-after-exit"))?;
            }
        }
        cluster.ensure_still_ours()?;
        let down_committed = committed_total_patiently(&progress)?;
        down_progress.push((down_committed - before).to_string());
        if down_committed <= before {
            problems.push(format!("kill {round}: nothing committed while node {node} was down ({before} before and after)"));
        }
        cluster.start_node(node)?;
        scenario.report(&format!(
            "node {node} back and in sync {:?} after its kill; committed {before} -> {down_committed} while it was \
             down",
            killed_at.elapsed()
        ));
        // Back to three nodes: the pipeline must move on.
        let now = committed_total_patiently(&progress)?;
        let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
        if let Err(error) = wait_committed_beyond(&progress, now, &mut runs, Duration::from_secs(120)) {
            let stacks: Vec<String> = members
                .iter_mut()
                .filter_map(|member| dump_stacks(member, scenario.log_dir()))
                .map(|path| path.display().to_string())
                .collect();
            let stall = format!("after node {node} came back: {error:#}; thread stacks in {stacks:?}");
            scenario.report(&stall);
            problems.push(stall);
            break;
        }
    }
    anyhow::ensure!(feeder.is_flowing() || feeder.produced() >= minimum, "the feeder stopped early");
    let seeded = feeder.finish()?;
    scenario.report(&format!("fed {} records; {}", seeded.len(), progress.describe()));
    for (i, member) in members.iter_mut().enumerate() {
        if let Some(problem) = ended_on_its_own(member) {
            problems.push(problem);
            *member = scenario.spawn(&specs[i], &format!("member{i}-after-exit"))?;
        }
    }
    let mut runs: Vec<&mut Eoshost> = members.iter_mut().collect();
    let overall = Duration::from_secs(by_mode(240, 900));
    let stalled = wait_all_committed_or_stall(broker, &progress, &input, &mut runs, LONG_STALL, overall)?;
    if let Some(stalled) = stalled {
        let stacks: Vec<String> = members
            .iter_mut()
            .filter_map(|member| dump_stacks(member, scenario.log_dir()))
            .map(|path| path.display().to_string())
            .collect();
        let stalled = format!("{stalled}; thread stacks in {stacks:?}");
        scenario.report(&stalled);
        problems.push(stalled);
    }
    for member in &mut members {
        if let Err(problem) = stop_cleanly(member, EXIT_AFTER_SIGTERM) {
            problems.push(problem);
        }
    }

    cluster.ensure_still_ours()?;
    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    let mut report =
        FaultReport::count("faults_broker_bounces", &seeded.all(), &BTreeSet::new(), &outputs, &[]).kills(victims.len());
    report.note("killed_nodes", victims.join(","));
    report.note("committed_while_down", down_progress.join(","));
    report.check_no_hanging_transaction(broker, &[&output]);
    report.problems(problems);
    drop(members);
    let restored = Instant::now();
    match cluster.restore() {
        Ok(()) => scenario.report(&format!("single node restored in {:?}", restored.elapsed())),
        Err(error) => report.problem(format!("restoring the single node: {error:#}")),
    }
    report.finish(&scenario);
    Ok(())
}
