//! `eoshost relay` against the real broker and a real PostgreSQL server:
//! several writers insert outbox rows in transactions that stay open for
//! random times (and sometimes roll back), while the relay is SIGKILLed at
//! random moments and restarted — once as two relays started at once, of
//! which one must be fenced. Then a read_committed reader counts the output
//! topic against the rows that committed: each exactly once, no rolled-back
//! row, none lost. A plugin that takes batches gets the rows of a batch in
//! one call, and a row that traps is found and skipped alone.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eoshost_tests::faults::{kill_mid_work, stop_final_run};
use eoshost_tests::timeouts::{ALL_COMMITTED_SOON, EXIT_AT_START, FIRST_BATCH, FIRST_COMMIT, RELAY_FENCED};
use eoshost_tests::{Eoshost, Isolation, Postgres, Scenario, Tally, env_number, unique_suffix};

struct Outbox {
    table: String,
    output: String,
    progress: String,
}

impl Outbox {
    fn create(scenario: &Scenario, pg: &Postgres, partitions: i32) -> anyhow::Result<Outbox> {
        let table = format!("outbox_{}", unique_suffix());
        pg.client()?.batch_execute(&format!(
            "CREATE TABLE \"{table}\" (id bigserial primary key, topic text null, key bytea, value bytea, headers jsonb, \
             created_at timestamptz default now())"
        ))?;
        let output = scenario.topic("out", partitions)?;
        // Created by the relay itself (compacted, one partition).
        let progress = scenario.topic_created_by_eoshost("progress");
        Ok(Outbox { table, output, progress })
    }

    fn relay_args(&self, pg: &Postgres, scenario: &Scenario) -> Vec<String> {
        [
            "relay",
            "--postgres-url",
            pg.url(),
            "--outbox-table",
            &self.table,
            "--output",
            &self.output,
            "--progress-topic",
            &self.progress,
            "--bootstrap-servers",
            scenario.broker().bootstrap(),
            "--batch-rows",
            "500",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

fn order(n: u64) -> String {
    format!(r#"{{"order_id":"o-{n}"}}"#)
}

/// Writers inserting numbered rows in transactions held open for random
/// times; one in ten rolls back. The numbers that committed are kept.
struct Writers {
    stop: Arc<AtomicBool>,
    committed: Arc<Mutex<BTreeSet<u64>>>,
    threads: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl Writers {
    fn start(pg: &Postgres, table: &str, writers: usize) -> anyhow::Result<Writers> {
        let stop = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(Mutex::new(BTreeSet::new()));
        let next = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for writer in 0..writers {
            let (stop, committed, next) = (stop.clone(), committed.clone(), next.clone());
            let mut client = pg.client()?;
            let insert = format!("INSERT INTO \"{table}\" (key, value, headers) VALUES ($1, $2, $3::text::jsonb)");
            let mut random = 0x9E37_79B9_7F4A_7C15u64 ^ ((writer as u64 + 1) * 0x1234_5678);
            threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
                let mut roll = move || {
                    random ^= random << 13;
                    random ^= random >> 7;
                    random ^= random << 17;
                    random
                };
                while !stop.load(Ordering::SeqCst) {
                    let mut txn = client.transaction()?;
                    let mut numbers = Vec::new();
                    for _ in 0..1 + roll() % 5 {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        // Keys of one writer only: its transactions commit
                        // one after another, so per-key order is checkable.
                        let key = format!("w{writer}-{}", n % 4).into_bytes();
                        let headers = format!(r#"[{{"key":"writer","value":"{writer}"}}]"#);
                        txn.execute(&insert, &[&key, &order(n).into_bytes(), &headers])?;
                        numbers.push(n);
                    }
                    // Open for 0–300 ms: later ids often commit first.
                    std::thread::sleep(Duration::from_millis(roll() % 300));
                    if roll() % 10 == 0 {
                        txn.rollback()?;
                    } else {
                        txn.commit()?;
                        committed.lock().unwrap_or_else(|p| p.into_inner()).extend(numbers);
                    }
                }
                Ok(())
            }));
        }
        Ok(Writers { stop, committed, threads })
    }

    fn committed(&self) -> usize {
        self.committed.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn finish(self) -> anyhow::Result<BTreeSet<u64>> {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            thread.join().map_err(|_| anyhow::anyhow!("a writer panicked"))??;
        }
        Ok(self.committed.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// Waits until the output topic grows past `beyond` records (committed or
/// not: a progress signal only).
fn wait_published(scenario: &Scenario, topic: &str, beyond: i64, run: &mut Eoshost, timeout: Duration) -> anyhow::Result<i64> {
    let deadline = Instant::now() + timeout;
    loop {
        let end: i64 = scenario.broker().end_offsets(topic)?.iter().sum();
        if end > beyond {
            return Ok(end);
        }
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{} ended on its own ({exit}):\n{}", run.label(), run.stderr_tail(40));
        }
        anyhow::ensure!(Instant::now() < deadline, "nothing published past {beyond} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_outbox_row_exactly_once_through_sigkills_concurrent_writers_and_two_relays() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_relay_kills");
    let pg = Postgres::get()?;
    let outbox = Outbox::create(&scenario, &pg, 3)?;
    let kills_wanted = env_number("EOSHOST_TEST_KILLS", 5.0) as usize;
    let writers = Writers::start(&pg, &outbox.table, 4)?;
    let args = outbox.relay_args(&pg, &scenario);

    let mut kills = 0;
    let mut fenced = false;
    while kills < kills_wanted {
        let mut run = scenario.spawn_args(&args, "relay")?;
        if kills == 1 && !fenced {
            // Two relays on the same table at once: the later
            // init_transactions fences the earlier, which must stop.
            let mut twin = scenario.spawn_args(&args, "relay-twin")?;
            let deadline = Instant::now() + RELAY_FENCED;
            let (loser, winner) = loop {
                if run.try_exit().is_some() {
                    break (run, twin);
                }
                if twin.try_exit().is_some() {
                    break (twin, run);
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "neither of two relays on one table was fenced within {RELAY_FENCED:?}"
                );
                std::thread::sleep(Duration::from_millis(100));
            };
            let mut loser = loser;
            let exit = loser.try_exit();
            let stderr = loser.stderr();
            scenario.report(&format!("two relays at once: {} ended ({exit:?}), {} goes on", loser.label(), winner.label()));
            anyhow::ensure!(exit.and_then(|e| e.code()) == Some(1), "the fenced relay: {exit:?}\n{stderr}");
            anyhow::ensure!(stderr.contains("took over"), "the fenced relay does not say why it stopped:\n{stderr}");
            fenced = true;
            run = winner;
        }
        let before: i64 = scenario.broker().end_offsets(&outbox.output)?.iter().sum();
        wait_published(&scenario, &outbox.output, before, &mut run, FIRST_COMMIT)?;
        kill_mid_work(&scenario, &mut run, &format!("{} rows committed by the writers so far", writers.committed()))?;
        kills += 1;
    }

    let committed = writers.finish()?;
    let mut last = scenario.spawn_args(&args, "relay-final")?;
    pg.wait_outbox_drained(&outbox.table, &mut last, Duration::from_secs(180))?;
    let took = stop_final_run(&mut last)?;
    scenario.report(&format!("{} rows committed by the writers; final relay stopped cleanly in {took:?}", committed.len()));

    let records = scenario.broker().read_topic(&outbox.output, Isolation::Committed, committed.len())?;
    let tally = Tally::count(&committed, &records).with_kills(kills);
    scenario.report(&tally.to_string());
    tally.assert_exactly_once("outbox relay under SIGKILL with concurrent writers");
    assert!(fenced);
    pg.drop_tables(&[&outbox.table]);
    Ok(())
}

#[test]
fn relay_throughput_and_exactly_once_on_a_backlog() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_relay_throughput");
    let pg = Postgres::get()?;
    let outbox = Outbox::create(&scenario, &pg, 3)?;
    let count = scenario.scaled(50_000);
    pg.client()?.execute(
        &format!(
            "INSERT INTO \"{}\" (key, value) SELECT convert_to('k' || (n % 16), 'UTF8'), \
             convert_to('{{\"order_id\":\"o-' || n || '\"}}', 'UTF8') FROM generate_series(0::bigint, $1::bigint - 1) AS n",
            outbox.table
        ),
        &[&(count as i64)],
    )?;
    let mut run = scenario.spawn_args(&outbox.relay_args(&pg, &scenario), "relay")?;
    let first = wait_published(&scenario, &outbox.output, 0, &mut run, FIRST_BATCH)?;
    let elapsed = pg.wait_outbox_drained(&outbox.table, &mut run, Duration::from_secs(240))?;
    let rate = (count as i64 - first) as f64 / elapsed.as_secs_f64().max(0.001);
    scenario.report(&format!(
        "relay throughput: {} rows in {elapsed:.2?} after the first batch: {rate:.0} rows/s",
        count as i64 - first
    ));
    run.terminate(Duration::from_secs(15))?;

    let expected: BTreeSet<u64> = (0..count).collect();
    let records = scenario.broker().read_topic(&outbox.output, Isolation::Committed, expected.len())?;
    let tally = Tally::count(&expected, &records);
    scenario.report(&tally.to_string());
    tally.assert_exactly_once("outbox relay on a backlog");
    pg.drop_tables(&[&outbox.table]);
    Ok(())
}

/// Rows are read in the order of their transaction ids as numbers. Ids
/// that cross a power of ten (9 to 10 here, as a real database crosses
/// 9,999 to 10,000) once came out sorted as text, "10" before "9": rows
/// were published out of order, and a full batch that ended inside the
/// range moved the cursor past rows it had not read, which were then lost.
#[test]
fn rows_are_relayed_in_transaction_id_order_across_a_power_of_ten() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_relay_xid_order");
    let pg = Postgres::get()?;
    let outbox = Outbox::create(&scenario, &pg, 1)?;
    // The relay's column, filled by hand as if transactions 8, 9, 10 and 11
    // had written one row each: all below the horizon of any real server.
    pg.client()?.batch_execute(&format!(
        "ALTER TABLE \"{table}\" ADD COLUMN eoshost_xid xid8 NOT NULL DEFAULT pg_current_xact_id(); \
         INSERT INTO \"{table}\" (key, value, eoshost_xid) SELECT convert_to('k', 'UTF8'), \
         convert_to('{{\"order_id\":\"o-' || n || '\"}}', 'UTF8'), (n + 8)::text::xid8 FROM generate_series(0, 3) AS n",
        table = outbox.table
    ))?;
    let mut args = outbox.relay_args(&pg, &scenario);
    // Two rows a batch: the first batch ends inside the range.
    let batch_rows = args.iter().position(|a| a == "--batch-rows").expect("relay_args sets --batch-rows") + 1;
    args[batch_rows] = "2".to_owned();
    let mut run = scenario.spawn_args(&args, "relay")?;
    pg.wait_outbox_drained(&outbox.table, &mut run, ALL_COMMITTED_SOON)?;
    run.terminate(Duration::from_secs(15))?;

    let expected: BTreeSet<u64> = (0..4).collect();
    let records = scenario.broker().read_topic(&outbox.output, Isolation::Committed, expected.len())?;
    let published: Vec<u64> = records.iter().filter_map(|r| r.number()).collect();
    scenario.report(&format!("published in this order: {published:?}"));
    let tally = Tally::count(&expected, &records);
    scenario.report(&tally.to_string());
    tally.assert_exactly_once("outbox rows across a power of ten of their transaction ids");
    assert_eq!(published, [0, 1, 2, 3], "rows must be published in transaction-id order");
    pg.drop_tables(&[&outbox.table]);
    Ok(())
}

#[test]
fn a_plugin_that_takes_batches_publishes_every_row_once_and_a_trapping_row_is_skipped_alone() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_relay_batch_plugin");
    let pg = Postgres::get()?;
    let outbox = Outbox::create(&scenario, &pg, 1)?;
    pg.client()?.batch_execute(&format!(
        "INSERT INTO \"{table}\" (key, value) SELECT convert_to('k', 'UTF8'), \
         convert_to('{{\"order_id\":\"o-' || n || '\"}}', 'UTF8') FROM generate_series(0, 59) AS n",
        table = outbox.table
    ))?;
    // chaos-py (world batch-transformer) gets each batch of 500 rows in one
    // call; the call traps on row 17, which then traps alone, twice, and is
    // skipped; every other row is published once, in order.
    let mut args = outbox.relay_args(&pg, &scenario);
    let plugin = eoshost_tests::plugin_path("chaos-py");
    let trap_on = format!("trap_on_value={}", order(17));
    args.extend(
        [
            "--plugin",
            plugin.to_str().expect("UTF-8 path"),
            "--plugin-config",
            &trap_on,
            "--on-error",
            "skip",
            "--max-retries",
            "1",
        ]
        .map(String::from),
    );
    let mut run = scenario.spawn_args(&args, "relay")?;
    pg.wait_outbox_drained(&outbox.table, &mut run, ALL_COMMITTED_SOON)?;
    run.terminate(Duration::from_secs(15))?;
    let log = run.stderr();
    assert!(log.contains("transform-batch trapped"), "the rows must have gone to the plugin in a batch first:\n{log}");

    let expected: BTreeSet<u64> = (0..60).filter(|n| *n != 17).collect();
    let records = scenario.broker().read_topic(&outbox.output, Isolation::Committed, expected.len())?;
    let published: Vec<u64> = records.iter().filter_map(|r| r.number()).collect();
    let tally = Tally::count(&expected, &records);
    scenario.report(&tally.to_string());
    tally.assert_exactly_once("outbox rows through a plugin that takes batches");
    assert_eq!(published, expected.iter().copied().collect::<Vec<_>>(), "rows must be published in order, row 17 skipped");
    pg.drop_tables(&[&outbox.table]);
    Ok(())
}

#[test]
fn a_missing_outbox_table_is_named_at_start() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_relay_bad_inputs");
    let pg = Postgres::get()?;
    let output = scenario.topic("out", 1)?;
    let args: Vec<String> = ["relay", "--postgres-url", pg.url(), "--outbox-table", "no_such_outbox", "--output", &output]
        .iter()
        .map(|s| s.to_string())
        .chain(["--bootstrap-servers".to_owned(), scenario.broker().bootstrap().to_owned()])
        .collect();
    let mut run = scenario.spawn_args(&args, "missing-table")?;
    let exit = run.wait_exit(EXIT_AT_START);
    let stderr = run.stderr();
    scenario.report(&format!("missing outbox table: {exit:?}"));
    anyhow::ensure!(exit.and_then(|e| e.code()) == Some(2), "missing outbox table: {exit:?}\n{stderr}");
    anyhow::ensure!(stderr.contains("\"no_such_outbox\" does not exist; create it"), "{stderr}");
    Ok(())
}
