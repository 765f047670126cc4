//! Records in batches (`transform-batch`, world `batch-transformer`) with
//! the Python test plugin `chaos-py` (written once per record, batched by
//! the Python SDK) and no Kafka: a batch call answers each record as a call
//! of its own would, rejections included; a trap in a batch call is found
//! record by record, the trapping record retried alone and then sent to
//! `--on-error`, the others written once; a batch has the time budget of one
//! call, and one that runs past it goes record by record, each with a budget
//! of its own; a chain or a stateful plugin is never called in batches;
//! `eoshost inspect` names the export.

mod common;

use std::sync::Arc;

use common::{eoshost, limits, plugin_path, stdout};
use eoshost::metrics::Metrics;
use eoshost::plugin::{Chain, InputRecord, PluginSpec};
use eoshost::policy::OnError;
use eoshost::processor::{Fate, OutputRules, Processor};
use eoshost::state::SharedState;
use eoshost::tables::Tables;

fn spec(name: &str, config: &[(&str, &str)]) -> PluginSpec {
    PluginSpec { path: plugin_path(name), config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

fn processor(specs: &[PluginSpec], on_error: OnError) -> Processor {
    processor_within(specs, on_error, 5000)
}

fn processor_within(specs: &[PluginSpec], on_error: OnError, timeout_ms: u64) -> Processor {
    let (chain, state) = Chain::load(specs, limits(timeout_ms, 128), || SharedState::new(1 << 20), &Tables::default())
        .unwrap_or_else(|e| panic!("loading the chain: {e}"));
    Processor::new(chain, OutputRules { topics: None, max_message_bytes: None }, on_error, 1, state, Arc::new(Metrics::new()))
}

fn chaos(on_error: OnError) -> Processor {
    processor(&[spec("chaos-py", &[("trap_on_value", "boom"), ("reject_on_value", "bad")])], on_error)
}

/// Records at offsets `first..` of partition 0 of `orders`, one per value.
fn records(first: i64, values: &[&str]) -> Vec<InputRecord> {
    values
        .iter()
        .zip(first..)
        .map(|(value, offset)| InputRecord {
            topic: "orders".into(),
            partition: 0,
            offset,
            timestamp: None,
            key: Some(format!("k{offset}").into_bytes()),
            value: Some(value.as_bytes().to_vec()),
            headers: vec![],
        })
        .collect()
}

/// What the processor decides for each record, as text (outputs' keys and
/// values, or the verdict and its reason).
fn fates(processor: &mut Processor, records: &[InputRecord]) -> Vec<String> {
    records
        .iter()
        .map(|record| match processor.process(record).expect("no failure of the host") {
            Fate::Write(outputs) => outputs
                .iter()
                .map(|o| {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(o.key.as_deref().unwrap()),
                        String::from_utf8_lossy(o.value.as_deref().unwrap())
                    )
                })
                .collect::<Vec<_>>()
                .join(","),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_batch_call_answers_every_record_as_a_call_of_its_own_would() {
    let batch = records(0, &["a", "bad", "b", "c"]);
    let mut alone = chaos(OnError::Dlq);
    let expected = fates(&mut alone, &batch);
    assert_eq!(expected[0], "k0=a");
    assert!(expected[1].starts_with("DeadLetter(\"rejected: chaos-py: reject_on_value"), "{}", expected[1]);

    let mut batched = chaos(OnError::Dlq);
    assert_eq!(batched.prepare(&batch), 4, "one call answers all four records");
    assert_eq!(fates(&mut batched, &batch), expected);
}

#[test]
fn a_trap_in_a_batch_call_is_found_record_by_record_and_only_that_record_is_retried() {
    let mut processor = chaos(OnError::Dlq);
    let batch = records(0, &["a", "boom", "c"]);
    assert_eq!(processor.prepare(&batch), 0, "the batch call trapped: nothing is prepared");
    assert_eq!(fates(&mut processor, &batch[..1]), ["k0=a"]);
    assert_eq!(fates(&mut processor, &batch[1..2]), ["Retry"], "the trapping record is found on its own call");

    // After the rewind the pipeline reads it again: it goes alone, and its
    // second trap spends --max-retries (1); the rest is batched again.
    assert!(processor.ensure_instances().is_ok());
    let again = &batch[1..];
    assert_eq!(processor.prepare(again), 0, "a record that trapped before is never in a batch");
    let decided = fates(&mut processor, again);
    assert!(decided[0].starts_with("DeadLetter(\"panic trap:"), "{}", decided[0]);
    assert_eq!(decided[1], "k2=c");
    let later = records(3, &["d", "e"]);
    assert_eq!(processor.prepare(&later), 2);
    assert_eq!(fates(&mut processor, &later), ["k3=d", "k4=e"]);
}

#[test]
fn a_batch_has_one_calls_time_budget_and_past_it_each_record_gets_its_own() {
    // Each "slow" record takes 150 ms; --plugin-timeout-ms is 400: three of
    // them in one call run out of time, each alone does not.
    let slow = [("spin_on_value", "slow"), ("spin_ms", "150")];
    let mut processor = processor_within(&[spec("chaos-py", &slow)], OnError::Fail, 400);
    let batch = records(0, &["slow", "slow", "slow"]);
    assert_eq!(processor.prepare(&batch), 0, "the batch call ran out of time");
    assert_eq!(fates(&mut processor, &batch), ["k0=slow", "k1=slow", "k2=slow"]);
}

#[test]
fn a_prepared_answer_is_used_only_for_its_own_record() {
    let mut processor = chaos(OnError::Dlq);
    let batch = records(0, &["a", "b", "c"]);
    assert_eq!(processor.prepare(&batch), 3);
    // A rewind sends other records (offset 7) before the prepared ones are
    // taken: they are called on their own and the prepared answers dropped.
    let other = records(7, &["x"]);
    assert_eq!(fates(&mut processor, &other), ["k7=x"]);
    assert_eq!(fates(&mut processor, &batch), ["k0=a", "k1=b", "k2=c"]);
}

#[test]
fn a_chain_or_a_stateful_plugin_is_never_called_in_batches() {
    let batch = records(0, &["a", "b"]);
    let mut chain = processor(&[spec("chaos-py", &[]), spec("identity", &[])], OnError::Fail);
    assert_eq!(chain.prepare(&batch), 0);
    assert_eq!(fates(&mut chain, &batch), ["k0=a", "k1=b"]);
    let single = processor(&[spec("chaos-py", &[])], OnError::Fail);
    assert!(single.takes_batches());
    let stateful = processor(&[spec("counter-py", &[])], OnError::Fail);
    assert!(!stateful.takes_batches());
}

#[test]
fn inspect_says_that_the_plugin_takes_batches() {
    let path = plugin_path("chaos-py");
    let output = eoshost(&["inspect", "--plugin", path.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("batch:  exports eoshost:transform/batch@0.1.0"), "{}", stdout(&output));
}
