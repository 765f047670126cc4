//! `--sink postgres` against the real broker and a real PostgreSQL server
//! (`scripts/postgres`): records arrive while the sink is SIGKILLed at
//! random moments and restarted, the database is restarted under it, and a
//! frozen instance (SIGSTOP past its session) comes back as a zombie whose
//! stale batch the offset check refuses. Then the rows of the table are
//! counted per source record: every input exactly once, none lost, none
//! twice, and `eoshost_offsets` at the topic's end.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eoshost_tests::faults::{kill_mid_work, send_signal, stop_final_run};
use eoshost_tests::metrics::{free_local_addr, metric_sum, scrape};
use eoshost_tests::timeouts::{EXIT_AT_START, FIRST_BATCH, FIRST_COMMIT, NEXT_COMMIT, TAKEOVER, THAWED_ZOMBIE_REFUSED};
use eoshost_tests::{Eoshost, EoshostSpec, Feeder, Postgres, RecordPlan, Scenario, Seeded, Tally, env_number};

/// How long the database restart test keeps PostgreSQL down: longer than
/// the 6 s session, so that a sink which stopped polling meanwhile would
/// lose its partitions.
const OUTAGE: Duration = Duration::from_secs(8);
/// `--commit-interval-ms` of the zombie test: long batches, so that the
/// zombie is frozen with one open.
const ZOMBIE_COMMIT_INTERVAL: Duration = Duration::from_secs(2);
/// What the sink logs when the offset check refuses a stale batch.
const STALE_BATCH_REFUSED: &str = "another instance owns a partition of this batch now";

/// A unique table name (identifiers keep to `[a-z0-9_]` so the harness's
/// own queries need no quoting rules).
fn table_name(scenario: &Scenario) -> String {
    scenario.unique("rows").replace('-', "_")
}

fn sink_spec(scenario: &Scenario, input: &str, group: &str, pg: &Postgres, table: &str) -> EoshostSpec {
    // --output is the sink's optional allow-list of the topics outputs may
    // name; identity names none.
    scenario.spec("identity", input, &["unused"], group).args([
        "--sink",
        "postgres",
        "--postgres-url",
        pg.url(),
        "--table",
        table,
    ])
}

/// Waits until the group's offsets reach the end of every partition.
fn wait_db_complete(
    scenario: &Scenario,
    pg: &Postgres,
    group: &str,
    input: &str,
    run: &mut Eoshost,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let end: i64 = scenario.broker().end_offsets(input)?.iter().sum();
    loop {
        let total = pg.committed_total(group).unwrap_or(0);
        if total >= end {
            return Ok(started.elapsed());
        }
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{} ended on its own ({exit}):\n{}", run.label(), run.stderr_tail(40));
        }
        anyhow::ensure!(started.elapsed() < timeout, "eoshost_offsets at {total} of {end} after {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Counts the table's rows against the inputs, and checks that each row
/// sits at its record's source partition and offset.
fn count_rows(scenario: &Scenario, pg: &Postgres, table: &str, seeded: &Seeded, kills: usize) -> anyhow::Result<Tally> {
    let rows = pg.sink_rows(table)?;
    let misplaced = rows
        .iter()
        .filter(|row| {
            row.number().is_none_or(|n| {
                let input = seeded.get(n);
                (input.partition, input.offset) != (row.partition, row.offset)
            })
        })
        .count();
    let tally = Tally::count(&seeded.all(), &rows).with_kills(kills);
    scenario.report(&format!("{tally}; rows at another source offset than their record's: {misplaced}"));
    anyhow::ensure!(misplaced == 0, "{misplaced} rows are not at their record's source partition and offset");
    Ok(tally)
}

#[test]
fn every_record_exactly_once_in_postgres_through_repeated_sigkills() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_sink_kills");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let partitions = 3;
    let input = scenario.topic("in", partitions)?;
    let table = table_name(&scenario);
    let group = scenario.unique("group");
    let minimum = scenario.scaled(20_000);
    let kills_wanted = env_number("EOSHOST_TEST_KILLS", 5.0) as usize;

    let feeder = Feeder::start(broker, &input, RecordPlan::new(64, partitions), minimum, scenario.scaled(1_000))?;
    let spec = sink_spec(&scenario, &input, &group, &pg, &table).fast_failure_detection();
    let mut kills = 0;
    while kills < kills_wanted {
        let mut run = scenario.spawn(&spec, "sink")?;
        let before = pg.committed_total(&group).unwrap_or(0);
        pg.wait_progress(&group, before, &mut run, FIRST_COMMIT)?;
        anyhow::ensure!(feeder.is_flowing(), "the feeder stopped before the kill phase ended");
        kill_mid_work(
            &scenario,
            &mut run,
            &format!("{before} offsets in the database before it, {} records fed", feeder.produced()),
        )?;
        kills += 1;
    }

    let seeded = feeder.finish()?;
    let mut last = scenario.spawn(&spec, "sink-final")?;
    wait_db_complete(&scenario, &pg, &group, &input, &mut last, Duration::from_secs(240))?;
    let took = stop_final_run(&mut last)?;
    scenario.report(&format!("fed {} records; final run stopped cleanly in {took:?}", seeded.len()));

    let tally = count_rows(&scenario, &pg, &table, &seeded, kills)?;
    tally.assert_exactly_once("postgres sink under repeated SIGKILL");
    assert!(seeded.len() as u64 >= minimum);
    pg.drop_tables(&[&table, &format!("{table}_dead_letters")]);
    Ok(())
}

#[test]
fn postgres_sink_throughput_and_exactly_once_on_a_backlog() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_sink_throughput");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let partitions = 3;
    let input = scenario.topic("in", partitions)?;
    let table = table_name(&scenario);
    let group = scenario.unique("group");
    let count = scenario.scaled(50_000);
    let seeded = Seeded::write(broker, &input, &RecordPlan::new(64, partitions), count)?;

    let spec = sink_spec(&scenario, &input, &group, &pg, &table).args(["--transaction-max-records", "5000"]);
    let mut run = scenario.spawn(&spec, "sink")?;
    // From the first committed batch on, so start-up and the group join are
    // not counted.
    let first = pg.wait_progress(&group, 0, &mut run, FIRST_BATCH)?;
    let elapsed = wait_db_complete(&scenario, &pg, &group, &input, &mut run, Duration::from_secs(240))?;
    let rate = (seeded.len() as i64 - first) as f64 / elapsed.as_secs_f64().max(0.001);
    scenario.report(&format!(
        "sink throughput: {} rows in {elapsed:.2?} after the first batch: {rate:.0} rows/s",
        seeded.len() as i64 - first
    ));
    run.terminate(Duration::from_secs(15))?;

    count_rows(&scenario, &pg, &table, &seeded, 0)?.assert_exactly_once("postgres sink on a backlog");
    pg.drop_tables(&[&table, &format!("{table}_dead_letters")]);
    Ok(())
}

#[test]
fn a_database_restart_mid_run_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_sink_db_restart");
    let broker = scenario.broker();
    // The one server this test may stop, also when EOSHOST_TEST_POSTGRES_URL
    // names another.
    let pg = Postgres::project_server()?;
    let partitions = 3;
    let input = scenario.topic("in", partitions)?;
    let table = table_name(&scenario);
    let group = scenario.unique("group");
    let feeder = Feeder::start(broker, &input, RecordPlan::new(64, partitions), scenario.scaled(8_000), scenario.scaled(1_000))?;
    let spec = sink_spec(&scenario, &input, &group, &pg, &table).fast_failure_detection();
    let mut run = scenario.spawn(&spec, "sink")?;
    pg.wait_progress(&group, 0, &mut run, FIRST_BATCH)?;

    let log_at_stop = run.stderr().len();
    pg.stop()?;
    let stopped_at = Instant::now();
    scenario.report("PostgreSQL stopped under the running sink");
    // The sink must notice while the database is down...
    let noticed = run.wait_for_stderr("a report of the database as unavailable", OUTAGE, |text| {
        text.get(log_at_stop..).is_some_and(|after| after.contains("pausing every partition"))
    });
    // ...and keep polling through the rest of the outage (time passing on
    // purpose: past the session).
    std::thread::sleep(OUTAGE.saturating_sub(stopped_at.elapsed()));
    let running = run.try_exit().is_none();
    pg.start()?;
    scenario.report(&format!("PostgreSQL started again after {:?}", stopped_at.elapsed()));
    noticed.map_err(|e| e.context("the sink did not report the database as unavailable while it was down"))?;
    anyhow::ensure!(running, "the sink exited while the database was down:\n{}", run.stderr_tail(40));

    let seeded = feeder.finish()?;
    wait_db_complete(&scenario, &pg, &group, &input, &mut run, Duration::from_secs(120))?;
    run.terminate(Duration::from_secs(15))?;
    count_rows(&scenario, &pg, &table, &seeded, 0)?.assert_exactly_once("postgres sink through a database restart");
    pg.drop_tables(&[&table, &format!("{table}_dead_letters")]);
    Ok(())
}

/// Waits until `run` (serving `/metrics` at `addr`) has just committed a
/// batch and holds records in the next one: frozen now, it keeps an open
/// batch whose offsets the database has not seen. Each input record is one
/// row (identity), so records consumed and not yet written are in the batch.
fn wait_batch_open(addr: &str, run: &mut Eoshost, commit_interval: Duration, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let (mut commits, mut committed_at) = (None, None::<Instant>);
    loop {
        if let Some(text) = scrape(addr) {
            let now = metric_sum(&text, "eoshost_transactions_committed_total");
            if commits.is_some_and(|before| now > before) {
                committed_at = Some(Instant::now());
            }
            commits = Some(now);
            let pending =
                metric_sum(&text, "eoshost_records_consumed_total") - metric_sum(&text, "eoshost_records_produced_total");
            // Within the first half of the batch's interval, so no commit
            // closes it before the freeze.
            if pending > 0.0 && committed_at.is_some_and(|at| at.elapsed() < commit_interval / 2) {
                return Ok(());
            }
        }
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{} ended on its own ({exit}):\n{}", run.label(), run.stderr_tail(40));
        }
        anyhow::ensure!(Instant::now() < deadline, "{} showed no fresh commit and open batch within {timeout:?}", run.label());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the group's offset row of every partition of `input` in the
/// database is past where it stood in `at`; fails when `run` ends.
fn wait_every_partition_beyond(
    pg: &Postgres,
    group: &str,
    input: &str,
    at: &BTreeMap<i32, i64>,
    partitions: i32,
    run: &mut Eoshost,
    timeout: Duration,
) -> anyhow::Result<BTreeMap<i32, i64>> {
    let deadline = Instant::now() + timeout;
    loop {
        let now = pg.committed_offsets(group, input)?;
        let behind: Vec<i32> =
            (0..partitions).filter(|p| now.get(p).is_none_or(|&next| at.get(p).is_some_and(|&then| next <= then))).collect();
        if behind.is_empty() {
            return Ok(now);
        }
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{} ended on its own ({exit}):\n{}", run.label(), run.stderr_tail(40));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "partitions {behind:?} not committed past {at:?} within {timeout:?} (now {now:?})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_zombie_sink_resumed_after_its_session_writes_nothing_twice() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_sink_zombie");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let partitions = 2;
    let input = scenario.topic("in", partitions)?;
    let table = table_name(&scenario);
    let group = scenario.unique("group");
    let feeder = Feeder::start(broker, &input, RecordPlan::new(16, partitions), scenario.scaled(8_000), scenario.scaled(1_000))?;
    let spec = sink_spec(&scenario, &input, &group, &pg, &table)
        .fast_failure_detection()
        .commit_interval_ms(ZOMBIE_COMMIT_INTERVAL.as_millis() as u64);
    let metrics_addr = free_local_addr()?;
    let mut zombie = scenario.spawn(&spec.clone().args(["--metrics-addr", &metrics_addr]), "zombie")?;
    pg.wait_progress(&group, 0, &mut zombie, FIRST_BATCH)?;
    wait_batch_open(&metrics_addr, &mut zombie, ZOMBIE_COMMIT_INTERVAL, NEXT_COMMIT)?;
    send_signal(&mut zombie, libc::SIGSTOP)?;
    let at_freeze = pg.committed_offsets(&group, &input)?;
    scenario.report(&format!("SIGSTOP the first sink with a batch open; eoshost_offsets then {at_freeze:?}"));

    // The successor gets every partition once the zombie's session expires,
    // and commits each past the offset the zombie's open batch starts at.
    let mut successor = scenario.spawn(&spec, "successor")?;
    let moved_on = wait_every_partition_beyond(&pg, &group, &input, &at_freeze, partitions, &mut successor, TAKEOVER)?;
    let log_at_thaw = zombie.stderr().len();
    send_signal(&mut zombie, libc::SIGCONT)?;
    scenario
        .report(&format!("the successor committed every partition past the zombie's batch ({moved_on:?}): SIGCONT the zombie"));
    // Its batch long overdue, the zombie commits at once: the offset check
    // must refuse it.
    zombie
        .wait_for_stderr(&format!("{STALE_BATCH_REFUSED:?} after SIGCONT"), THAWED_ZOMBIE_REFUSED, |text| {
            text.get(log_at_thaw..).is_some_and(|after| after.contains(STALE_BATCH_REFUSED))
        })
        .map_err(|e| e.context("the thawed zombie's stale batch was not refused by the offset check"))?;
    let refusal = zombie
        .stderr()
        .get(log_at_thaw..)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains(STALE_BATCH_REFUSED))
        .unwrap_or_default()
        .to_owned();
    scenario.report(&format!("the zombie's stale batch was refused by the offset check: {refusal}"));

    let seeded = feeder.finish()?;
    wait_db_complete(&scenario, &pg, &group, &input, &mut successor, Duration::from_secs(120))?;
    let _ = zombie.terminate(Duration::from_secs(15));
    successor.terminate(Duration::from_secs(15))?;
    count_rows(&scenario, &pg, &table, &seeded, 0)?.assert_exactly_once("postgres sink with a zombie");
    pg.drop_tables(&[&table, &format!("{table}_dead_letters")]);
    Ok(())
}

#[test]
fn bad_database_settings_are_named_at_start() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_sink_bad_inputs");
    let pg = Postgres::get()?;
    let input = scenario.topic("in", 1)?;
    let group = scenario.unique("group");

    // Unreachable: nothing listens on port 1.
    let unreachable = scenario
        .spec("identity", &input, &["unused"], &group)
        .args(["--sink", "postgres", "--postgres-url", "postgres://nobody@127.0.0.1:1/none", "--table", "t"])
        .args(["--connect-timeout-ms", "1500"]);
    let mut run = scenario.spawn(&unreachable, "unreachable")?;
    let exit = run.wait_exit(EXIT_AT_START);
    let stderr = run.stderr();
    scenario.report(&format!("unreachable database: {exit:?}"));
    anyhow::ensure!(exit.and_then(|e| e.code()) == Some(1), "unreachable database: {exit:?}\n{stderr}");
    anyhow::ensure!(stderr.contains("127.0.0.1:1") && stderr.contains("scripts/postgres start"), "{stderr}");

    // A table of another shape: exit 2, naming the difference.
    let table = table_name(&scenario);
    pg.client()?.batch_execute(&format!("CREATE TABLE \"{table}\" (id bigint primary key, value text)"))?;
    let wrong = sink_spec(&scenario, &input, &group, &pg, &table);
    let mut run = scenario.spawn(&wrong, "wrong-shape")?;
    let exit = run.wait_exit(EXIT_AT_START);
    let stderr = run.stderr();
    scenario.report(&format!("wrong table shape: {exit:?}"));
    anyhow::ensure!(exit.and_then(|e| e.code()) == Some(2), "wrong table shape: {exit:?}\n{stderr}");
    anyhow::ensure!(stderr.contains("another shape") && stderr.contains("no column source_topic"), "{stderr}");
    pg.drop_tables(&[&table, &format!("{table}_dead_letters")]);
    Ok(())
}
