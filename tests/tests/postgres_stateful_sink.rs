//! Stateful plugins in `--sink postgres --columns auto`, against the real
//! broker and a real PostgreSQL server (`scripts/postgres`). The plugin's
//! state lives in `eoshost_state`, written in the same database transaction
//! as the rows and the offsets, and read back with the offsets when
//! partitions are assigned. So while two sink instances are SIGKILLed
//! mid-stream and started again — at once, or after the other one took
//! their partitions over — a count kept in `counter`'s state lands exactly
//! (an at-least-once sink counts a redelivered record again: the count is
//! the plugin's state, not the offset), and `dedup` in front of a table
//! without a key inserts every distinct order once (a redelivered order, or
//! a repeat whose sighting was lost, would be an extra row). A chain
//! (`dedup`, then `counter`) runs in the sink too, each plugin's state apart.
//!
//! Records are fed at a steady rate in segments, the next queued right
//! after each kill, so records flow through every kill and repeats of ids
//! seen before a kill arrive after it. The file runs in about a minute.
//! Every test makes its own tables (`<role>_<unique>`) and, when it passes,
//! drops them and the group's rows of `eoshost_state` and `eoshost_offsets`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use eoshost_tests::faults::{kill_mid_work, plain_tail, stop_cleanly};
use eoshost_tests::timeouts::{ALL_COMMITTED, EXIT_AFTER_SIGTERM, FIRST_COMMIT, NEXT_COMMIT, TAKEOVER_AFTER_SIGKILL};
use eoshost_tests::{Broker, Eoshost, EoshostSpec, Postgres, Scenario, plugin_path, unique_suffix};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

const PARTITIONS: i32 = 6;
/// Sink instances sharing the group (dynamic membership: every restart
/// moves partitions).
const MEMBERS: usize = 2;
/// SIGKILLs per run; the records come in `KILLS + 1` segments.
const KILLS: usize = 3;
/// How the sink names its state table (docs/postgresql.md).
const STATE_TABLE: &str = "eoshost_state";

/// One record for the input topic.
struct Record {
    partition: i32,
    key: String,
    value: String,
}

/// Writes segments of records in the background at a steady rate, one
/// after the other, while the test kills and restarts the sink.
struct SegmentFeeder {
    segments: Option<mpsc::Sender<Vec<Record>>>,
    sent: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl SegmentFeeder {
    fn start(broker: &Broker, topic: &str, per_second: u64) -> anyhow::Result<SegmentFeeder> {
        let producer: BaseProducer = broker
            .config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .create()
            .context("creating the test producer")?;
        let (segments, queued) = mpsc::channel::<Vec<Record>>();
        let sent = Arc::new(AtomicU64::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let (counter, cancelled, topic) = (sent.clone(), cancel.clone(), topic.to_owned());
        let tick = Duration::from_millis(50);
        let per_tick = (per_second / 20).max(1) as usize;
        let thread = std::thread::Builder::new().name("segment-feeder".into()).spawn(move || {
            for segment in queued {
                let mut next_tick = Instant::now();
                for chunk in segment.chunks(per_tick) {
                    anyhow::ensure!(!cancelled.load(Ordering::SeqCst), "feeder cancelled");
                    for record in chunk {
                        send(&producer, &topic, record)?;
                    }
                    producer.poll(Duration::ZERO);
                    counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                    next_tick += tick;
                    if let Some(wait) = next_tick.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
            }
            producer.flush(Duration::from_secs(30)).with_context(|| format!("flushing records to {topic}"))
        })?;
        Ok(SegmentFeeder { segments: Some(segments), sent, cancel, thread: Some(thread) })
    }

    /// Queues `segment` behind those not written yet.
    fn push(&self, segment: Vec<Record>) -> anyhow::Result<()> {
        let segments = self.segments.as_ref().context("the feeder is finished")?;
        segments.send(segment).map_err(|_| anyhow::anyhow!("the feeder thread has ended"))
    }

    /// Records handed to the producer so far.
    fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Writes what is queued, flushes, and fails when the thread did.
    fn finish(mut self) -> anyhow::Result<u64> {
        self.segments = None;
        let thread = self.thread.take().context("feeder already finished")?;
        match thread.join() {
            Ok(result) => result.map(|()| self.sent()),
            Err(_) => anyhow::bail!("the feeder thread panicked"),
        }
    }
}

impl Drop for SegmentFeeder {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
        self.segments = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn send(producer: &BaseProducer, topic: &str, record: &Record) -> anyhow::Result<()> {
    let mut message = BaseRecord::to(topic).partition(record.partition).key(&record.key).payload(&record.value);
    loop {
        match producer.send(message) {
            Ok(()) => return Ok(()),
            Err((error, back)) if error.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                message = back;
                producer.poll(Duration::from_millis(10));
            }
            Err((error, _)) => anyhow::bail!("producing to {topic}: {error}"),
        }
    }
}

/// A random index below `n` (the scenario's seeded source, so
/// `EOSHOST_TEST_SEED` replays a run).
fn pick(scenario: &Scenario, n: usize) -> usize {
    (scenario.random_ms(0, n as u64).as_millis() as usize).min(n - 1)
}

fn shuffle<T>(scenario: &Scenario, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, pick(scenario, i + 1));
    }
}

/// `prefix_<unique>`: a table name of `[a-z0-9_]`, so no query needs quoting.
fn table_name(prefix: &str) -> String {
    format!("{prefix}_{}", unique_suffix())
}

/// The sink with `--columns auto` into `table`, on dynamic membership and a
/// 6 s session, so that a SIGKILLed member's partitions move in seconds.
fn sink_spec(scenario: &Scenario, plugin: &str, input: &str, group: &str, pg: &Postgres, table: &str) -> EoshostSpec {
    // --output is the sink's optional allow-list; the plugins name no topic.
    scenario.spec(plugin, input, &["unused"], group).fast_failure_detection().args(["--static-membership", "off"]).args([
        "--sink",
        "postgres",
        "--postgres-url",
        pg.url(),
        "--table",
        table,
        "--columns",
        "auto",
    ])
}

/// Fails when one of `runs` has ended: they should all be working.
fn check_running(runs: &mut [&mut Eoshost]) -> anyhow::Result<()> {
    for run in runs.iter_mut() {
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{} ended on its own ({exit}):\n{}", run.label(), plain_tail(run, 40));
        }
    }
    Ok(())
}

/// Every member but `except` (one just killed).
fn alive(members: &mut [Eoshost], except: Option<usize>) -> Vec<&mut Eoshost> {
    members.iter_mut().enumerate().filter(|(i, _)| Some(*i) != except).map(|(_, run)| run).collect()
}

/// Waits until the group's offsets in the database sum past `beyond`.
fn wait_db_progress(
    pg: &Postgres,
    group: &str,
    beyond: i64,
    runs: &mut [&mut Eoshost],
    timeout: Duration,
) -> anyhow::Result<i64> {
    let deadline = Instant::now() + timeout;
    loop {
        let total = pg.committed_total(group).unwrap_or(0);
        if total > beyond {
            return Ok(total);
        }
        check_running(runs)?;
        anyhow::ensure!(Instant::now() < deadline, "no progress in eoshost_offsets past {beyond} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the group's offset of every partition of `input` is past
/// where `at` has it (a partition absent from `at` must just have a row).
fn wait_every_partition_beyond(
    pg: &Postgres,
    group: &str,
    input: &str,
    at: &BTreeMap<i32, i64>,
    runs: &mut [&mut Eoshost],
    timeout: Duration,
) -> anyhow::Result<BTreeMap<i32, i64>> {
    let deadline = Instant::now() + timeout;
    loop {
        let now = pg.committed_offsets(group, input)?;
        let behind: Vec<i32> =
            (0..PARTITIONS).filter(|p| now.get(p).is_none_or(|&next| at.get(p).is_some_and(|&then| next <= then))).collect();
        if behind.is_empty() {
            return Ok(now);
        }
        check_running(runs)?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "partitions {behind:?} not committed past {at:?} within {timeout:?} (now {now:?})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `eoshost_offsets` holds the end of every partition of `input`.
fn wait_db_complete(
    pg: &Postgres,
    broker: &Broker,
    group: &str,
    input: &str,
    runs: &mut [&mut Eoshost],
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let end = broker.end_offsets(input)?;
    loop {
        let committed = pg.committed_offsets(group, input).unwrap_or_default();
        if end.iter().enumerate().all(|(p, &end)| end == 0 || committed.get(&(p as i32)).is_some_and(|&next| next >= end)) {
            return Ok(started.elapsed());
        }
        check_running(runs)?;
        anyhow::ensure!(
            started.elapsed() < timeout,
            "eoshost_offsets at {committed:?}, the input's end at {end:?}, after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What the kill phase did.
struct KillPhase {
    kills: usize,
    /// Kills after which the other member committed every partition, the
    /// killed one's included, before the killed one came back.
    takeovers: usize,
}

/// Starts [`MEMBERS`] instances of `spec` and feeds `segments`; before
/// each segment but the first is queued, a member (in turn) is SIGKILLed
/// mid-work, while the segment before is written (each lasts about as long
/// as a round of the kill phase). The member is started again at once, or
/// — the second kill always, the others by chance — only after the
/// survivor alone has committed every partition past where the database
/// stood at the kill. Either way the round ends when every partition, the
/// dead member's included (read again with their state by their new
/// owner), has been committed past that point. Returns the members, still
/// running.
fn feed_through_kills(
    scenario: &Scenario,
    pg: &Postgres,
    spec: &EoshostSpec,
    input: &str,
    feeder: &SegmentFeeder,
    segments: Vec<Vec<Record>>,
) -> anyhow::Result<(Vec<Eoshost>, KillPhase)> {
    let group = spec.group().to_owned();
    let mut members: Vec<Eoshost> =
        (0..MEMBERS).map(|i| scenario.spawn(spec, &format!("member{i}"))).collect::<anyhow::Result<_>>()?;
    let mut segments = segments.into_iter();
    feeder.push(segments.next().context("no records to feed")?)?;
    wait_db_progress(pg, &group, 0, &mut alive(&mut members, None), FIRST_COMMIT)?;
    let mut phase = KillPhase { kills: 0, takeovers: 0 };
    for (k, segment) in segments.enumerate() {
        let before = pg.committed_total(&group)?;
        // When the sink has caught up with every record fed, nothing would
        // move: the next segment is queued first, and the kill lands while
        // it is written.
        let caught_up = u64::try_from(before).unwrap_or(0) >= feeder.sent();
        let mut segment = Some(segment);
        if caught_up {
            feeder.push(segment.take().expect("queued once"))?;
        }
        let now = wait_db_progress(pg, &group, before, &mut alive(&mut members, None), NEXT_COMMIT)?;
        let i = k % MEMBERS;
        kill_mid_work(scenario, &mut members[i], &format!("{now} offsets in the database, {} records fed", feeder.sent()))?;
        phase.kills += 1;
        let at_kill = pg.committed_offsets(&group, input)?;
        if let Some(segment) = segment {
            feeder.push(segment)?;
        }
        let takeover = k == 1 || scenario.chance(25);
        if takeover {
            phase.takeovers += 1;
            let survivors = &mut alive(&mut members, Some(i));
            let moved_on = wait_every_partition_beyond(pg, &group, input, &at_kill, survivors, TAKEOVER_AFTER_SIGKILL)?;
            scenario.report(&format!("the other member alone committed every partition past {at_kill:?}: {moved_on:?}"));
        }
        members[i] = scenario.spawn(spec, &format!("member{i}"))?;
        if !takeover {
            let moved_on =
                wait_every_partition_beyond(pg, &group, input, &at_kill, &mut alive(&mut members, None), TAKEOVER_AFTER_SIGKILL)?;
            scenario.report(&format!("after the restart, every partition committed past {at_kill:?}: {moved_on:?}"));
        }
    }
    Ok((members, phase))
}

/// Lets the last segment be written and the group commit it all, then
/// stops every member with SIGTERM (exit code 0 expected).
fn drain_and_stop(
    scenario: &Scenario,
    pg: &Postgres,
    group: &str,
    input: &str,
    feeder: SegmentFeeder,
    members: &mut [Eoshost],
    expected: u64,
) -> anyhow::Result<()> {
    let fed = feeder.finish()?;
    let end: i64 = scenario.broker().end_offsets(input)?.iter().sum();
    anyhow::ensure!(fed == expected && end == expected as i64, "fed {fed} records, the input ends at {end}, {expected} planned");
    let took = wait_db_complete(pg, scenario.broker(), group, input, &mut alive(members, None), ALL_COMMITTED)?;
    scenario.report(&format!("fed {fed} records; all committed {took:?} after the last was written"));
    let problems: Vec<String> = members.iter_mut().filter_map(|run| stop_cleanly(run, EXIT_AFTER_SIGTERM).err()).collect();
    anyhow::ensure!(problems.is_empty(), "members did not stop cleanly:\n{}", problems.join("\n"));
    Ok(())
}

/// How often a sink instance logged `needle`, over every log of the test.
fn log_mentions(scenario: &Scenario, needle: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(scenario.log_dir()) else { return 0 };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "stderr"))
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .map(|text| text.matches(needle).count())
        .sum()
}

/// One row of the state table.
struct StateRow {
    topic: String,
    partition: i32,
    plugin: String,
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Rows of the group in the state table.
fn state_rows(pg: &Postgres, group: &str) -> anyhow::Result<Vec<StateRow>> {
    let rows = pg
        .client()?
        .query(&format!("SELECT topic, partition, plugin, key, value FROM {STATE_TABLE} WHERE group_id = $1"), &[&group])
        .with_context(|| format!("reading {STATE_TABLE}"))?;
    Ok(rows
        .iter()
        .map(|row| StateRow { topic: row.get(0), partition: row.get(1), plugin: row.get(2), key: row.get(3), value: row.get(4) })
        .collect())
}

/// The plugins that have rows in the state table.
fn state_plugins(state: &[StateRow]) -> BTreeSet<&str> {
    state.iter().map(|row| row.plugin.as_str()).collect()
}

/// Drops the test's tables and the group's rows of the sink's own tables.
fn clean_up(pg: &Postgres, group: &str, tables: &[&str]) {
    let dead_letters: Vec<String> = tables.iter().map(|table| format!("{table}_dead_letters")).collect();
    let all: Vec<&str> = tables.iter().copied().chain(dead_letters.iter().map(String::as_str)).collect();
    pg.drop_tables(&all);
    if let Ok(mut client) = pg.client() {
        let _ = client.execute(&format!("DELETE FROM {STATE_TABLE} WHERE group_id = $1"), &[&group]);
        let _ = client.execute("DELETE FROM eoshost_offsets WHERE group_id = $1", &[&group]);
    }
}

/// Up to 10 of `items`, one a line.
fn samples(items: &[String]) -> String {
    items.iter().take(10).map(|s| format!("  {s}")).collect::<Vec<_>>().join("\n")
}

const COUNTER_KEYS: usize = 50;

fn counter_key(k: usize) -> String {
    format!("c{k:02}")
}

#[test]
fn counts_kept_in_plugin_state_land_exactly_while_sink_instances_are_killed() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_stateful_counter");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let input = scenario.topic("in", PARTITIONS)?;
    let group = scenario.unique("group");
    let table = table_name("counts");
    pg.client()?.batch_execute(&format!("CREATE TABLE {table} (key text PRIMARY KEY, count bigint NOT NULL)"))?;

    // Records over 50 keys, a few of them hot, so the counts differ; each
    // key on one partition, as the counts are per partition.
    let total = scenario.scaled(6_000) as usize;
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    let records: Vec<Record> = (0..total)
        .map(|n| {
            let k = if scenario.chance(30) { pick(&scenario, 5) } else { pick(&scenario, COUNTER_KEYS) };
            *expected.entry(counter_key(k)).or_default() += 1;
            Record { partition: (k % PARTITIONS as usize) as i32, key: counter_key(k), value: format!(r#"{{"n":{n}}}"#) }
        })
        .collect();
    let per_segment = total.div_ceil(KILLS + 1);
    // About 6 s a segment, a round of the kill phase.
    let per_second = (per_segment / 6) as u64;
    let mut segments: Vec<Vec<Record>> = Vec::new();
    let mut records = records.into_iter().peekable();
    while records.peek().is_some() {
        segments.push(records.by_ref().take(per_segment).collect());
    }

    let spec = sink_spec(&scenario, "counter", &input, &group, &pg, &table).plugin_config("format=json").args([
        "--write",
        "upsert",
        "--key-columns",
        "key",
    ]);
    let feeder = SegmentFeeder::start(broker, &input, per_second)?;
    let (mut members, phase) = feed_through_kills(&scenario, &pg, &spec, &input, &feeder, segments)?;
    drain_and_stop(&scenario, &pg, &group, &input, feeder, &mut members, total as u64)?;

    // Every key's count is its number of inputs: no record counted twice
    // (a redelivery after a kill), none missed (state lost or not read back).
    let rows = pg.client()?.query(&format!("SELECT key, count FROM {table}"), &[])?;
    let counted: BTreeMap<String, i64> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let mut wrong = Vec::new();
    let (mut over, mut under) = (0, 0);
    for key in expected.keys().chain(counted.keys()).collect::<BTreeSet<_>>() {
        let (want, got) = (expected.get(key).copied().unwrap_or(0), counted.get(key).copied().unwrap_or(0));
        if want != got {
            if got > want {
                over += 1
            } else {
                under += 1
            }
            wrong.push(format!("key {key}: count {got}, {want} inputs"));
        }
    }

    // The state: one row per key for the group, the count in ASCII, on the
    // key's partition.
    let state_count: i64 =
        pg.client()?.query_one(&format!("SELECT count(*) FROM {STATE_TABLE} WHERE group_id = $1"), &[&group])?.get(0);
    let state = state_rows(&pg, &group)?;
    let plugins = state_plugins(&state);
    let mut wrong_state = Vec::new();
    for StateRow { topic, partition, key, value, .. } in &state {
        let key = String::from_utf8_lossy(key).into_owned();
        let value = String::from_utf8_lossy(value).into_owned();
        let want = expected.get(&key).map(|n| n.to_string());
        let key_partition = key.strip_prefix('c').and_then(|k| k.parse::<usize>().ok()).map(|k| (k % PARTITIONS as usize) as i32);
        if topic != &input || want.as_deref() != Some(value.as_str()) || key_partition != Some(*partition) {
            wrong_state
                .push(format!("{topic}/{partition} key {key:?} = {value:?} (expected {want:?} on partition {key_partition:?})"));
        }
    }
    let dead_letters = pg.count(&format!("{table}_dead_letters"))?;
    scenario.report(&format!(
        "SUMMARY postgres_stateful_counter records={total} keys={} rows={} wrong_counts={} over={over} under={under} \
         state_rows={state_count} state_plugins={plugins:?} wrong_state={} dead_letters={dead_letters} kills={} \
         takeovers={} assignments_logged={}",
        expected.len(),
        counted.len(),
        wrong.len(),
        wrong_state.len(),
        phase.kills,
        phase.takeovers,
        log_mentions(&scenario, "starting at the database's offsets"),
    ));
    assert!(wrong.is_empty(), "counts in {table} are not exactly the inputs per key:\n{}", samples(&wrong));
    assert_eq!(state_count, expected.len() as i64, "{STATE_TABLE} rows of group {group}, against the keys");
    assert!(wrong_state.is_empty(), "{STATE_TABLE} rows that are not the key's count:\n{}", samples(&wrong_state));
    assert_eq!(dead_letters, 0, "no record should be rejected");
    clean_up(&pg, &group, &[&table]);
    Ok(())
}

/// A row of the order log: `customer_id`, `amount_cents`.
type OrderRow = (Option<String>, Option<i64>);

/// Order `i`: its id, and the row it must become.
fn order(i: usize) -> (String, String, i64) {
    (format!("o-{i}"), format!("c-{}", i % 37), 100 + (i as i64 * 7_919) % 100_000)
}

fn order_value(i: usize) -> String {
    let (id, customer, amount) = order(i);
    format!(r#"{{"order_id":"{id}","customer_id":"{customer}","amount_cents":{amount}}}"#)
}

#[test]
fn dedup_in_the_sink_inserts_each_order_once_into_a_table_without_a_key_while_instances_are_killed() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_stateful_dedup");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let input = scenario.topic("in", PARTITIONS)?;
    let group = scenario.unique("group");
    let table = table_name("order_log");
    pg.client()?
        .batch_execute(&format!("CREATE TABLE {table} (order_id text NOT NULL, customer_id text, amount_cents bigint)"))?;

    // Each order is sent 2 to 4 times, keyed by its id (so its copies share
    // a partition), its first copy in a segment before the last and at
    // least one more in a later one: a repeat that arrives after a kill
    // and a restart, maybe on the other member.
    let orders = scenario.scaled(1_200) as usize;
    let mut segments: Vec<Vec<Record>> = (0..=KILLS).map(|_| Vec::new()).collect();
    let mut copies_total = 0;
    for i in 0..orders {
        let copies = 2 + pick(&scenario, 3);
        let first = pick(&scenario, KILLS);
        let mut at = vec![first, first + 1 + pick(&scenario, KILLS - first)];
        at.extend((2..copies).map(|_| first + pick(&scenario, KILLS + 1 - first)));
        for segment in at {
            let (id, _, _) = order(i);
            segments[segment].push(Record { partition: (i % PARTITIONS as usize) as i32, key: id, value: order_value(i) });
        }
        copies_total += copies;
    }
    for segment in &mut segments {
        shuffle(&scenario, segment);
    }
    // A first copy shuffled behind a later one of its segment is fine: the
    // copies are equal, and which one is first is the input's business.

    let spec =
        sink_spec(&scenario, "dedup", &input, &group, &pg, &table).plugin_config("id_field=order_id").args(["--write", "insert"]);
    let per_second = (copies_total / (KILLS + 1) / 6) as u64;
    let feeder = SegmentFeeder::start(broker, &input, per_second)?;
    let (mut members, phase) = feed_through_kills(&scenario, &pg, &spec, &input, &feeder, segments)?;
    drain_and_stop(&scenario, &pg, &group, &input, feeder, &mut members, copies_total as u64)?;

    let rows = pg.client()?.query(&format!("SELECT order_id, customer_id, amount_cents FROM {table}"), &[])?;
    let mut found: BTreeMap<String, Vec<OrderRow>> = BTreeMap::new();
    for row in &rows {
        found.entry(row.get(0)).or_default().push((row.get(1), row.get(2)));
    }
    let mut problems = Vec::new();
    let (mut duplicated, mut missing, mut mangled) = (0, 0, 0);
    for i in 0..orders {
        let (id, customer, amount) = order(i);
        match found.remove(&id).as_deref() {
            None | Some([]) => {
                missing += 1;
                problems.push(format!("{id}: no row"));
            }
            Some([(c, a)]) => {
                if c.as_deref() != Some(customer.as_str()) || *a != Some(amount) {
                    mangled += 1;
                    problems.push(format!("{id}: row ({c:?}, {a:?}), expected ({customer}, {amount})"));
                }
            }
            Some(more) => {
                duplicated += 1;
                problems.push(format!("{id}: {} rows", more.len()));
            }
        }
    }
    let unexpected = found.len();
    problems.extend(found.keys().map(|id| format!("{id}: a row of no order")));
    let state = state_rows(&pg, &group)?;
    let ids_in_state = state.iter().filter(|row| row.key.starts_with(b"id/")).count();
    let plugins = state_plugins(&state);
    let dead_letters = pg.count(&format!("{table}_dead_letters"))?;
    scenario.report(&format!(
        "SUMMARY postgres_stateful_dedup orders={orders} records={copies_total} repeats={} rows={} duplicated={duplicated} \
         missing={missing} mangled={mangled} unexpected={unexpected} dead_letters={dead_letters} state_rows={} \
         ids_in_state={ids_in_state} state_plugins={plugins:?} kills={} takeovers={} assignments_logged={}",
        copies_total - orders,
        rows.len(),
        state.len(),
        phase.kills,
        phase.takeovers,
        log_mentions(&scenario, "starting at the database's offsets"),
    ));
    assert!(problems.is_empty(), "{table} is not one row per distinct order:\n{}", samples(&problems));
    assert_eq!(rows.len(), orders, "rows of {table}");
    assert_eq!(dead_letters, 0, "no record should be rejected");
    clean_up(&pg, &group, &[&table]);
    Ok(())
}

#[test]
fn a_stateful_chain_runs_in_the_sink_with_each_plugins_state_apart() -> anyhow::Result<()> {
    let scenario = Scenario::new("postgres_stateful_chain");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let partitions = 3;
    let input = scenario.topic("in", partitions)?;
    let group = scenario.unique("group");
    let table = table_name("orders_per_customer");
    pg.client()?.batch_execute(&format!("CREATE TABLE {table} (key text PRIMARY KEY, count bigint NOT NULL)"))?;

    // Orders keyed by customer, each sent twice: dedup drops the second
    // copy, so counter counts each customer's distinct orders.
    let customers = 12;
    let orders = 240;
    let mut records: Vec<Record> = (0..orders)
        .flat_map(|i| [i, i])
        .map(|i| {
            let customer = i % customers;
            Record { partition: (customer % partitions as usize) as i32, key: format!("c-{customer}"), value: order_value(i) }
        })
        .collect();
    shuffle(&scenario, &mut records);
    let total = records.len() as u64;
    let feeder = SegmentFeeder::start(broker, &input, 1_000)?;
    feeder.push(records)?;
    feeder.finish()?;

    let spec = sink_spec(&scenario, "dedup", &input, &group, &pg, &table)
        .args(["--plugin".to_owned(), plugin_path("counter").display().to_string()])
        .plugin_config("dedup:id_field=order_id")
        .plugin_config("counter:format=json")
        .args(["--write", "upsert", "--key-columns", "key"]);
    let mut run = scenario.spawn(&spec, "chain")?;
    let took = wait_db_complete(&pg, broker, &group, &input, &mut [&mut run], ALL_COMMITTED)?;
    stop_cleanly(&mut run, EXIT_AFTER_SIGTERM).map_err(|problem| anyhow::anyhow!(problem))?;

    let rows = pg.client()?.query(&format!("SELECT key, count FROM {table}"), &[])?;
    let counted: BTreeMap<String, i64> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let expected: BTreeMap<String, i64> =
        (0..customers).map(|c| (format!("c-{c}"), (0..orders).filter(|i| i % customers == c).count() as i64)).collect();
    let state = state_rows(&pg, &group)?;
    let plugins = state_plugins(&state);
    scenario.report(&format!(
        "SUMMARY postgres_stateful_chain records={total} orders={orders} customers={customers} rows={} \
         committed_in={took:?} state_rows={} state_plugins={plugins:?}",
        counted.len(),
        state.len()
    ));
    assert_eq!(counted, expected, "distinct orders per customer in {table}");
    assert_eq!(plugins.len(), 2, "each plugin of the chain keeps its own state in {STATE_TABLE}: {plugins:?}");
    assert_eq!(pg.count(&format!("{table}_dead_letters"))?, 0, "no record should be rejected");
    clean_up(&pg, &group, &[&table]);
    Ok(())
}
