//! Typed records where they enter or leave eoshost other than from one topic
//! to another: Avro orders written by Confluent's own serializer
//! (`tests/python/sr_client.py`) land field by field in a user's PostgreSQL
//! table (`--sink postgres --columns auto`); a chain decodes its input once
//! and encodes its output once, read back by Confluent's deserializer; the
//! state of a stateful plugin counts typed records exactly once through
//! SIGKILLs; and `eoshost test` decodes wire-format lines with the registry
//! and checks outputs against an output schema, naming the field that does
//! not fit; a schema with a reference to another subject decodes, and is
//! registered with its reference for the output.
//!
//! Needs the broker, the Schema Registry (`scripts/schema-registry`) and
//! PostgreSQL (`scripts/postgres`), each started when it is not running.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use eoshost_tests::counts::CountTally;
use eoshost_tests::faults::{kill_mid_work, stop_final_run, wait_all_committed_or_stall};
use eoshost_tests::schema_registry::{Format, Produce, SrClient, python, schema_file};
use eoshost_tests::timeouts::{ALL_COMMITTED, FIRST_COMMIT, SEEDED_FLUSH, STALL};
use eoshost_tests::{
    Broker, Eoshost, Isolation, OutputRecord, Postgres, Scenario, TRANSACTION_TIMEOUT, eoshost_binary, plugin_path, unique_suffix,
};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use serde_json::{Value, json};

const PARTITIONS: i32 = 3;

// ---------------------------------------------------------------------------
// sr_client.py's orders, as eoshost's Avro mapping shows them to a plugin
// (docs/typed-records.md): the decimal as text with its two digits, the
// timestamp-millis as RFC 3339 text, the enum as its symbol.

const NAMES: [&str; 6] = ["Ana", "Zoë Ångström", "東京 Trading", "O'Brien \"Q\"", "Søren\\Kierkegaard", "Émile"];
const COUNTRIES: [&str; 5] = ["DE", "US", "JP", "BR", "FR"];
const STATUSES: [&str; 4] = ["NEW", "PAID", "SHIPPED", "CANCELLED"];
/// 2023-11-14T22:13:20Z.
const CREATED_BASE_MS: i64 = 1_700_000_000_000;

/// The key sr_client.py gives order `n`.
fn key_of(n: u64) -> String {
    format!("c-{}", n % 40)
}

/// Order `n`'s amount in cents (negative for every eleventh).
fn amount_cents(n: u64) -> i64 {
    let cents = (n * 37 % 1_000_000) as i64;
    if n.is_multiple_of(11) { -cents } else { cents }
}

/// Order `n`'s `created`, in milliseconds since the epoch.
fn created_ms(n: u64) -> i64 {
    CREATED_BASE_MS + n as i64 * 1_000 + (n % 997) as i64
}

fn note(n: u64) -> Option<String> {
    (!n.is_multiple_of(5)).then(|| format!("note {n} ✓"))
}

fn customer(n: u64) -> Value {
    json!({"id": key_of(n), "name": NAMES[n as usize % NAMES.len()], "country": COUNTRIES[n as usize % COUNTRIES.len()]})
}

fn tags(n: u64) -> Value {
    let all = [format!("t{}", n % 3), format!("t{}", n % 7), "x".to_owned()];
    json!(all[..(n % 4) as usize])
}

fn attrs(n: u64) -> Value {
    if n.is_multiple_of(4) { json!({}) } else { json!({"k": n.to_string(), "src": "sr-client"}) }
}

/// Cents as a decimal of scale 2: `-12.30`, `0.05`.
fn decimal_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// Order `n` of `sr_client.py` (schema v1) as the JSON a plugin sees.
fn order_json(n: u64) -> Value {
    json!({
        "id": format!("o-{n}"),
        "n": n,
        "customer": customer(n),
        "amount": decimal_text(amount_cents(n)),
        "note": note(n),
        "status": STATUSES[n as usize % STATUSES.len()],
        "tags": tags(n),
        "attrs": attrs(n),
        "created": rfc3339_ms(created_ms(n)),
    })
}

/// Milliseconds since the epoch as RFC 3339 UTC text with milliseconds
/// (days to a civil date: Howard Hinnant's `civil_from_days`).
fn rfc3339_ms(ms: i64) -> String {
    let (days, of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute, second, milli) = (of_day / 3_600_000, of_day / 60_000 % 60, of_day / 1_000 % 60, of_day % 1_000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

#[test]
fn rfc3339_text_of_epoch_milliseconds() {
    assert_eq!(rfc3339_ms(CREATED_BASE_MS), "2023-11-14T22:13:20.000Z");
    assert_eq!(rfc3339_ms(created_ms(22)), "2023-11-14T22:13:42.022Z");
    assert_eq!(rfc3339_ms(951_782_400_000 - 1), "2000-02-28T23:59:59.999Z");
    assert_eq!(decimal_text(-814), "-8.14");
    assert_eq!(decimal_text(5), "0.05");
}

// ---------------------------------------------------------------------------
// sr_client.py's `serialize` and `deserialize`, and the bytes between them.

/// `sr_client.py <subcommand> <args>` to its end; its stdout. Its stderr
/// goes to `<log dir>/sr-client-<subcommand>-<unique>.stderr`.
fn sr_client(scenario: &Scenario, subcommand: &str, args: &[&str]) -> anyhow::Result<String> {
    let stderr_path = scenario.log_dir().join(format!("sr-client-{subcommand}-{}.stderr", unique_suffix()));
    let stderr = std::fs::File::create(&stderr_path).with_context(|| format!("creating {}", stderr_path.display()))?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/sr_client.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(subcommand)
        .args(args)
        .stdin(Stdio::null())
        .stderr(stderr)
        .output()
        .with_context(|| format!("running sr_client.py {subcommand}"))?;
    if !output.status.success() {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        anyhow::bail!("sr_client.py {subcommand} {} failed ({}):\n{stderr}", args.join(" "), output.status);
    }
    String::from_utf8(output.stdout).context("sr_client.py wrote no UTF-8")
}

/// Standard, padded base64 (what sr_client.py prints) to bytes.
fn from_base64(text: &str) -> anyhow::Result<Vec<u8>> {
    let sextet = |c: u8| -> anyhow::Result<u32> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => anyhow::bail!("not base64: {text:?}"),
        }
        .into())
    };
    let text = text.trim().as_bytes();
    anyhow::ensure!(text.len().is_multiple_of(4), "base64 of {} characters: {:?}", text.len(), String::from_utf8_lossy(text));
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    for quad in text.chunks(4) {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        let mut bits = 0u32;
        for &c in &quad[..4 - padding] {
            bits = bits << 6 | sextet(c)?;
        }
        bits <<= 6 * padding as u32;
        bytes.extend_from_slice(&bits.to_be_bytes()[1..4 - padding]);
    }
    Ok(bytes)
}

#[test]
fn base64_comes_back_as_bytes() {
    assert_eq!(from_base64("AAAAACkGby0x").expect("base64"), [0, 0, 0, 0, 0x29, 6, b'o', b'-', b'1']);
    assert_eq!(from_base64("/w==").expect("base64"), [0xff]);
    assert_eq!(from_base64("/wA=").expect("base64"), [0xff, 0]);
    assert!(from_base64("abc").is_err());
}

/// The schema id of a Confluent-framed value (magic byte 0, a 4-byte id).
fn schema_id(framed: &[u8]) -> Option<u32> {
    match framed {
        [0, a, b, c, d, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// `values` serialized by Confluent's AvroSerializer with the Avro schema
/// in `schema` (registered under `<topic>-value`), no Kafka involved.
fn serialize_records(
    scenario: &Scenario,
    client: &SrClient,
    topic: &str,
    schema: &Path,
    values: &[Value],
) -> anyhow::Result<Vec<Vec<u8>>> {
    let file = scenario.log_dir().join(format!("{topic}.records.jsonl"));
    let lines: String = values.iter().map(|value| format!("{value}\n")).collect();
    std::fs::write(&file, lines).with_context(|| format!("writing {}", file.display()))?;
    let (file, schema) = (file.display().to_string(), schema.display().to_string());
    let args = ["--registry", client.registry_url(), "--topic", topic, "--records", &file, "--schema-file", &schema];
    let framed = sr_client(scenario, "serialize", &args)?.lines().map(from_base64).collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(framed.len() == values.len(), "serialize gave {} values for {}", framed.len(), values.len());
    Ok(framed)
}

/// One record as `sr_client.py deserialize` read it.
#[derive(Debug)]
struct Deserialized {
    at: String,
    key: Option<String>,
    schema_id: Option<u64>,
    /// The deserializer's value, or its refusal.
    value: Result<Value, String>,
}

/// `topic` read with `read_committed` through Confluent's AvroDeserializer,
/// until `count` records are in and every partition is at its end.
fn deserialize_topic(scenario: &Scenario, client: &SrClient, topic: &str, count: usize) -> anyhow::Result<Vec<Deserialized>> {
    let count = count.to_string();
    let args =
        ["--bootstrap", scenario.broker().bootstrap(), "--registry", client.registry_url(), "--topic", topic, "--count", &count];
    sr_client(scenario, "deserialize", &args)?
        .lines()
        .map(|line| {
            let json: Value = serde_json::from_str(line).with_context(|| format!("deserialize printed {line}"))?;
            let value = match (json.get("value"), json.get("error")) {
                (Some(value), _) => Ok(value.clone()),
                (None, error) => Err(error.and_then(Value::as_str).unwrap_or("no value, no error").to_owned()),
            };
            Ok(Deserialized {
                at: format!("{topic}/{}@{}", json["partition"], json["offset"]),
                key: json["key"].as_str().map(str::to_owned),
                schema_id: json["schema_id"].as_u64(),
                value,
            })
        })
        .collect()
}

/// Writes `records` (key, value) to `topic` with an idempotent producer,
/// each where its key hashes, and waits until all are acknowledged.
fn produce(broker: &Broker, topic: &str, records: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let producer: BaseProducer =
        broker.config().set("enable.idempotence", "true").set("acks", "all").create().context("creating the producer")?;
    for (key, value) in records {
        let mut record = BaseRecord::to(topic).key(key.as_bytes()).payload(value.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((error, back)) if error.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => anyhow::bail!("producing to {topic}: {error}"),
            }
        }
    }
    producer.flush(SEEDED_FLUSH).with_context(|| format!("flushing {} records to {topic}", records.len()))?;
    Ok(())
}

/// The first `limit` of `problems`, one a line, and how many there are.
fn first_problems(problems: &[String], limit: usize) -> String {
    let shown: Vec<&str> = problems.iter().take(limit).map(String::as_str).collect();
    format!("{} problems, the first {}:\n{}", problems.len(), shown.len(), shown.join("\n"))
}

// ---------------------------------------------------------------------------
// 1. The PostgreSQL sink into the user's table

/// Waits until `eoshost_offsets` holds the end of every partition of
/// `input` for `group`; fails when `run` ends on its own.
fn wait_sink_complete(pg: &Postgres, broker: &Broker, input: &str, group: &str, run: &mut Eoshost) -> anyhow::Result<()> {
    let end = broker.end_offsets(input)?;
    let deadline = Instant::now() + ALL_COMMITTED;
    loop {
        let committed = pg.committed_offsets(group, input).unwrap_or_default();
        if end.iter().enumerate().all(|(p, &end)| end == 0 || committed.get(&(p as i32)).is_some_and(|&next| next >= end)) {
            return Ok(());
        }
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{} ended on its own ({exit}):\n{}", run.label(), run.stderr_tail(40));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "eoshost_offsets of {group} at {committed:?}, short of the end {end:?} after {ALL_COMMITTED:?}:\n{}",
            run.stderr_tail(20)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One row of the orders table, as [`ORDER_ROW`] reads it.
#[derive(Debug, PartialEq)]
struct OrderRow {
    id: String,
    amount: String,
    note: Option<String>,
    status: String,
    created_ms: i64,
    customer: Value,
    tags: Value,
    attrs: Value,
}

/// The row order `n` must be.
fn expected_row(n: u64) -> OrderRow {
    OrderRow {
        id: format!("o-{n}"),
        amount: decimal_text(amount_cents(n)),
        note: note(n),
        status: STATUSES[n as usize % STATUSES.len()].to_owned(),
        created_ms: created_ms(n),
        customer: customer(n),
        tags: tags(n),
        attrs: attrs(n),
    }
}

/// Every column of the orders table, in the types PostgreSQL gives them
/// back as: numeric and jsonb as text, the timestamp in epoch milliseconds.
const ORDER_ROW: &str = "SELECT n, id, amount::text, note, status, (extract(epoch FROM created) * 1000)::bigint, \
                         customer::text, array_to_json(tags)::text, attrs::text FROM";

#[test]
fn avro_orders_land_in_the_users_table_field_by_field() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_sink_columns");
    let broker = scenario.broker();
    let pg = Postgres::get()?;
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", PARTITIONS)?;
    let total = scenario.scaled(300).max(12);
    client.produce(&input, &Produce::new(Format::Avro, 0, total))?;

    // The user's table: one column per field of the order, each of a type
    // the Avro mapping's JSON converts to. No unique key: a record written
    // twice would be two rows.
    let table = format!("typed_orders_{}", unique_suffix());
    pg.client()?.batch_execute(&format!(
        "CREATE TABLE {table} (id text NOT NULL, n bigint NOT NULL, customer jsonb, amount numeric(12,2), note text, \
         status text, tags text[], attrs jsonb, created timestamptz)"
    ))?;
    let group = scenario.unique("group");
    // --output is the sink's optional allow-list; identity names no topic.
    let spec = client.typed(scenario.spec("identity", &input, &["unused"], &group), Format::Avro, false).args([
        "--sink",
        "postgres",
        "--postgres-url",
        pg.url(),
        "--table",
        &table,
        "--columns",
        "auto",
    ]);
    let mut run = scenario.spawn(&spec, "sink")?;
    wait_sink_complete(&pg, broker, &input, &group, &mut run)?;
    stop_final_run(&mut run)?;

    let mut rows: BTreeMap<i64, Vec<OrderRow>> = BTreeMap::new();
    for row in pg.client()?.query(&format!("{ORDER_ROW} {table}"), &[])? {
        let json = |i: usize| -> anyhow::Result<Value> {
            let text: Option<String> = row.get(i);
            text.map_or(Ok(Value::Null), |text| serde_json::from_str(&text).with_context(|| format!("column {i}: {text}")))
        };
        rows.entry(row.get(0)).or_default().push(OrderRow {
            id: row.get(1),
            amount: row.get(2),
            note: row.get(3),
            status: row.get(4),
            created_ms: row.get(5),
            customer: json(6)?,
            tags: json(7)?,
            attrs: json(8)?,
        });
    }
    let mut problems = Vec::new();
    for n in 0..total {
        match rows.remove(&(n as i64)).unwrap_or_default().as_slice() {
            [] => problems.push(format!("order {n}: no row")),
            [row] if *row != expected_row(n) => problems.push(format!("order {n}: row {row:?}, expected {:?}", expected_row(n))),
            [_] => {}
            more => problems.push(format!("order {n}: {} rows", more.len())),
        }
    }
    problems.extend(rows.iter().map(|(n, found)| format!("n {n}: {} rows of no order produced", found.len())));
    scenario.report(&format!("SUMMARY typed_sink_columns orders={total} table={table} problems={}", problems.len()));
    assert!(
        problems.is_empty(),
        "Avro orders through --sink postgres --columns auto into {table}: {}",
        first_problems(&problems, 10)
    );
    pg.drop_tables(&[&table]);
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. A chain: enrich, then identity

/// `demo/<name>`.
fn demo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo").join(name)
}

/// Demo order `n` (`demo/order.avsc`); the last of `count` has a total
/// above 2^53, which only an exact integer path keeps.
fn demo_order(n: u64, count: u64) -> Value {
    const COUNTRIES: [&str; 8] = ["DE", "US", "JP", "BR", "FR", "CA", "SG", "Ωmega"];
    let (quantity, unit_price_cents) =
        if n + 1 == count { (1_000_000_000, 1_000_000_000) } else { (1 + n % 9, n * 1_237 % 100_000 + 1) };
    json!({
        "order_id": format!("o-{n}"),
        "customer_id": if n % 7 == 3 { format!("Zoë-{}", n % 13) } else { format!("c-{}", n % 13) },
        "country": COUNTRIES[n as usize % COUNTRIES.len()],
        "quantity": quantity,
        "unit_price_cents": unit_price_cents,
        "coupon": if n.is_multiple_of(3) { Value::from(format!("SAVE{}", n % 10)) } else { Value::Null },
    })
}

/// What `enrich` makes of a demo order (`demo/enriched-order.avsc`).
fn enriched(order: &Value) -> Value {
    let country = order["country"].as_str().unwrap_or_default();
    let region = match country {
        "DE" | "FR" | "NL" | "ES" | "IT" | "PL" | "SE" => "EU",
        "US" | "CA" | "MX" => "NA",
        "JP" | "CN" | "IN" | "SG" | "AU" | "KR" => "APAC",
        _ => "OTHER",
    };
    let (quantity, unit_price) = (order["quantity"].as_u64().unwrap_or(0), order["unit_price_cents"].as_u64().unwrap_or(0));
    json!({
        "order_id": order["order_id"],
        "customer_id": order["customer_id"],
        "country": country,
        "region": region,
        "quantity": quantity,
        "unit_price_cents": unit_price,
        "total_cents": quantity * unit_price,
    })
}

#[test]
fn a_chain_decodes_once_and_encodes_once() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_chain");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let count = scenario.scaled(200).max(8);
    let orders: Vec<Value> = (0..count).map(|n| demo_order(n, count)).collect();
    let framed = serialize_records(&scenario, &client, &input, &demo_file("order.avsc"), &orders)?;
    let input_id = schema_id(&framed[0]).context("the serializer's value has no Confluent framing")?;
    let records: Vec<(String, Vec<u8>)> = orders
        .iter()
        .zip(framed)
        .map(|(order, value)| (order["customer_id"].as_str().unwrap_or_default().to_owned(), value))
        .collect();
    produce(broker, &input, &records)?;

    // enrich takes the decoded order; identity takes enrich's JSON as is.
    // A decode or an encode between them would hand one of them bytes that
    // are not the JSON it reads, and the output would not be the enriched
    // order in the enriched schema.
    let group = scenario.unique("group");
    let spec = client
        .typed(scenario.spec("enrich", &input, &[&output], &group), Format::Avro, false)
        .args(["--plugin".to_owned(), plugin_path("identity").display().to_string()])
        .args(["--output-value-schema".to_owned(), demo_file("enriched-order.avsc").display().to_string()]);
    let mut run = scenario.spawn(&spec, "enrich-identity")?;
    broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;
    stop_final_run(&mut run)?;

    let read = deserialize_topic(&scenario, &client, &output, orders.len())?;
    let mut expected: HashMap<String, (Value, &str)> = orders
        .iter()
        .map(|order| {
            let id = order["order_id"].as_str().unwrap_or_default().to_owned();
            (id, (enriched(order), order["customer_id"].as_str().unwrap_or_default()))
        })
        .collect();
    let mut problems = Vec::new();
    let mut ids: Vec<Option<u64>> = Vec::new();
    for record in &read {
        if !ids.contains(&record.schema_id) {
            ids.push(record.schema_id);
        }
        let value = match &record.value {
            Ok(value) => value,
            Err(error) => {
                problems.push(format!("{}: AvroDeserializer refused it: {error}", record.at));
                continue;
            }
        };
        let id = value["order_id"].as_str().unwrap_or_default();
        match expected.remove(id) {
            None => problems.push(format!("{}: {value}: no order, or one seen before", record.at)),
            Some((want, _)) if *value != want => problems.push(format!("{}: {value}, expected {want}", record.at)),
            Some((_, key)) if record.key.as_deref() != Some(key) => {
                problems.push(format!("{}: key {:?}, expected the input's {key:?}", record.at, record.key));
            }
            Some(_) => {}
        }
    }
    problems.extend(expected.keys().map(|id| format!("order {id}: not on {output}")));
    scenario.report(&format!(
        "SUMMARY typed_chain orders={count} read={} input_schema_id={input_id} output_schema_ids={ids:?} problems={}",
        read.len(),
        problems.len()
    ));
    assert!(problems.is_empty(), "Avro orders through enrich and identity: {}", first_problems(&problems, 10));
    assert!(
        ids.len() == 1 && ids[0].is_some_and(|id| id != u64::from(input_id)),
        "every output must carry the one id of demo/enriched-order.avsc under {output}-value, not the input's \
         {input_id}: ids {ids:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. A stateful plugin through SIGKILLs

#[test]
fn a_stateful_plugin_counts_typed_records_exactly_once() -> anyhow::Result<()> {
    const KILLS: usize = 2;
    let scenario = Scenario::new("typed_counter_kills");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    scenario.delete_at_end(&format!("{group}.state"));
    let total = scenario.scaled(2_400).max(60);
    // Written after the last SIGKILL, so that the last run must count on
    // from the state it restored.
    let tail = total / 6;
    let rate = scenario.scaled(300);

    // Avro orders flow in at a steady rate while counter, which counts per
    // key in its state and writes {"key":…,"count":…}, is killed.
    let mut producer = client.produce_in_background(&input, &Produce::new(Format::Avro, 0, total - tail).rate(rate))?;
    let spec = client
        .typed(scenario.spec("counter", &input, &[&output], &group), Format::Avro, false)
        .plugin_config("format=json")
        .args(["--output-value-format", "json"])
        .transactional_id(&scenario.unique("txn"))
        .fast_failure_detection();
    let progress = broker.progress(&group, &input)?;
    let mut run = scenario.spawn(&spec, "counter")?;
    progress.wait_progress(0, &mut [&mut run], FIRST_COMMIT)?;
    let mut kills_while_producing = 0;
    for kill in 1..=KILLS {
        std::thread::sleep(scenario.random_ms(500, 2_000));
        if producer.is_running() {
            kills_while_producing += 1;
        }
        kill_mid_work(&scenario, &mut run, &progress.describe())?;
        run = scenario.spawn(&spec, &format!("counter-after-kill{kill}"))?;
    }
    producer.finish(Duration::from_secs(120))?;
    client.produce(&input, &Produce::new(Format::Avro, total - tail, tail))?;
    if let Some(problem) =
        wait_all_committed_or_stall(broker, &progress, &input, &mut [&mut run], STALL, Duration::from_secs(120))?
    {
        panic!("{problem}\nstderr tail:\n{}", run.stderr_tail(30));
    }
    let restored = run.stderr().contains("restored state from the changelog");
    stop_final_run(&mut run)?;

    let mut per_key: HashMap<String, usize> = HashMap::new();
    for n in 0..total {
        *per_key.entry(key_of(n)).or_default() += 1;
    }
    let outputs = broker.read_topic(&output, Isolation::Committed, total as usize)?;
    // Each value must be {"key": <the record's key>, "count": N}; N then
    // goes to the tally as the plain count it expects. Anything else stays
    // as it is and counts as unexpected.
    let counts: Vec<OutputRecord> = outputs
        .into_iter()
        .map(|mut record| {
            let json: Option<Value> = record.value.as_deref().and_then(|v| serde_json::from_slice(v).ok());
            if let Some(json) = json
                && json["key"].as_str() == record.key_text().as_deref()
                && let Some(count) = json["count"].as_u64()
            {
                record.value = Some(count.to_string().into_bytes());
            }
            record
        })
        .collect();
    let tally = CountTally::count(&per_key, &counts);
    scenario.report(&format!(
        "SUMMARY typed_counter_kills records={total} keys={} outputs={} duplicates={} gaps={} order_violations={} \
         unexpected={} kills={KILLS} kills_while_producing={kills_while_producing} last_run_restored={restored}",
        tally.keys, tally.outputs, tally.duplicates, tally.gaps, tally.order_violations, tally.unexpected
    ));
    assert!(
        tally.is_exactly_once(),
        "counter on Avro orders through {KILLS} SIGKILLs: every key must count 1..n once, in order\n{}",
        tally.samples()
    );
    broker.assert_no_hanging_transaction(&[&output], TRANSACTION_TIMEOUT)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. `eoshost test`

#[test]
fn eoshost_test_decodes_wire_format_lines_and_checks_outputs() -> anyhow::Result<()> {
    const SERIALIZED: u64 = 22;
    const PLAIN: u64 = 30;
    let scenario = Scenario::new("typed_eoshost_test");
    let client = SrClient::new(&scenario);
    // Only the registry is involved: the subject is named after a topic
    // that never exists.
    let subject_topic = scenario.unique("serialized");
    let line = sr_client(
        &scenario,
        "serialize",
        &["--registry", client.registry_url(), "--topic", &subject_topic, "--n", &SERIALIZED.to_string()],
    )?;
    let framed = line.trim().to_owned();
    anyhow::ensure!(schema_id(&from_base64(&framed)?).is_some(), "serialize printed no framed value: {line:?}");

    let mut missing = order_json(PLAIN + 1);
    missing.as_object_mut().context("an order is an object")?.remove("created");
    let mut mistyped = order_json(PLAIN + 2);
    mistyped["n"] = json!("thirty-two");
    let lines = [
        json!({"value_b64": framed}),
        json!({"value": order_json(PLAIN).to_string()}),
        json!({"value": missing.to_string()}),
        json!({"value": mistyped.to_string()}),
    ];
    let input = scenario.log_dir().join("input.jsonl");
    std::fs::write(&input, lines.iter().map(|line| format!("{line}\n")).collect::<String>())?;

    let output = Command::new(eoshost_binary())
        .args(["test", "--plugin", &plugin_path("identity").display().to_string()])
        .args(["--value-format", "avro", "--schema-registry-url", client.registry_url()])
        .args(["--output-value-schema", &schema_file("order-v1.avsc").display().to_string()])
        .args(["--input", &input.display().to_string()])
        .stdin(Stdio::null())
        .output()
        .context("running eoshost test")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    scenario.report(&format!("eoshost test: {}\nstdout:\n{stdout}stderr:\n{stderr}", output.status));
    assert!(output.status.success(), "eoshost test failed ({}):\n{stderr}", output.status);
    let printed: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).with_context(|| format!("not JSON: {line}")))
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(printed.len(), lines.len(), "one line per input line:\n{stdout}");

    // The wire-format line decodes through the registry to the order the
    // serializer was given; the JSON line passes as written.
    for (at, n) in [(0, SERIALIZED), (1, PLAIN)] {
        let value = printed[at]["value"].as_str().map(serde_json::from_str::<Value>);
        assert!(
            matches!(&value, Some(Ok(value)) if *value == order_json(n)),
            "line {at}: the output value must be order {n} as JSON, {}, not {}",
            order_json(n),
            printed[at]
        );
    }
    // The misfits are refused, each naming its offset and the field.
    for (at, field, words) in [(2, "$.created", ["missing", "default"]), (3, "$.n", ["long", "thirty-two"])] {
        let error = printed[at]["error"].as_str().unwrap_or_default();
        assert!(
            printed[at]["offset"] == json!(at) && error.contains(field) && words.iter().all(|w| error.contains(w)),
            "line {at}: expected {{\"offset\":{at},\"error\":…}} naming {field} and saying {words:?}, not {}",
            printed[at]
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Schema references: a schema that names a type registered under another
// subject.

#[test]
fn a_schema_with_a_reference_decodes_and_is_registered_with_it_for_the_output() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_schema_references");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", 1)?;
    let avro = scenario.topic("avro", 1)?;
    let json_out = scenario.topic("json", 1)?;
    let count = 20u64;
    // Order names shop.refs.Customer, registered under <input>-customer.
    let ids = sr_client(
        &scenario,
        "produce-referenced",
        &[
            "--bootstrap",
            broker.bootstrap(),
            "--registry",
            client.registry_url(),
            "--topic",
            &input,
            "--count",
            &count.to_string(),
        ],
    )?;
    let ids: Value = serde_json::from_str(ids.lines().last().unwrap_or_default())?;

    // Avro to Avro: the input's schema goes to the output subject with its
    // reference; then Avro to JSON, to see what a plugin sees.
    let to_avro = client.typed(scenario.spec("identity", &input, &[&avro], &scenario.unique("group")), Format::Avro, false);
    let to_json = client
        .typed(scenario.spec("identity", &avro, &[&json_out], &scenario.unique("group")), Format::Avro, false)
        .args(["--output-value-format", "json"]);
    let mut first = scenario.spawn(&to_avro, "to-avro")?;
    let mut second = scenario.spawn(&to_json, "to-json")?;
    let outputs = broker.read_topic(&json_out, Isolation::Committed, count as usize);
    let _ = first.terminate(ALL_COMMITTED);
    let _ = second.terminate(ALL_COMMITTED);
    let outputs = outputs?;

    let mut seen: Vec<Value> =
        outputs.iter().filter_map(|r| r.value.as_deref().and_then(|v| serde_json::from_slice(v).ok())).collect();
    seen.sort_by_key(|v| v["id"].as_str().and_then(|id| id.strip_prefix("r-")).and_then(|n| n.parse::<u64>().ok()));
    let expected: Vec<Value> =
        (0..count).map(|n| json!({"id": format!("r-{n}"), "customer": {"id": format!("c-{n}"), "tier": n % 3}})).collect();
    assert_eq!(seen, expected, "the referring orders, as a plugin sees them (input schema ids {ids})");

    let latest = http_get_json(&format!("{}/subjects/{avro}-value/versions/latest", client.registry_url()))?;
    let references = latest["references"].as_array().cloned().unwrap_or_default();
    assert!(
        references.iter().any(|r| r["name"] == "shop.refs.Customer" && r["subject"] == format!("{input}-customer")),
        "the output subject's schema lost its reference: {latest}"
    );
    Ok(())
}

/// GET `url` (a registry's), its JSON.
fn http_get_json(url: &str) -> anyhow::Result<Value> {
    let output = Command::new("curl").args(["-sf", url]).output().context("running curl")?;
    anyhow::ensure!(output.status.success(), "GET {url} failed");
    Ok(serde_json::from_slice(&output.stdout)?)
}
