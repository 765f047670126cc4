//! Typed records (`--value-format avro|protobuf|json-schema`) against a real
//! Schema Registry (`scripts/schema-registry`) and a client nobody on
//! eoshost wrote: Confluent's Python serializers (`tests/python/sr_client.py`)
//! write numbered orders — a nested record, a decimal, a nullable note, an
//! enum, an array, a map, a timestamp, and in v2 an optional `channel` — and
//! Confluent's deserializers read eoshost's outputs back with
//! `read_committed`, comparing every field of every record with what it
//! must be. Bad inputs and outputs that do not fit are dead-lettered with
//! their bytes and a reason; an incompatible output schema stops eoshost at
//! start; a frozen registry holds records back and loses none.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eoshost_tests::faults::{http_get, kill_mid_work, samples_by_label, stop_final_run, wait_all_committed_or_stall};
use eoshost_tests::schema_registry::{Expect, Format, Produce, Raw, RawRecord, Registry, Shape, SrClient, Version, schema_file};
use eoshost_tests::timeouts::{ALL_COMMITTED, ALL_COMMITTED_SOON, EXIT_AT_START, FIRST_COMMIT, STALL};
use eoshost_tests::{Exit, Isolation, OutputRecord, Scenario, TRANSACTION_TIMEOUT, mentions_number, metrics};

const PARTITIONS: i32 = 3;

/// The key sr_client.py gives order `n` (UTF-8 text unless typed).
fn key_of(n: u64) -> String {
    format!("c-{}", n % 40)
}

/// `--output-value-schema tests/schemas/<name>`.
fn output_schema(name: &str) -> [String; 2] {
    ["--output-value-schema".to_owned(), schema_file(name).display().to_string()]
}

/// A numeric header of a dead letter (decimal text).
fn header_number(letter: &OutputRecord, name: &str) -> Option<i64> {
    letter.header(name)?.trim().parse().ok()
}

/// The dead letters that are no marker of the hanging-transaction check.
fn letters(records: Vec<OutputRecord>) -> Vec<OutputRecord> {
    records.into_iter().filter(|record| !record.is_marker()).collect()
}

/// `eoshost_schema_rejections_total` by kind, from the instance at `addr`.
fn rejections(addr: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let text = metrics::scrape(addr).ok_or_else(|| anyhow::anyhow!("no /metrics at {addr}"))?;
    Ok(samples_by_label(&text, "eoshost_schema_rejections_total", "kind"))
}

/// Whether a dead letter's `eoshost.error` must name the input's offset: an
/// input that does not decode is named by its offset; an output that does
/// not fit is named by its field (its source is in the headers).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Offset {
    Named,
    InHeadersOnly,
}

/// What is wrong with the dead letter of input `original` (at its
/// partition and offset): it must exist once, hold the original bytes and
/// key and name its source in its headers, and its `eoshost.error` must
/// contain each of `cause` (and the offset, when `offset` says so). Empty
/// when all is right.
fn dead_letter_problems(
    letters: &[OutputRecord],
    input: &str,
    original: &RawRecord,
    offset: Offset,
    cause: &[&str],
) -> Vec<String> {
    let at = format!("input {input}/{}@{} (n {})", original.partition, original.offset, original.n);
    let found: Vec<&OutputRecord> = letters
        .iter()
        .filter(|l| {
            header_number(l, "eoshost.source.partition") == Some(i64::from(original.partition))
                && header_number(l, "eoshost.source.offset") == Some(original.offset)
        })
        .collect();
    let [letter] = found.as_slice() else {
        return vec![format!("{at}: {} dead letters, not 1", found.len())];
    };
    let mut problems = Vec::new();
    if letter.value.as_deref() != Some(original.value.as_slice()) {
        problems.push(format!("{at}: the dead letter's value {:?} is not the original bytes {:?}", letter.value, original.value));
    }
    if letter.key_text().as_deref() != Some(key_of(original.n).as_str()) {
        problems.push(format!("{at}: key {:?}, not the original {:?}", letter.key_text(), key_of(original.n)));
    }
    if letter.header("eoshost.source.topic").as_deref() != Some(input) {
        problems.push(format!("{at}: eoshost.source.topic {:?}", letter.header("eoshost.source.topic")));
    }
    let error = letter.header("eoshost.error").unwrap_or_default();
    if offset == Offset::Named && !mentions_number(&error, original.offset) {
        problems.push(format!("{at}: eoshost.error {error:?} does not name offset {}", original.offset));
    }
    for word in cause {
        if !error.to_lowercase().contains(&word.to_lowercase()) {
            problems.push(format!("{at}: eoshost.error {error:?} does not mention {word:?}"));
        }
    }
    problems
}

/// The records of a topic as written, read with `read_committed`. Their
/// `n` is the key's number (`c-<n % 40>`), enough for the key check of
/// [`dead_letter_problems`].
fn as_written(scenario: &Scenario, topic: &str, count: usize) -> anyhow::Result<Vec<RawRecord>> {
    let records = scenario.broker().read_topic(topic, Isolation::Committed, count)?;
    Ok(records
        .into_iter()
        .map(|record| RawRecord {
            n: record.key_text().and_then(|k| k.strip_prefix("c-")?.parse().ok()).unwrap_or(u64::MAX),
            partition: record.partition,
            offset: record.offset,
            value: record.value.unwrap_or_default(),
        })
        .collect())
}

#[test]
fn avro_from_a_real_client_comes_back_field_by_field_exactly_once_through_kills() -> anyhow::Result<()> {
    const KILLS: usize = 3;
    let scenario = Scenario::new("typed_avro_kills");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    let total = scenario.scaled(6_000).max(20);
    let v2_from = total / 2;
    let rate = scenario.scaled(300);

    // v1 orders, then v2 ones with the new optional field, at a steady
    // rate, while eoshost is killed; no output schema is given, so the
    // input's writer schemas are registered under the output's subject.
    let producer = {
        let (client, input) = (client.clone(), input.clone());
        std::thread::spawn(move || -> anyhow::Result<()> {
            client.produce(&input, &Produce::new(Format::Avro, 0, v2_from).rate(rate))?;
            client.produce(&input, &Produce::new(Format::Avro, v2_from, total - v2_from).version(Version::V2).rate(rate))
        })
    };
    let spec = client
        .typed(scenario.spec("identity", &input, &[&output], &group), Format::Avro, false)
        .transactional_id(&scenario.unique("txn"));
    let progress = broker.progress(&group, &input)?;
    let mut run = scenario.spawn(&spec, "identity")?;
    progress.wait_progress(0, &mut [&mut run], FIRST_COMMIT)?;
    let mut kills_while_producing = 0;
    for kill in 1..=KILLS {
        std::thread::sleep(scenario.random_ms(2_000, 4_000));
        if !producer.is_finished() {
            kills_while_producing += 1;
        }
        kill_mid_work(&scenario, &mut run, &progress.describe())?;
        run = scenario.spawn(&spec, &format!("identity-after-kill{kill}"))?;
    }
    producer.join().map_err(|_| anyhow::anyhow!("the producing thread panicked"))??;
    if let Some(problem) =
        wait_all_committed_or_stall(broker, &progress, &input, &mut [&mut run], STALL, Duration::from_secs(120))?
    {
        panic!("{problem}\nstderr tail:\n{}", run.stderr_tail(30));
    }
    stop_final_run(&mut run)?;

    let summary = client.consume(&output, &Expect::new(Format::Avro, 0, total).v2_from(v2_from))?;
    scenario.report(&format!(
        "SUMMARY typed_avro_kills records={total} v2_from={v2_from} kills={KILLS} kills_while_producing={kills_while_producing} {summary}"
    ));
    summary.assert_exact("Avro orders through eoshost and three SIGKILLs, read back by Confluent's AvroDeserializer");
    assert!(
        summary.schema_ids.len() >= 2,
        "v1 and v2 orders must come out under two schema ids of {output}-value, found {:?}",
        summary.schema_ids
    );
    broker.assert_no_hanging_transaction(&[&output], TRANSACTION_TIMEOUT)?;
    Ok(())
}

#[test]
fn an_output_schema_v1_drops_the_new_field_and_v2_keeps_it() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_avro_output_schema");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", PARTITIONS)?;
    let out_v1 = scenario.topic("out-v1", PARTITIONS)?;
    let out_v2 = scenario.topic("out-v2", PARTITIONS)?;
    let total = scenario.scaled(400).max(4);
    let v2_from = total / 2;
    client.produce(&input, &Produce::new(Format::Avro, 0, v2_from))?;
    client.produce(&input, &Produce::new(Format::Avro, v2_from, total - v2_from).version(Version::V2))?;

    // Two instances on the same input, each with its own output schema.
    let (group_v1, group_v2) = (scenario.unique("group-v1"), scenario.unique("group-v2"));
    let spec_v1 = client
        .typed(scenario.spec("identity", &input, &[&out_v1], &group_v1), Format::Avro, false)
        .args(output_schema("order-v1.avsc"));
    let spec_v2 = client
        .typed(scenario.spec("identity", &input, &[&out_v2], &group_v2), Format::Avro, false)
        .args(output_schema("order-v2.avsc"));
    let mut run_v1 = scenario.spawn(&spec_v1, "to-v1")?;
    let mut run_v2 = scenario.spawn(&spec_v2, "to-v2")?;
    broker.progress(&group_v1, &input)?.wait_all_committed(&mut [&mut run_v1, &mut run_v2], ALL_COMMITTED)?;
    broker.progress(&group_v2, &input)?.wait_all_committed(&mut [&mut run_v1, &mut run_v2], ALL_COMMITTED)?;
    stop_final_run(&mut run_v1)?;
    stop_final_run(&mut run_v2)?;

    // Every order comes out in v1's shape: v2's `channel` is gone.
    let as_v1 = client.consume(&out_v1, &Expect::new(Format::Avro, 0, total).shape(Shape::V1))?;
    scenario.report(&format!("written with order-v1.avsc: {as_v1}"));
    as_v1.assert_exact("v1 and v2 orders written with the v1 output schema, read as v1");
    // v1 orders get `channel` null; v2 orders keep theirs.
    let as_v2 = client.consume(&out_v2, &Expect::new(Format::Avro, 0, total).shape(Shape::V2Null).v2_from(v2_from))?;
    scenario.report(&format!("written with order-v2.avsc: {as_v2}"));
    as_v2.assert_exact("v1 and v2 orders written with the v2 output schema, read as v2");
    for (topic, summary) in [(&out_v1, &as_v1), (&out_v2, &as_v2)] {
        assert_eq!(
            summary.schema_ids.len(),
            1,
            "{topic}: one output schema must write every record, ids {:?}",
            summary.schema_ids
        );
    }
    Ok(())
}

#[test]
fn protobuf_and_json_schema_from_a_real_client_come_back_equal() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_protobuf_json_schema");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let total = scenario.scaled(300).max(4);
    let v2_from = total / 2;
    for (format, schema) in [(Format::Protobuf, "order-v2.proto"), (Format::JsonSchema, "order-v2.schema.json")] {
        let input = scenario.topic(&format!("{}-in", format.name()), PARTITIONS)?;
        let same = scenario.topic(&format!("{}-same", format.name()), PARTITIONS)?;
        let filed = scenario.topic(&format!("{}-file", format.name()), PARTITIONS)?;
        client.produce(&input, &Produce::new(format, 0, v2_from).typed_key())?;
        client.produce(&input, &Produce::new(format, v2_from, total - v2_from).version(Version::V2).typed_key())?;

        // Keys and values typed, the inputs' own schemas registered for the
        // output; beside it, values re-encoded with eoshost's schema file
        // (the keys pass as bytes).
        let (group_same, group_file) = (scenario.unique("group-same"), scenario.unique("group-file"));
        let spec_same = client.typed(scenario.spec("identity", &input, &[&same], &group_same), format, true);
        let spec_file =
            client.typed(scenario.spec("identity", &input, &[&filed], &group_file), format, false).args(output_schema(schema));
        let mut run_same = scenario.spawn(&spec_same, &format!("{}-same", format.name()))?;
        let mut run_file = scenario.spawn(&spec_file, &format!("{}-file", format.name()))?;
        broker.progress(&group_same, &input)?.wait_all_committed(&mut [&mut run_same, &mut run_file], ALL_COMMITTED)?;
        broker.progress(&group_file, &input)?.wait_all_committed(&mut [&mut run_same, &mut run_file], ALL_COMMITTED)?;
        stop_final_run(&mut run_same)?;
        stop_final_run(&mut run_file)?;

        // v1 orders stay without `channel` in JSON Schema (no defaults are
        // filled in); in Protobuf an unset optional reads as null either way.
        let expect = Expect::new(format, 0, total).v2_from(v2_from).typed_key();
        let from_input = client.consume(&same, &expect)?;
        scenario.report(&format!("{} with the inputs' schemas: {from_input}", format.name()));
        from_input.assert_exact(&format!("{} orders and keys through eoshost with the inputs' schemas", format.name()));
        let from_file = client.consume(&filed, &expect)?;
        scenario.report(&format!("{} with {schema}: {from_file}", format.name()));
        from_file.assert_exact(&format!("{} orders through eoshost, written with {schema}", format.name()));
    }
    Ok(())
}

#[test]
fn bad_inputs_are_dead_lettered_with_their_bytes_and_a_reason() -> anyhow::Result<()> {
    const UNKNOWN_ID: u32 = 999_999;
    let scenario = Scenario::new("typed_bad_inputs");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let dlq = format!("{input}.dlq");
    scenario.named_topic(&dlq, 1)?;
    let group = scenario.unique("group");
    let known_id = client.register(&format!("{input}-value"), &schema_file("order-v1.avsc"), Format::Avro)?;

    // Good orders around the three bad ones.
    client.produce(&input, &Produce::new(Format::Avro, 0, 20))?;
    let no_magic = client.produce_raw(&input, Raw::NoMagicByte, 1_000, 1)?;
    let unknown = client.produce_raw(&input, Raw::UnknownId(UNKNOWN_ID), 1_001, 1)?;
    let undecodable = client.produce_raw(&input, Raw::Undecodable(known_id), 1_002, 1)?;
    client.produce(&input, &Produce::new(Format::Avro, 20, 20))?;

    let addr = metrics::free_local_addr()?;
    let spec = client.typed(scenario.spec("identity", &input, &[&output], &group), Format::Avro, false).args([
        "--on-error",
        "dlq",
        "--metrics-addr",
        &addr,
    ]);
    let mut run = scenario.spawn(&spec, "dlq")?;
    broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], ALL_COMMITTED_SOON)?;
    let counted = rejections(&addr)?;
    stop_final_run(&mut run)?;

    let summary = client.consume(&output, &Expect::new(Format::Avro, 0, 40))?;
    scenario.report(&format!("good orders: {summary}"));
    summary.assert_exact("the good orders around the bad inputs");

    let letters = letters(broker.read_topic(&dlq, Isolation::Committed, 3)?);
    scenario.report(&format!("dead letters: {}; rejections by kind: {counted:?}", letters.len()));
    let mut problems = Vec::new();
    problems.extend(dead_letter_problems(&letters, &input, &no_magic[0], Offset::Named, &["magic"]));
    problems.extend(dead_letter_problems(&letters, &input, &unknown[0], Offset::Named, &["unknown", &UNKNOWN_ID.to_string()]));
    problems.extend(dead_letter_problems(&letters, &input, &undecodable[0], Offset::Named, &["decode"]));
    if letters.len() != 3 {
        problems.push(format!("{} dead letters, not the 3 bad inputs", letters.len()));
    }
    assert!(problems.is_empty(), "dead letters are wrong:\n{}", problems.join("\n"));

    for (kind, want) in [("no_magic_byte", 1.0), ("unknown_schema", 1.0), ("undecodable", 1.0), ("output_mismatch", 0.0)] {
        assert_eq!(
            counted.get(kind).copied(),
            Some(want),
            "eoshost_schema_rejections_total{{kind=\"{kind}\"}}; all: {counted:?}"
        );
    }
    Ok(())
}

#[test]
fn an_output_that_does_not_fit_the_output_schema_is_rejected_naming_the_field() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_output_mismatch");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let dlq = format!("{input}.dlq");
    scenario.named_topic(&dlq, 1)?;
    let group = scenario.unique("group");
    let count = 10;
    client.produce(&input, &Produce::new(Format::Avro, 0, count))?;

    // The output schema requires `region`, which no order has, and has no
    // default for it.
    let addr = metrics::free_local_addr()?;
    let spec = client
        .typed(scenario.spec("identity", &input, &[&output], &group), Format::Avro, false)
        .args(output_schema("order-v1-required-region.avsc"))
        .args(["--on-error", "dlq", "--metrics-addr", &addr]);
    let mut run = scenario.spawn(&spec, "mismatch")?;
    broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], ALL_COMMITTED_SOON)?;
    let counted = rejections(&addr)?;
    stop_final_run(&mut run)?;

    let outputs = letters(broker.read_topic(&output, Isolation::Uncommitted, 0)?);
    assert!(outputs.is_empty(), "{} outputs were written although none fits the output schema", outputs.len());
    let written = as_written(&scenario, &input, count as usize)?;
    let letters = letters(broker.read_topic(&dlq, Isolation::Committed, count as usize)?);
    scenario.report(&format!("dead letters: {}; rejections by kind: {counted:?}", letters.len()));
    let mut problems: Vec<String> = written
        .iter()
        .flat_map(|original| dead_letter_problems(&letters, &input, original, Offset::InHeadersOnly, &["region"]))
        .collect();
    if letters.len() != written.len() {
        problems.push(format!("{} dead letters for {} inputs", letters.len(), written.len()));
    }
    assert!(problems.is_empty(), "dead letters are wrong:\n{}", problems.join("\n"));
    assert_eq!(
        counted.get("output_mismatch").copied(),
        Some(count as f64),
        "eoshost_schema_rejections_total{{kind=\"output_mismatch\"}}; all: {counted:?}"
    );
    Ok(())
}

#[test]
fn an_incompatible_output_schema_stops_eoshost_at_start_with_exit_2() -> anyhow::Result<()> {
    let scenario = Scenario::new("typed_incompatible_output_schema");
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let subject = format!("{output}-value");
    client.register(&subject, &schema_file("order-v1.avsc"), Format::Avro)?;
    client.set_compatibility(&subject, "BACKWARD")?;

    // A new field without a default: v1 data cannot be read with it.
    let spec = client
        .typed(scenario.spec("identity", &input, &[&output], &scenario.unique("group")), Format::Avro, false)
        .args(output_schema("order-v1-required-region.avsc"));
    let (exit, stderr, _) = scenario.run_to_exit(&spec, "incompatible", EXIT_AT_START)?;
    assert_eq!(exit, Exit::Code(2), "an incompatible output schema is a usage error (exit 2); stderr:\n{stderr}");
    let named = stderr.lines().any(|line| line.contains(&subject) && line.to_lowercase().contains("compatib"));
    assert!(named, "no stderr line names the subject {subject} and the incompatibility; stderr:\n{stderr}");
    Ok(())
}

#[test]
fn a_frozen_registry_holds_records_back_and_loses_none() -> anyhow::Result<()> {
    const FROZEN_FOR: Duration = Duration::from_secs(20);
    let scenario = Scenario::new("typed_registry_frozen");
    let broker = scenario.broker();
    let client = SrClient::new(&scenario);
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let dlq = format!("{input}.dlq");
    scenario.named_topic(&dlq, 1)?;
    let group = scenario.unique("group");
    let subject = format!("{input}-value");
    let (before, during) = (scenario.scaled(300).max(3), scenario.scaled(300).max(3));

    // Orders framed here with a registered id: no registry call to write them.
    let id_v1 = client.register(&subject, &schema_file("order-v1.avsc"), Format::Avro)?;
    client.produce_raw(&input, Raw::Avro(id_v1, Version::V1), 0, before)?;
    let addr = metrics::free_local_addr()?;
    let spec = client
        .typed(scenario.spec("identity", &input, &[&output], &group), Format::Avro, false)
        .transactional_id(&scenario.unique("txn"))
        .args(["--on-error", "dlq", "--metrics-addr", &addr, "--schema-registry-config", "request.timeout.ms=2000"]);
    let progress = broker.progress(&group, &input)?;
    let mut run = scenario.spawn(&spec, "identity")?;
    progress.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;
    let committed_before = progress.committed_total()?;

    // A schema id the instance has never fetched, then the registry frozen
    // while orders with that id arrive.
    let id_v2 = client.register(&subject, &schema_file("order-v2.avsc"), Format::Avro)?;
    assert_ne!(id_v1, id_v2, "v2 must be a new schema id");
    let frozen = Registry::get().freeze()?;
    let frozen_at = Instant::now();
    client.produce_raw(&input, Raw::Avro(id_v2, Version::V2), before, during)?;
    scenario.report(&format!("registry frozen; {during} orders with the new id {id_v2} written"));
    let mut waiting_said = None;
    while frozen_at.elapsed() < FROZEN_FOR {
        if waiting_said.is_none()
            && let Some((503, body)) = http_get(&addr, "/readyz")
            && body.contains("Schema Registry")
        {
            waiting_said = Some((frozen_at.elapsed(), body.trim().to_owned()));
        }
        let committed = progress.committed_total()?;
        assert_eq!(
            committed, committed_before,
            "offsets were committed past the orders whose schema could not be fetched (a record skipped or dead-lettered?)"
        );
        assert!(run.try_exit().is_none(), "eoshost ended while the registry was frozen:\n{}", run.stderr_tail(30));
        std::thread::sleep(Duration::from_millis(250));
    }
    frozen.thaw()?;
    scenario.report(&format!("registry thawed after {:?}; /readyz while frozen: {waiting_said:?}", frozen_at.elapsed()));
    let (after, body) = waiting_said.expect("/readyz never answered 503 naming the Schema Registry while it was frozen");
    assert!(after < FROZEN_FOR, "{body}");

    progress.wait_all_committed(&mut [&mut run], ALL_COMMITTED_SOON)?;
    let ready_again = Instant::now();
    while !matches!(http_get(&addr, "/readyz"), Some((200, _))) {
        assert!(ready_again.elapsed() < Duration::from_secs(10), "/readyz did not answer 200 after the registry came back");
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = metrics::scrape(&addr).ok_or_else(|| anyhow::anyhow!("no /metrics at {addr}"))?;
    let requests = samples_by_label(&text, "eoshost_schema_registry_requests_total", "outcome");
    let cached = metrics::metric_sum(&text, "eoshost_schema_registry_cached_schemas");
    let rejected = metrics::metric_sum(&text, "eoshost_schema_rejections_total");
    scenario.report(&format!("registry requests {requests:?}; cached schemas {cached}; rejections {rejected}"));
    assert!(requests.get("unavailable").is_some_and(|&n| n >= 1.0), "no request counted as unavailable: {requests:?}");
    assert_eq!(cached, 2.0, "the two writer schemas, each fetched once");
    assert_eq!(rejected, 0.0, "a registry outage rejected records");
    stop_final_run(&mut run)?;

    let summary = client.consume(&output, &Expect::new(Format::Avro, 0, before + during).v2_from(before))?;
    scenario.report(&format!("SUMMARY typed_registry_frozen frozen_s={} {summary}", FROZEN_FOR.as_secs()));
    summary.assert_exact("orders held back while the registry was frozen");
    let dead = letters(broker.read_topic(&dlq, Isolation::Uncommitted, 0)?);
    assert!(dead.is_empty(), "{} records were dead-lettered during a registry outage", dead.len());
    Ok(())
}
