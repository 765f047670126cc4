//! `--sink postgres --columns auto` against the real broker and a real
//! PostgreSQL server (`scripts/postgres`): each output's JSON object is
//! written field by field into a table the user made. Upserts and tombstone
//! deletes leave exactly every key's last state while the sink is SIGKILLed
//! mid-stream; each kind of rejected record becomes one row of
//! `NAME_dead_letters` that says why; a row PostgreSQL itself refuses (a
//! CHECK, a trigger, NOT NULL) follows `--on-error` while the rest of its
//! batch commits; and the settings that cannot work stop eoshost at start
//! with exit code 2.
//!
//! Every test makes its own tables (`<role>_<unique>`) and drops them when it
//! passes (a failed one leaves them to look at); they are never eoshost's to
//! create or alter.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use eoshost_tests::faults::{kill_mid_work, stop_final_run};
use eoshost_tests::timeouts::{ALL_COMMITTED, EXIT_AT_START, FIRST_COMMIT};
use eoshost_tests::{Broker, Eoshost, EoshostSpec, Exit, Postgres, Scenario, unique_suffix};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

/// 2024-03-01T12:34:56.789Z, the event time the orders start at.
const BASE_MS: i64 = 1_709_296_496_789;
/// `--commit-interval-ms` of the tests whose records are all written before
/// the sink starts: long enough that they land in one database transaction.
const ONE_BATCH_MS: u64 = 1_000;

/// A row as [`rows_as_text`] reads it: every column after the id, as text.
type Row = Vec<Option<String>>;

/// One record of an input topic; a `None` value is a tombstone.
#[derive(Debug, Clone)]
struct Message {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

impl Message {
    fn new(key: Option<&str>, value: Option<&str>) -> Message {
        Message { key: key.map(|k| k.as_bytes().to_vec()), value: value.map(|v| v.as_bytes().to_vec()) }
    }

    fn tombstone(key: Option<&str>) -> Message {
        Message::new(key, None)
    }
}

/// An idempotent producer: records of one partition land in the order sent.
fn producer(broker: &Broker) -> anyhow::Result<BaseProducer> {
    broker
        .config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()
        .context("creating the test producer")
}

/// Sends `message` to `topic` (to `partition`, or where its key hashes).
fn send(producer: &BaseProducer, topic: &str, partition: Option<i32>, message: &Message) -> anyhow::Result<()> {
    let mut record = BaseRecord::<[u8], [u8]>::to(topic);
    if let Some(partition) = partition {
        record = record.partition(partition);
    }
    if let Some(key) = &message.key {
        record = record.key(key.as_slice());
    }
    if let Some(value) = &message.value {
        record = record.payload(value.as_slice());
    }
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((error, back)) if error.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                record = back;
                producer.poll(Duration::from_millis(10));
            }
            Err((error, _)) => anyhow::bail!("producing to {topic}: {error}"),
        }
    }
}

/// Writes `messages` to the one-partition, fresh `topic`, in order: message
/// `i` is at offset `i` (checked).
fn write_in_order(broker: &Broker, topic: &str, messages: &[Message]) -> anyhow::Result<()> {
    let producer = producer(broker)?;
    for message in messages {
        send(&producer, topic, Some(0), message)?;
    }
    producer.flush(Duration::from_secs(30)).with_context(|| format!("flushing records to {topic}"))?;
    let end = broker.end_offsets(topic)?;
    anyhow::ensure!(end == [messages.len() as i64], "{topic} ends at {end:?} after {} records", messages.len());
    Ok(())
}

/// `prefix_<unique>`: a table name of `[a-z0-9_]`, so no query needs quoting.
fn table_name(prefix: &str) -> String {
    format!("{prefix}_{}", unique_suffix())
}

fn dead_letter_table(table: &str) -> String {
    format!("{table}_dead_letters")
}

/// The sink with `--columns auto` into `table`, running `identity`, so each
/// input record's value is the object written.
fn columns_sink(scenario: &Scenario, input: &str, group: &str, pg: &Postgres, table: &str, options: &[&str]) -> EoshostSpec {
    // --output is the sink's optional allow-list; identity names no topic.
    scenario
        .spec("identity", input, &["unused"], group)
        .args(["--sink", "postgres", "--postgres-url", pg.url(), "--table", table, "--columns", "auto"])
        .args(options.iter().map(|option| option.to_string()))
}

/// Waits until `eoshost_offsets` holds the end of every partition of
/// `input` for each `(group, run)`; fails when a run ends on its own.
fn wait_db_complete(
    pg: &Postgres,
    broker: &Broker,
    input: &str,
    runs: &mut [(&str, &mut Eoshost)],
    timeout: Duration,
) -> anyhow::Result<()> {
    let end = broker.end_offsets(input)?;
    let deadline = Instant::now() + timeout;
    loop {
        let mut behind = Vec::new();
        for (group, run) in runs.iter_mut() {
            let committed = pg.committed_offsets(group, input).unwrap_or_default();
            let complete =
                end.iter().enumerate().all(|(p, &end)| end == 0 || committed.get(&(p as i32)).is_some_and(|&next| next >= end));
            if !complete {
                behind.push(format!("{group}: {committed:?}"));
            }
            if let Some(exit) = run.try_exit() {
                anyhow::bail!("{} ended on its own ({exit}):\n{}", run.label(), run.stderr_tail(40));
            }
        }
        if behind.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "eoshost_offsets short of {end:?} after {timeout:?}: {}", behind.join("; "));
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The rows `sql` selects, by its first column; every column must be text
/// (cast in the query), so values compare as PostgreSQL prints them.
fn rows_as_text(pg: &Postgres, sql: &str) -> anyhow::Result<BTreeMap<String, Row>> {
    let rows = pg.client()?.query(sql, &[]).with_context(|| format!("running {sql}"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let id: String = row.get(0);
            (id, (1..row.len()).map(|i| row.get::<_, Option<String>>(i)).collect())
        })
        .collect())
}

/// Each difference between the rows found and those expected (by id).
fn row_differences(columns: &[&str], found: &BTreeMap<String, Row>, expected: &BTreeMap<String, Row>) -> Vec<String> {
    let mut differences = Vec::new();
    for (id, want) in expected {
        match found.get(id) {
            None => differences.push(format!("{id}: missing")),
            Some(got) => {
                for ((column, got), want) in columns.iter().zip(got).zip(want) {
                    if got != want {
                        differences.push(format!("{id}.{column}: {got:?}, expected {want:?}"));
                    }
                }
            }
        }
    }
    for (id, got) in found {
        if !expected.contains_key(id) {
            differences.push(format!("{id}: present ({got:?}), expected absent"));
        }
    }
    differences
}

fn texts(values: &[Option<&str>]) -> Row {
    values.iter().map(|v| v.map(str::to_owned)).collect()
}

/// One row of `NAME_dead_letters`.
#[derive(Debug)]
struct DeadLetter {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    error: Option<String>,
    plugin: Option<String>,
}

/// The rows of `table`'s dead-letter table; none when it does not exist.
fn dead_letters(pg: &Postgres, table: &str) -> anyhow::Result<Vec<DeadLetter>> {
    let letters = dead_letter_table(table);
    let mut client = pg.client()?;
    let exists: Option<String> = client.query_one("SELECT to_regclass($1)::text", &[&letters])?.get(0);
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            &format!(
                "SELECT source_topic, source_partition, source_offset, key, value, error, plugin FROM {letters} \
                 ORDER BY source_partition, source_offset"
            ),
            &[],
        )
        .with_context(|| format!("reading {letters}"))?;
    Ok(rows
        .iter()
        .map(|row| DeadLetter {
            topic: row.get(0),
            partition: row.get(1),
            offset: row.get(2),
            key: row.get(3),
            value: row.get(4),
            error: row.get(5),
            plugin: row.get(6),
        })
        .collect())
}

/// A record that must be dead-lettered: its offset on partition 0, and what
/// its reason must say — each entry a list of spellings, one of which must
/// appear (case-insensitive), e.g. `["integer", "int4"]`.
struct Refused {
    offset: i64,
    words: Vec<Vec<String>>,
}

fn refused(offset: usize, words: Vec<Vec<String>>) -> Refused {
    Refused { offset: offset as i64, words }
}

/// Words a reason must say, each a list of spellings ([`Refused`]).
fn words(groups: &[&[&str]]) -> Vec<Vec<String>> {
    groups.iter().map(|any| any.iter().map(|w| w.to_string()).collect()).collect()
}

/// The reason of a value that does not convert: the phrase, the field (and
/// column) name and one spelling of the column's type.
fn does_not_convert(field: &str, types: &[&str]) -> Vec<Vec<String>> {
    words(&[&["does not convert"], &[field], types])
}

/// What is wrong with `letters` against `expected`: each refused record
/// exactly once, with its source, key, value, plugin and reason; nothing
/// else. Empty when all is right.
fn dead_letter_problems(letters: &[DeadLetter], input: &str, messages: &[Message], expected: &[Refused]) -> Vec<String> {
    let mut problems = Vec::new();
    for want in expected {
        let found: Vec<&DeadLetter> = letters.iter().filter(|l| l.partition == 0 && l.offset == want.offset).collect();
        let [letter] = found.as_slice() else {
            problems.push(format!("offset {}: {} dead letters, expected 1", want.offset, found.len()));
            continue;
        };
        let message = &messages[want.offset as usize];
        let at = format!("dead letter of offset {}", want.offset);
        if letter.topic != input {
            problems.push(format!("{at}: source_topic {:?}, expected {input:?}", letter.topic));
        }
        if letter.key != message.key || letter.value != message.value {
            problems.push(format!(
                "{at}: key/value {:?}/{:?}, expected the record's {:?}/{:?}",
                letter.key.as_deref().map(String::from_utf8_lossy),
                letter.value.as_deref().map(String::from_utf8_lossy),
                message.key.as_deref().map(String::from_utf8_lossy),
                message.value.as_deref().map(String::from_utf8_lossy),
            ));
        }
        if letter.plugin.as_deref().is_none_or(|p| p.trim().is_empty()) {
            problems.push(format!("{at}: plugin is empty"));
        }
        let error = letter.error.clone().unwrap_or_default();
        for any in &want.words {
            if !any.iter().any(|word| error.to_lowercase().contains(&word.to_lowercase())) {
                problems.push(format!("{at}: error {error:?} says none of {any:?}"));
            }
        }
    }
    for letter in letters {
        if !expected.iter().any(|want| letter.partition == 0 && letter.offset == want.offset) {
            problems.push(format!(
                "unexpected dead letter of {}/{}@{}: {:?}",
                letter.topic, letter.partition, letter.offset, letter.error
            ));
        }
    }
    problems
}

/// Days since 1970-01-01 as (year, month, day): Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `ms` since the epoch as ISO-8601 text at a UTC offset of
/// `offset_minutes` (`Z` for 0), with milliseconds.
fn iso8601(ms: i64, offset_minutes: i64) -> String {
    let local = ms + offset_minutes * 60_000;
    let (year, month, day) = civil_from_days(local.div_euclid(86_400_000));
    let of_day = local.rem_euclid(86_400_000);
    let (hour, minute, second, milli) = (of_day / 3_600_000, of_day / 60_000 % 60, of_day / 1_000 % 60, of_day % 1_000);
    let zone = if offset_minutes == 0 {
        "Z".to_owned()
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", offset_minutes.abs() / 60, offset_minutes.abs() % 60)
    };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}{zone}")
}

#[test]
fn iso_text_of_epoch_milliseconds() {
    assert_eq!(iso8601(BASE_MS, 0), "2024-03-01T12:34:56.789Z");
    assert_eq!(iso8601(BASE_MS, 120), "2024-03-01T14:34:56.789+02:00");
    assert_eq!(iso8601(BASE_MS - 45_296_790, -90), "2024-02-29T22:29:59.999-01:30");
}

// ---------------------------------------------------------------------------
// 1. Upserts and deletes through SIGKILLs

const ORDER_KEYS: u64 = 200;
const ORDER_ROUNDS: u64 = 14;
const ORDER_STATUSES: [&str; 4] = ["new", "paid", "shipped", "cancelled"];
/// Events written per second while the sink is killed: the stream lasts
/// about 20 s.
const ORDERS_PER_SECOND: u64 = 140;
/// SIGKILLs wanted while the stream flows, and the fewest that count.
const KILLS: usize = 4;
const FEWEST_KILLS: usize = 2;

/// The columns of the orders tables, after `order_id`, as the comparisons
/// select them.
const ORDER_COLUMNS: [&str; 4] = ["customer_id", "amount_cents", "status", "updated_at"];

fn order_select(table: &str) -> String {
    format!(
        "SELECT order_id, customer_id, amount_cents::text, status, \
         ((extract(epoch FROM updated_at) * 1000)::bigint)::text FROM {table}"
    )
}

/// The stream of order events: every round gives each of the keys its new
/// full state, in an order that changes from round to round. Some keys are
/// deleted in round 6 and written again after; in the last round every
/// fifth key is deleted for good, and four keys are deleted twice (the
/// second tombstone finds nothing). `updated_at` alternates between epoch
/// milliseconds and ISO text (`Z` or `+02:00`); a few keys give their
/// amount as a string, a few an amount above 2^53. Returns the events and
/// every key's last state (`None`: deleted), as [`order_select`] prints it.
fn order_events() -> (Vec<Message>, BTreeMap<String, Option<Row>>) {
    let mut events = Vec::new();
    let mut last = BTreeMap::new();
    for round in 0..ORDER_ROUNDS {
        for j in 0..ORDER_KEYS {
            let k = (j * 37 + round * 11) % ORDER_KEYS;
            let id = format!("o{k}");
            let i = events.len() as i64;
            let deleted = (round == 6 && k % 10 == 3)
                || (round == ORDER_ROUNDS - 1 && k.is_multiple_of(5))
                || (round >= ORDER_ROUNDS - 2 && k % 50 == 7);
            if deleted {
                events.push(Message::tombstone(Some(&id)));
                last.insert(id, None);
                continue;
            }
            let ms = BASE_MS + i * 1_000 + k as i64;
            let amount = if k % 25 == 2 { 9_007_199_254_740_993 + round as i64 } else { (k * 100 + round * 7) as i64 };
            let amount_json = if k % 20 == 1 { format!("\"{amount}\"") } else { amount.to_string() };
            let updated_at = match i % 4 {
                0 | 2 => ms.to_string(),
                1 => format!("\"{}\"", iso8601(ms, 0)),
                _ => format!("\"{}\"", iso8601(ms, 120)),
            };
            let customer = format!("c{}", (k + round) % 17);
            let status = ORDER_STATUSES[((k + round) % 4) as usize];
            let value = format!(
                r#"{{"order_id":"{id}","customer_id":"{customer}","amount_cents":{amount_json},"status":"{status}","updated_at":{updated_at}}}"#
            );
            events.push(Message::new(Some(&id), Some(&value)));
            last.insert(id, Some(vec![Some(customer), Some(amount.to_string()), Some(status.to_owned()), Some(ms.to_string())]));
        }
    }
    (events, last)
}

/// Writes `events` to `topic` (partitioned by key, so each key's events stay
/// in order) at `per_second`, in the background. The counter says how many
/// were handed to the producer.
fn feed(
    broker: &'static Broker,
    topic: &str,
    events: Vec<Message>,
    per_second: u64,
) -> (Arc<AtomicU64>, JoinHandle<anyhow::Result<()>>) {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let topic = topic.to_owned();
    let thread = std::thread::spawn(move || {
        let producer = producer(broker)?;
        let per_tick = (per_second / 20).max(1) as usize;
        let mut next_tick = Instant::now();
        for chunk in events.chunks(per_tick) {
            for event in chunk {
                send(&producer, &topic, None, event)?;
            }
            producer.poll(Duration::ZERO);
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            next_tick += Duration::from_millis(50);
            if let Some(wait) = next_tick.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        producer.flush(Duration::from_secs(30)).with_context(|| format!("flushing the order events to {topic}"))?;
        Ok(())
    });
    (sent, thread)
}

#[test]
fn upserts_and_deletes_leave_each_keys_last_state_through_sigkills() -> anyhow::Result<()> {
    let scenario = Scenario::new("pgcol_upserts_kills");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let partitions = 3;
    let input = scenario.topic("orders", partitions)?;
    let group = scenario.unique("group");
    let table = table_name("orders");
    pg.client()?.batch_execute(&format!(
        "CREATE TABLE {table} (order_id text PRIMARY KEY, customer_id text NOT NULL, amount_cents bigint NOT NULL, \
         status text NOT NULL, updated_at timestamptz NOT NULL)"
    ))?;

    let (events, last) = order_events();
    let total = events.len() as u64;
    let spec = columns_sink(
        &scenario,
        &input,
        &group,
        &pg,
        &table,
        &["--write", "upsert", "--key-columns", "order_id", "--delete-on-tombstone"],
    )
    .fast_failure_detection();
    let (sent, feeder) = feed(broker, &input, events, ORDERS_PER_SECOND);
    let mut kills = 0;
    while kills < KILLS && sent.load(Ordering::SeqCst) < total {
        let mut run = scenario.spawn(&spec, "sink")?;
        let before = pg.committed_total(&group).unwrap_or(0);
        pg.wait_progress(&group, before, &mut run, FIRST_COMMIT)?;
        kill_mid_work(
            &scenario,
            &mut run,
            &format!("{before} offsets in the database before it, {} of {total} events sent", sent.load(Ordering::SeqCst)),
        )?;
        kills += 1;
    }
    feeder.join().map_err(|_| anyhow::anyhow!("the feeder thread panicked"))??;
    let mut last_run = scenario.spawn(&spec, "sink-final")?;
    wait_db_complete(&pg, broker, &input, &mut [(&group, &mut last_run)], Duration::from_secs(120))?;
    stop_final_run(&mut last_run)?;

    let found = rows_as_text(&pg, &order_select(&table))?;
    let expected: BTreeMap<String, Row> =
        last.iter().filter_map(|(id, state)| state.clone().map(|row| (id.clone(), row))).collect();
    let differences = row_differences(&ORDER_COLUMNS, &found, &expected);
    let letters = dead_letters(&pg, &table)?;
    scenario.report(&format!(
        "SUMMARY pgcol_upserts_kills events={total} keys={} deleted_keys={} rows={} expected_rows={} differences={} \
         dead_letters={} kills={kills} result={}",
        last.len(),
        last.values().filter(|s| s.is_none()).count(),
        found.len(),
        expected.len(),
        differences.len(),
        letters.len(),
        if differences.is_empty() && letters.is_empty() && kills >= FEWEST_KILLS { "PASS" } else { "FAIL" }
    ));
    assert!(kills >= FEWEST_KILLS, "only {kills} SIGKILLs landed while the stream flowed");
    assert!(
        differences.is_empty(),
        "{} differences between {table} and every key's last event, first ones:\n{}",
        differences.len(),
        differences[..differences.len().min(20)].join("\n")
    );
    assert!(letters.is_empty(), "no record is bad, yet {} dead letters: {letters:?}", letters.len());
    pg.drop_tables(&[&table, &dead_letter_table(&table)]);
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. Every reason a record is rejected, under --on-error dlq

/// The columns of the typed table after `id`, and how the comparison
/// selects each as text.
const TYPED_COLUMNS: [(&str, &str); 16] = [
    ("label", "label"),
    ("small", "small::text"),
    ("whole", "whole::text"),
    ("big", "big::text"),
    ("exact", "exact::text"),
    ("ratio", "ratio::text"),
    ("approx", "approx::text"),
    ("flag", "flag::text"),
    ("at", "((extract(epoch FROM at) * 1000)::bigint)::text"),
    ("day", "day::text"),
    ("doc", "doc::text"),
    ("blob", "encode(blob, 'hex')"),
    ("ident", "ident::text"),
    ("tags", "tags::text"),
    ("counts", "counts::text"),
    ("note", "note"),
];

const INTEGER: &[&str] = &["integer", "int4"];

#[test]
fn each_rejected_record_is_one_dead_letter_that_says_why() -> anyhow::Result<()> {
    let scenario = Scenario::new("pgcol_rejections");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let input = scenario.topic("in", 1)?;
    let group = scenario.unique("group");
    let table = table_name("typed");
    pg.client()?.batch_execute(&format!(
        "CREATE TABLE {table} (id text PRIMARY KEY, label text, small smallint, whole integer, big bigint, \
         exact numeric, ratio double precision, approx real, flag boolean, at timestamptz, day date, doc jsonb, \
         blob bytea, ident uuid, tags text[], counts integer[], note text NOT NULL DEFAULT 'dflt')"
    ))?;

    let good = |id: &str, value: &str| (Message::new(Some(id), Some(value)), None);
    let bad = |id: &str, value: &str, words: Vec<Vec<String>>| (Message::new(Some(id), Some(value)), Some(words));
    let not_object = || words(&[&["not a JSON object"]]);
    let records: Vec<(Message, Option<Vec<Vec<String>>>)> = vec![
        good(
            "g1",
            r#"{"id":"g1","label":"hello","small":-32768,"whole":2147483647,"big":9007199254740993,"exact":12345678901234567890.123456789,"ratio":0.25,"approx":0.5,"flag":true,"at":"2024-03-01T12:34:56.789Z","day":"2024-03-01","doc":{"a":[1,"x",null]},"blob":"aGVsbG8=","ident":"123e4567-e89b-12d3-a456-426614174000","tags":["a","b"],"counts":[1,2,3],"note":"given"}"#,
        ),
        bad("b1", "[1,2,3]", not_object()),
        bad("b2", r#"{"id":"b2","colour":"red"}"#, words(&[&["has no column"], &["colour"], &[table.as_str()]])),
        good(
            "g2",
            r#"{"id":"g2","label":42,"small":"7","whole":"-5","big":"-9007199254740993","exact":"0.1","ratio":"1.5","approx":2,"flag":false,"at":1709296496789,"day":1709251200000,"doc":"just a string","blob":"","ident":"00000000-0000-0000-0000-000000000001","tags":["x y","z"],"counts":[]}"#,
        ),
        bad("b3", r#"{"id":"b3","whole":1.5}"#, does_not_convert("whole", INTEGER)),
        bad("b4", r#"{"id":"b4","small":70000}"#, does_not_convert("small", &["smallint", "int2"])),
        bad("b5", r#"{"id":"b5","whole":"abc"}"#, does_not_convert("whole", INTEGER)),
        bad("b6", r#"{"id":"b6","big":12.5}"#, does_not_convert("big", &["bigint", "int8"])),
        bad("b7", r#"{"id":"b7","flag":"maybe"}"#, does_not_convert("flag", &["boolean", "bool"])),
        bad("b8", r#"{"id":"b8","at":"not a time"}"#, does_not_convert("at", &["timestamp with time zone", "timestamptz"])),
        bad("b9", r#"{"id":"b9","day":"2024-13-45"}"#, does_not_convert("day", &["date"])),
        bad("b10", r#"{"id":"b10","ident":"not-a-uuid"}"#, does_not_convert("ident", &["uuid"])),
        bad("b11", r#"{"id":"b11","blob":"%%% not base64"}"#, does_not_convert("blob", &["bytea"])),
        bad("b12", r#"{"id":"b12","counts":[1,"x"]}"#, does_not_convert("counts", &["integer[]", "int4[]", "_int4"])),
        bad("b13", r#"{"id":"b13","exact":"twelve"}"#, does_not_convert("exact", &["numeric"])),
        bad("b14", "42", not_object()),
        bad("b15", "not json at all", not_object()),
        // A tombstone without --delete-on-tombstone; g1 must stay.
        (Message::tombstone(Some("g1")), Some(words(&[&["--delete-on-tombstone"]]))),
        good("g3", r#"{"id":"g3","label":null,"whole":null}"#),
    ];
    let messages: Vec<Message> = records.iter().map(|(m, _)| m.clone()).collect();
    let expected_letters: Vec<Refused> =
        records.iter().enumerate().filter_map(|(offset, (_, words))| words.clone().map(|words| refused(offset, words))).collect();
    write_in_order(broker, &input, &messages)?;

    let spec = columns_sink(&scenario, &input, &group, &pg, &table, &["--on-error", "dlq"]).commit_interval_ms(ONE_BATCH_MS);
    let mut run = scenario.spawn(&spec, "sink")?;
    wait_db_complete(&pg, broker, &input, &mut [(&group, &mut run)], ALL_COMMITTED)?;
    run.terminate(Duration::from_secs(15))?;

    let select = format!(
        "SELECT id, {} FROM {table}",
        TYPED_COLUMNS.iter().map(|(_, expression)| *expression).collect::<Vec<_>>().join(", ")
    );
    let found = rows_as_text(&pg, &select)?;
    let expected: BTreeMap<String, Row> = [
        (
            "g1",
            texts(&[
                Some("hello"),
                Some("-32768"),
                Some("2147483647"),
                Some("9007199254740993"),
                Some("12345678901234567890.123456789"),
                Some("0.25"),
                Some("0.5"),
                Some("true"),
                Some("1709296496789"),
                Some("2024-03-01"),
                Some(r#"{"a": [1, "x", null]}"#),
                Some("68656c6c6f"),
                Some("123e4567-e89b-12d3-a456-426614174000"),
                Some("{a,b}"),
                Some("{1,2,3}"),
                Some("given"),
            ]),
        ),
        (
            "g2",
            texts(&[
                Some("42"),
                Some("7"),
                Some("-5"),
                Some("-9007199254740993"),
                Some("0.1"),
                Some("1.5"),
                Some("2"),
                Some("false"),
                Some("1709296496789"),
                Some("2024-03-01"),
                Some(r#""just a string""#),
                Some(""),
                Some("00000000-0000-0000-0000-000000000001"),
                Some(r#"{"x y",z}"#),
                Some("{}"),
                Some("dflt"),
            ]),
        ),
        ("g3", texts(&[None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, Some("dflt")])),
    ]
    .into_iter()
    .map(|(id, row)| (id.to_owned(), row))
    .collect();
    let columns: Vec<&str> = TYPED_COLUMNS.iter().map(|(name, _)| *name).collect();
    let differences = row_differences(&columns, &found, &expected);
    let letters = dead_letters(&pg, &table)?;
    let problems = dead_letter_problems(&letters, &input, &messages, &expected_letters);
    for letter in &letters {
        scenario.report(&format!("dead letter @{}: {}", letter.offset, letter.error.as_deref().unwrap_or("(no error)")));
    }
    scenario.report(&format!(
        "SUMMARY pgcol_rejections records={} good_rows={} expected_good={} row_differences={} dead_letters={} \
         expected_dead_letters={} dead_letter_problems={} result={}",
        messages.len(),
        found.len(),
        expected.len(),
        differences.len(),
        letters.len(),
        expected_letters.len(),
        problems.len(),
        if differences.is_empty() && problems.is_empty() { "PASS" } else { "FAIL" }
    ));
    assert!(
        differences.is_empty() && problems.is_empty(),
        "the good records are not in {table} as written:\n{}\nthe dead letters are wrong:\n{}",
        differences.join("\n"),
        problems.join("\n")
    );
    pg.drop_tables(&[&table, &dead_letter_table(&table)]);
    Ok(())
}

#[test]
fn upserts_update_only_the_fields_given_and_tombstones_delete_by_key() -> anyhow::Result<()> {
    let scenario = Scenario::new("pgcol_upsert_delete");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let input = scenario.topic("in", 1)?;
    let group = scenario.unique("group");
    let table = table_name("orders");
    // The guide's orders table, and an order already in it: an upsert that
    // gives only some columns must leave the others (NOT NULL, no default)
    // as they are.
    pg.client()?.batch_execute(&format!(
        "CREATE TABLE {table} (order_id text PRIMARY KEY, customer_id text NOT NULL, amount_cents bigint NOT NULL, \
         status text NOT NULL, updated_at timestamptz); \
         INSERT INTO {table} VALUES ('o0', 'c0', 1, 'new', '{}')",
        iso8601(BASE_MS, 0)
    ))?;
    let order = |id: &str, customer: &str, amount: &str, status: &str, at: &str| {
        Message::new(
            Some(id),
            Some(&format!(
                r#"{{"order_id":"{id}","customer_id":"{customer}","amount_cents":{amount},"status":"{status}","updated_at":{at}}}"#
            )),
        )
    };
    let at = format!("\"{}\"", iso8601(BASE_MS, 0));
    let names_order_id = || Some(words(&[&["order_id"]]));
    let records: Vec<(Message, Option<Vec<Vec<String>>>)> = vec![
        // Only the status, of a row written before the sink started.
        (Message::new(Some("o0"), Some(r#"{"order_id":"o0","status":"paid"}"#)), None),
        (order("o1", "c1", "100", "new", &at), None),
        // Only the status, of a row of the same batch.
        (Message::new(Some("o1"), Some(r#"{"order_id":"o1","status":"paid"}"#)), None),
        // The three forms of the key of a delete: text, a JSON string, an object.
        (order("o2", "c2", "200", "new", &at), None),
        (Message::tombstone(Some("o2")), None),
        (order("o3", "c3", "300", "new", &at), None),
        (Message::tombstone(Some(r#""o3""#)), None),
        (order("o4", "c4", "400", "new", &at), None),
        (Message::tombstone(Some(r#"{"order_id":"o4"}"#)), None),
        // In one transaction: written, updated, deleted, written again.
        (order("o5", "c5", "500", "new", &at), None),
        (order("o5", "c5", "501", "paid", &at), None),
        (Message::tombstone(Some("o5")), None),
        (order("o5", "c5b", "502", "shipped", &BASE_MS.to_string()), None),
        // Written, updated, deleted.
        (order("o6", "c6", "600", "new", &at), None),
        (order("o6", "c6", "601", "paid", &at), None),
        (Message::tombstone(Some("o6")), None),
        // Tombstones whose key gives no order_id, and a value without one.
        (Message::tombstone(None), names_order_id()),
        (Message::tombstone(Some(r#"{"customer_id":"c1"}"#)), names_order_id()),
        (Message::new(Some("o8"), Some(r#"{"customer_id":"c8","amount_cents":800,"status":"new"}"#)), names_order_id()),
        (order("o7", "c7", r#""700""#, "new", &(BASE_MS + 1).to_string()), None),
    ];
    let messages: Vec<Message> = records.iter().map(|(m, _)| m.clone()).collect();
    let expected_letters: Vec<Refused> =
        records.iter().enumerate().filter_map(|(offset, (_, words))| words.clone().map(|words| refused(offset, words))).collect();
    write_in_order(broker, &input, &messages)?;

    let spec = columns_sink(
        &scenario,
        &input,
        &group,
        &pg,
        &table,
        &["--write", "upsert", "--key-columns", "order_id", "--delete-on-tombstone", "--on-error", "dlq"],
    )
    .commit_interval_ms(ONE_BATCH_MS);
    let mut run = scenario.spawn(&spec, "sink")?;
    wait_db_complete(&pg, broker, &input, &mut [(&group, &mut run)], ALL_COMMITTED)?;
    run.terminate(Duration::from_secs(15))?;

    let found = rows_as_text(&pg, &order_select(&table))?;
    let ms = BASE_MS.to_string();
    let next_ms = (BASE_MS + 1).to_string();
    let expected: BTreeMap<String, Row> = [
        ("o0", texts(&[Some("c0"), Some("1"), Some("paid"), Some(ms.as_str())])),
        ("o1", texts(&[Some("c1"), Some("100"), Some("paid"), Some(ms.as_str())])),
        ("o5", texts(&[Some("c5b"), Some("502"), Some("shipped"), Some(ms.as_str())])),
        ("o7", texts(&[Some("c7"), Some("700"), Some("new"), Some(next_ms.as_str())])),
    ]
    .into_iter()
    .map(|(id, row)| (id.to_owned(), row))
    .collect();
    let differences = row_differences(&ORDER_COLUMNS, &found, &expected);
    let letters = dead_letters(&pg, &table)?;
    let problems = dead_letter_problems(&letters, &input, &messages, &expected_letters);
    for letter in &letters {
        scenario.report(&format!("dead letter @{}: {}", letter.offset, letter.error.as_deref().unwrap_or("(no error)")));
    }
    scenario.report(&format!(
        "SUMMARY pgcol_upsert_delete records={} rows={found:?} differences={} dead_letters={} problems={}",
        messages.len(),
        differences.len(),
        letters.len(),
        problems.len()
    ));
    assert!(
        differences.is_empty() && problems.is_empty(),
        "{table} is not each key's last state:\n{}\nthe dead letters are wrong:\n{}",
        differences.join("\n"),
        problems.join("\n")
    );
    pg.drop_tables(&[&table, &dead_letter_table(&table)]);
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. Rows PostgreSQL refuses

/// Orders of one batch, some of which a table refuses: o2 has a negative
/// amount, o4 the status `forbidden`, o5 no customer (NOT NULL).
fn orders_some_refused() -> Vec<Message> {
    let row = |id: &str, customer: Option<&str>, amount: i64, status: &str| {
        let customer = customer.map(|c| format!(r#""customer_id":"{c}","#)).unwrap_or_default();
        Message::new(
            Some(id),
            Some(&format!(
                r#"{{"order_id":"{id}",{customer}"amount_cents":{amount},"status":"{status}","updated_at":{BASE_MS}}}"#
            )),
        )
    };
    vec![
        row("o1", Some("c1"), 100, "new"),
        row("o2", Some("c2"), -5, "new"),
        row("o3", Some("c3"), 300, "paid"),
        row("o4", Some("c4"), 400, "forbidden"),
        row("o5", None, 500, "new"),
        row("o6", Some("c6"), 600, "shipped"),
        row("o7", Some("c7"), 0, "new"),
    ]
}

/// Creates `table` for [`orders_some_refused`]: every column NOT NULL, and
/// as asked a CHECK that amounts are not negative and a trigger that raises
/// for the status `forbidden`.
fn create_guarded_orders(pg: &Postgres, table: &str, check: bool, trigger: bool) -> anyhow::Result<()> {
    let check = if check { " CHECK (amount_cents >= 0)" } else { "" };
    let mut sql = format!(
        "CREATE TABLE {table} (order_id text PRIMARY KEY, customer_id text NOT NULL, amount_cents bigint NOT NULL{check}, \
         status text NOT NULL, updated_at timestamptz NOT NULL);"
    );
    if trigger {
        sql.push_str(&format!(
            "CREATE FUNCTION {table}_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.status = 'forbidden' THEN RAISE EXCEPTION 'status forbidden is not allowed'; END IF; \
               RETURN NEW; END $$; \
             CREATE TRIGGER {table}_guard BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_guard();"
        ));
    }
    pg.client()?.batch_execute(&sql).with_context(|| format!("creating {table}"))?;
    Ok(())
}

fn drop_guarded_orders(pg: &Postgres, table: &str) {
    pg.drop_tables(&[table, &dead_letter_table(table)]);
    if let Ok(mut client) = pg.client() {
        let _ = client.batch_execute(&format!("DROP FUNCTION IF EXISTS {table}_guard()"));
    }
}

fn order_ids(pg: &Postgres, table: &str) -> anyhow::Result<Vec<String>> {
    Ok(rows_as_text(pg, &format!("SELECT order_id FROM {table}"))?.into_keys().collect())
}

#[test]
fn rows_postgres_refuses_are_dead_lettered_and_the_rest_of_the_batch_commits() -> anyhow::Result<()> {
    let scenario = Scenario::new("pgcol_refused_dlq");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let input = scenario.topic("in", 1)?;
    let messages = orders_some_refused();
    write_in_order(broker, &input, &messages)?;
    let checked = table_name("checked");
    let triggered = table_name("triggered");
    create_guarded_orders(&pg, &checked, true, false)?;
    create_guarded_orders(&pg, &triggered, false, true)?;

    // Both sinks at once, one per table: upserts into the checked one,
    // inserts into the other.
    let (checked_group, triggered_group) = (scenario.unique("checked"), scenario.unique("triggered"));
    let checked_spec = columns_sink(
        &scenario,
        &input,
        &checked_group,
        &pg,
        &checked,
        &["--write", "upsert", "--key-columns", "order_id", "--on-error", "dlq"],
    )
    .commit_interval_ms(ONE_BATCH_MS);
    let triggered_spec = columns_sink(&scenario, &input, &triggered_group, &pg, &triggered, &["--on-error", "dlq"])
        .commit_interval_ms(ONE_BATCH_MS);
    let mut checked_run = scenario.spawn(&checked_spec, "checked")?;
    let mut triggered_run = scenario.spawn(&triggered_spec, "triggered")?;
    wait_db_complete(
        &pg,
        broker,
        &input,
        &mut [(&checked_group, &mut checked_run), (&triggered_group, &mut triggered_run)],
        ALL_COMMITTED,
    )?;
    checked_run.terminate(Duration::from_secs(15))?;
    triggered_run.terminate(Duration::from_secs(15))?;

    let refused_by_postgres = |offsets: &[usize]| -> Vec<Refused> {
        offsets.iter().map(|&offset| refused(offset, words(&[&["PostgreSQL refused"]]))).collect()
    };
    let mut failures = Vec::new();
    for (table, rows, refused_offsets) in
        [(&checked, ["o1", "o3", "o4", "o6", "o7"], [1, 4]), (&triggered, ["o1", "o2", "o3", "o6", "o7"], [3, 4])]
    {
        let found = order_ids(&pg, table)?;
        let letters = dead_letters(&pg, table)?;
        let problems = dead_letter_problems(&letters, &input, &messages, &refused_by_postgres(&refused_offsets[..]));
        for letter in &letters {
            scenario.report(&format!("{table} dead letter @{}: {}", letter.offset, letter.error.as_deref().unwrap_or("")));
        }
        scenario.report(&format!("SUMMARY {table}: rows {found:?}, dead letters {}, problems {}", letters.len(), problems.len()));
        if found != rows {
            failures.push(format!("{table} holds {found:?}, expected {rows:?}"));
        }
        failures.extend(problems.into_iter().map(|p| format!("{table}: {p}")));
    }
    assert!(failures.is_empty(), "refused rows handled wrongly:\n{}", failures.join("\n"));
    drop_guarded_orders(&pg, &checked);
    drop_guarded_orders(&pg, &triggered);
    Ok(())
}

#[test]
fn rows_postgres_refuses_are_skipped_under_skip_and_their_offsets_committed() -> anyhow::Result<()> {
    let scenario = Scenario::new("pgcol_refused_skip");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let input = scenario.topic("in", 1)?;
    let messages = orders_some_refused();
    write_in_order(broker, &input, &messages)?;
    let table = table_name("guarded");
    create_guarded_orders(&pg, &table, true, true)?;
    let group = scenario.unique("group");
    let spec = columns_sink(&scenario, &input, &group, &pg, &table, &["--on-error", "skip"]).commit_interval_ms(ONE_BATCH_MS);
    let mut run = scenario.spawn(&spec, "skip")?;
    wait_db_complete(&pg, broker, &input, &mut [(&group, &mut run)], ALL_COMMITTED)?;
    run.terminate(Duration::from_secs(15))?;

    let found = order_ids(&pg, &table)?;
    let letters = dead_letters(&pg, &table)?;
    let offsets = pg.committed_offsets(&group, &input)?;
    scenario.report(&format!("SUMMARY pgcol_refused_skip rows {found:?} dead_letters={} offsets={offsets:?}", letters.len()));
    assert_eq!(found, ["o1", "o3", "o6", "o7"], "{table}: the refused orders o2, o4, o5 must be absent, the others present");
    assert!(letters.is_empty(), "--on-error skip wrote dead letters: {letters:?}");
    assert_eq!(offsets.get(&0), Some(&(messages.len() as i64)), "eoshost_offsets must be past the skipped records");
    drop_guarded_orders(&pg, &table);
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. Settings refused at start

#[test]
fn tables_and_settings_that_cannot_work_are_refused_at_start() -> anyhow::Result<()> {
    let scenario = Scenario::new("pgcol_start_up");
    let pg = Postgres::get()?;
    let input = scenario.topic("in", 1)?;
    let group = scenario.unique("group");
    let missing = table_name("missing");
    let unkeyed = table_name("unkeyed");
    let wide_key = table_name("widekey");
    let keyed = table_name("keyed");
    pg.client()?.batch_execute(&format!(
        "CREATE TABLE {unkeyed} (order_id text, status text); \
         CREATE INDEX ON {unkeyed} (order_id); \
         CREATE TABLE {wide_key} (order_id text, customer_id text, status text, PRIMARY KEY (order_id, customer_id)); \
         CREATE TABLE {keyed} (order_id text PRIMARY KEY, status text);"
    ))?;

    let cases: [(&str, &str, &[&str], Option<&str>); 5] = [
        ("missing-table", &missing, &[], Some(missing.as_str())),
        ("upsert-without-unique-index", &unkeyed, &["--write", "upsert", "--key-columns", "order_id"], None),
        ("upsert-key-not-the-whole-primary-key", &wide_key, &["--write", "upsert", "--key-columns", "order_id"], None),
        ("upsert-without-key-columns", &keyed, &["--write", "upsert"], None),
        ("delete-on-tombstone-without-key-columns", &keyed, &["--delete-on-tombstone"], None),
    ];
    let mut failures = Vec::new();
    for (label, table, options, named) in cases {
        let spec = columns_sink(&scenario, &input, &group, &pg, table, options);
        let mut run = scenario.spawn(&spec, label)?;
        let Some(exit) = run.wait_exit(EXIT_AT_START) else {
            failures.push(format!(
                "{label}: still running after {EXIT_AT_START:?}, expected exit code 2 at start; stderr tail:\n{}",
                run.stderr_tail(10)
            ));
            run.kill()?;
            continue;
        };
        let stderr = run.stderr();
        scenario.report(&format!("{label}: {exit}; last line: {}", stderr.lines().last().unwrap_or("")));
        if exit != Exit::Code(2) {
            failures.push(format!("{label}: {exit}, expected exit code 2; stderr tail:\n{}", run.stderr_tail(10)));
        } else if let Some(name) = named
            && !stderr.contains(name)
        {
            failures.push(format!("{label}: exit code 2, but stderr does not name {name}:\n{}", run.stderr_tail(10)));
        }
    }
    let created: Option<String> = pg.client()?.query_one("SELECT to_regclass($1)::text", &[&missing])?.get(0);
    if created.is_some() {
        failures.push(format!("eoshost created the missing table {missing}"));
    }
    let indexes: i64 = pg.client()?.query_one("SELECT count(*) FROM pg_indexes WHERE tablename = $1", &[&unkeyed])?.get(0);
    if indexes != 1 {
        failures.push(format!("{unkeyed} has {indexes} indexes now, it had 1: eoshost altered it"));
    }
    assert!(failures.is_empty(), "start-up checks:\n{}", failures.join("\n"));
    pg.drop_tables(&[&unkeyed, &wide_key, &keyed, &missing]);
    Ok(())
}
