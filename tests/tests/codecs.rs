//! Every compression codec in and out: a topic written with gzip, snappy,
//! lz4 or zstd is copied exactly once, and `-X compression.type=…` writes the
//! outputs with that codec (checked in the broker's own log segment, not
//! trusted from the client). And a batch the consumer cannot decode is never
//! a silent loop: eoshost stops with exit code 2 naming topic, partition and
//! offset, after committing everything before it.
//!
//! Runs on the tests' own broker (`eoshost_tests::secured`, through its
//! PLAINTEXT listener) because the checks read and damage log segments.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context as _, ensure};
use eoshost_tests::secured::{BATCH_HEADER_LEN, SecuredBroker, codec_number, read_batches, write_compressed};
use eoshost_tests::timeouts::{ALL_COMMITTED_SOON, EXIT_AFTER_SIGTERM, EXIT_AT_CORRUPT_BATCH};
use eoshost_tests::{EoshostSpec, Exit, Isolation, RecordPlan, Scenario, Tally};

const RECORDS: u64 = 300;

/// The codecs of the data batches of `topic`'s partition 0 (control
/// batches, the transaction markers, are never compressed).
fn data_codecs(secured: &SecuredBroker, topic: &str) -> anyhow::Result<BTreeSet<u8>> {
    let path = secured.segment(topic, 0);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(read_batches(&bytes)?.into_iter().filter(|b| !b.control).map(|b| b.codec).collect())
}

fn copy_with_codec(codec: &str) -> anyhow::Result<()> {
    let secured = SecuredBroker::get();
    let scenario = Scenario::new(&format!("codec_{codec}"));
    let input = scenario.unique("in");
    let output = scenario.unique("out");
    secured.plain.create_topic(&input, 1)?;
    secured.plain.create_topic(&output, 1)?;
    let plan = RecordPlan::new(30, 1);
    write_compressed(&secured.plain, &input, &plan, 0..RECORDS, codec)?;
    ensure!(secured.plain.end_offsets(&input)? == [RECORDS as i64], "not every seeded record arrived");
    let want = BTreeSet::from([codec_number(codec)]);
    assert_eq!(data_codecs(secured, &input)?, want, "the input was not written with {codec}");

    let spec = EoshostSpec::new("identity", &input, &[&output], &scenario.unique("group"), secured.plain.bootstrap())
        .librdkafka(&format!("compression.type={codec}"));
    let mut run = scenario.spawn(&spec, "copy")?;
    secured.plain.progress(spec.group(), &input)?.wait_all_committed(&mut [&mut run], ALL_COMMITTED_SOON)?;
    let outputs = secured.plain.read_topic(&output, Isolation::Committed, RECORDS as usize)?;
    let tally = Tally::count(&(0..RECORDS).collect(), &outputs);
    scenario.report(&format!("{codec}: {tally}"));
    run.terminate(EXIT_AFTER_SIGTERM)?;
    tally.assert_exactly_once(&format!("copy of a {codec} topic"));
    assert_eq!(data_codecs(secured, &output)?, want, "the outputs were not written with {codec}");
    Ok(())
}

#[test]
fn gzip_input_and_output_are_copied_exactly_once() -> anyhow::Result<()> {
    copy_with_codec("gzip")
}

#[test]
fn snappy_input_and_output_are_copied_exactly_once() -> anyhow::Result<()> {
    copy_with_codec("snappy")
}

#[test]
fn lz4_input_and_output_are_copied_exactly_once() -> anyhow::Result<()> {
    copy_with_codec("lz4")
}

#[test]
fn zstd_input_and_output_are_copied_exactly_once() -> anyhow::Result<()> {
    copy_with_codec("zstd")
}

#[test]
fn a_corrupt_input_batch_stops_eoshost_with_exit_2_naming_the_record() -> anyhow::Result<()> {
    let secured = SecuredBroker::get();
    let scenario = Scenario::new("corrupt_batch");
    let input = scenario.unique("in");
    let output = scenario.unique("out");
    secured.plain.create_topic(&input, 1)?;
    secured.plain.create_topic(&output, 1)?;
    let plan = RecordPlan::new(10, 1);
    // Two writes, so two batches: the first stays good, the second is damaged.
    let good = 50;
    write_compressed(&secured.plain, &input, &plan, 0..good, "zstd")?;
    write_compressed(&secured.plain, &input, &plan, good..good + 50, "zstd")?;
    let segment = secured.segment(&input, 0);
    let mut bytes = std::fs::read(&segment)?;
    let batches = read_batches(&bytes)?;
    let damaged = batches.iter().find(|b| b.base_offset == good as i64).context("no batch starts at the second write")?;
    ensure!(damaged.codec == codec_number("zstd") && damaged.records > 0, "unexpected batch {damaged:?}");
    // Overwrite the zstd frame's magic number: no decoder accepts it. The
    // broker serves the file as it is (it checks CRCs on append only).
    let payload = damaged.position + BATCH_HEADER_LEN;
    bytes[payload..payload + 4].copy_from_slice(&[0, 0, 0, 0]);
    std::fs::write(&segment, &bytes)?;
    scenario.report(&format!("damaged the batch at offset {good} ({} records) in {}", damaged.records, segment.display()));

    let spec = EoshostSpec::new("identity", &input, &[&output], &scenario.unique("group"), secured.plain.bootstrap());
    let started = Instant::now();
    let mut run = scenario.spawn(&spec, "corrupt")?;
    let exit = run.wait_exit(EXIT_AT_CORRUPT_BATCH).with_context(|| {
        format!("still running {EXIT_AT_CORRUPT_BATCH:?} after reaching the damaged batch; stderr tail:\n{}", run.stderr_tail(20))
    })?;
    let stderr = run.stderr();
    scenario.report(&format!("{exit} after {:?}; last line: {}", started.elapsed(), stderr.lines().last().unwrap_or("")));
    assert_eq!(exit, Exit::Code(2), "stderr:\n{stderr}");
    let last = stderr.lines().last().unwrap_or("");
    for part in [format!("{input} [0] offset {good}"), "--reset-offsets".to_owned(), format!("--group {}", spec.group())] {
        assert!(last.contains(&part), "{part:?} missing in the last line: {last}");
    }
    // Everything before the damaged batch was processed exactly once and
    // committed; nothing after it.
    let committed = secured.plain.progress(spec.group(), &input)?.committed()?;
    assert_eq!(committed, [Some(good as i64)], "committed offsets");
    let outputs = secured.plain.read_topic(&output, Isolation::Committed, good as usize)?;
    Tally::count(&(0..good).collect(), &outputs).assert_exactly_once("records before the damaged batch");
    Ok(())
}
