//! A fan-out commits all-or-nothing: `router` turns each order into three
//! records on three topics in one transaction. The instance is SIGKILLed a
//! few times mid-transaction, so aborted records sit on the log: a
//! `read_uncommitted` reader sees them, a `read_committed` one sees every
//! input exactly once on each of the three topics.

use std::time::Duration;

use eoshost_tests::timeouts::FIRST_COMMIT;
use eoshost_tests::{Feeder, Isolation, RecordPlan, Scenario, TRANSACTION_TIMEOUT, Tally};

const KILLS: usize = 3;

#[test]
fn router_fanout_is_all_or_nothing_across_sigkills() -> anyhow::Result<()> {
    let scenario = Scenario::new("fanout_atomicity");
    let broker = scenario.broker();
    let partitions = 3;
    let input = scenario.topic("in", partitions)?;
    let orders = scenario.topic("orders", partitions)?;
    let inventory = scenario.topic("inventory", partitions)?;
    let notifications = scenario.topic("notifications", partitions)?;
    let group = scenario.unique("group");
    let minimum = scenario.scaled(6_000);
    let feeder = Feeder::start(broker, &input, RecordPlan::new(48, partitions), minimum, scenario.scaled(600))?;

    // No --transactional-id: the default (<group>-<hostname>-<slot>) must let
    // each restart take its predecessor's id and fence it. Transactions of up
    // to a second leave plenty of sent-but-uncommitted records to a kill.
    let spec = scenario
        .spec("router", &input, &[&orders, &inventory, &notifications], &group)
        .commit_interval_ms(1_000)
        .plugin_config(&format!("inventory_topic={inventory}"))
        .plugin_config(&format!("notifications_topic={notifications}"))
        .fast_failure_detection();
    let progress = broker.progress(&group, &input)?;
    let mut kills = 0;
    while kills < KILLS {
        let mut run = scenario.spawn(&spec, "router")?;
        let before = progress.committed_total()?;
        progress.wait_progress(before, &mut [&mut run], FIRST_COMMIT)?;
        std::thread::sleep(scenario.random_ms(200, 900));
        anyhow::ensure!(run.kill()?, "{} ended on its own before its SIGKILL:\n{}", run.label(), run.stderr_tail(40));
        kills += 1;
        scenario.report(&format!("SIGKILL {} {:?} after start", run.label(), run.uptime()));
    }
    let seeded = feeder.finish()?;
    let mut last = scenario.spawn(&spec, "router-final")?;
    progress.wait_all_committed(&mut [&mut last], Duration::from_secs(180))?;
    last.terminate(Duration::from_secs(15))?;

    let expected = seeded.all();
    let mut committed_total = 0;
    let mut uncommitted_total = 0;
    let mut failures = Vec::new();
    for (topic, route) in [(&orders, "order"), (&inventory, "inventory"), (&notifications, "notification")] {
        let committed = broker.read_topic(topic, Isolation::Committed, expected.len())?;
        let uncommitted = broker.read_topic(topic, Isolation::Uncommitted, committed.len())?;
        let tally = Tally::count(&expected, &committed).with_kills(kills);
        scenario.report(&format!("{route}: read_committed {tally}; read_uncommitted outputs={}", uncommitted.len()));
        if !tally.is_exactly_once() {
            failures.push(format!("{topic}: {tally}\n{}", tally.samples()));
        }
        let misrouted = committed.iter().filter(|r| !r.is_marker() && r.header("route").as_deref() != Some(route)).count();
        if misrouted > 0 {
            failures.push(format!("{topic}: {misrouted} records lack header route={route}"));
        }
        committed_total += committed.len();
        uncommitted_total += uncommitted.len();
    }
    assert!(failures.is_empty(), "read_committed is not exactly once per topic:\n{}", failures.join("\n"));
    assert_eq!(committed_total, 3 * expected.len(), "each input must appear once on each of the three topics");

    // The kills hit open transactions, so aborted records are on the log.
    scenario.report(&format!(
        "read_committed={committed_total} read_uncommitted={uncommitted_total} aborted_on_log={}",
        uncommitted_total.saturating_sub(committed_total)
    ));
    assert!(
        uncommitted_total > committed_total,
        "precondition: {KILLS} SIGKILLs during 1 s transactions should leave aborted records that only \
         read_uncommitted sees, yet it saw {uncommitted_total} against read_committed's {committed_total}"
    );

    broker.assert_no_hanging_transaction(&[&orders, &inventory, &notifications], TRANSACTION_TIMEOUT)?;
    Ok(())
}
