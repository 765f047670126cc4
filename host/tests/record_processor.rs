//! The record processor, the one way every mode takes a record through the
//! plugins: a record's fate from the plugin's answer, the output checks, the
//! poison policy and what Kafka refused — with the built plugins, no Kafka.

mod common;

use std::sync::Arc;

use common::{limits, plugin_path, record};
use eoshost::kafka::TopicPartition;
use eoshost::metrics::Metrics;
use eoshost::plugin::{Chain, InputRecord, OutputTopics, PluginSpec};
use eoshost::policy::{OnError, RecordId};
use eoshost::processor::{Fate, OutputRules, Processor};
use eoshost::state::SharedState;
use eoshost::tables::Tables;

fn make(
    plugin: &str,
    config: &[(&str, &str)],
    rules: OutputRules,
    on_error: OnError,
    max_retries: u32,
) -> (Processor, Arc<Metrics>) {
    let spec =
        PluginSpec { path: plugin_path(plugin), config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    let (chain, state) =
        Chain::load(&[spec], limits(2000, 64), || SharedState::new(1 << 20), &Tables::default()).expect("the plugin loads");
    let metrics = Arc::new(Metrics::new());
    (Processor::new(chain, rules, on_error, max_retries, state, metrics.clone()), metrics)
}

fn to(topics: &[&str]) -> OutputRules {
    OutputRules {
        topics: Some(OutputTopics::new(topics.iter().map(|t| t.to_string()).collect())),
        max_message_bytes: Some(1_000_000),
    }
}

fn at(offset: i64, value: &str) -> InputRecord {
    InputRecord { offset, ..record(value) }
}

#[test]
fn a_succeeding_record_is_written_with_its_outputs() {
    let (mut processor, metrics) = make("identity", &[], to(&["out"]), OnError::Fail, 3);
    match processor.process(&record("hello")).unwrap() {
        Fate::Write(outputs) => {
            assert_eq!(outputs.len(), 1);
            assert_eq!(outputs[0].value.as_deref(), Some(&b"hello"[..]));
        }
        other => panic!("expected the record's outputs, got {other:?}"),
    }
    assert_eq!(metrics.totals().consumed, 1);
}

#[test]
fn a_rejected_record_follows_on_error_at_once() {
    for (on_error, expected) in [(OnError::Fail, "fail"), (OnError::Skip, "skip"), (OnError::Dlq, "dlq")] {
        let (mut processor, _) = make("reject-all", &[], to(&["out"]), on_error, 3);
        let fate = processor.process(&record("x")).unwrap();
        let error = match (&fate, expected) {
            (Fate::Fail(error), "fail") | (Fate::Skip(error), "skip") | (Fate::DeadLetter(error), "dlq") => error,
            _ => panic!("--on-error {expected}: got {fate:?}"),
        };
        assert!(error.starts_with("rejected: "), "{error}");
    }
}

#[test]
fn a_trapping_record_is_retried_max_retries_times_then_dead_lettered_and_stays_decided() {
    let (mut processor, metrics) = make("chaos", &[("trap_per_million", "1000000")], to(&["out"]), OnError::Dlq, 2);
    let poison = at(7, "poison");
    assert!(matches!(processor.process(&poison).unwrap(), Fate::Retry));
    assert!(processor.retry_alone(&poison), "a record that trapped is retried alone");
    assert!(!processor.retry_alone(&poison), "asked once per return");
    assert!(processor.ensure_instances().is_ok());
    assert!(matches!(processor.process(&poison).unwrap(), Fate::Retry));
    assert!(processor.ensure_instances().is_ok());
    match processor.process(&poison).unwrap() {
        Fate::DeadLetter(error) => assert!(error.contains("trapped 3 times"), "{error}"),
        other => panic!("expected a dead letter after 3 traps, got {other:?}"),
    }
    assert_eq!(metrics.totals().traps, 3);
    // Back after an abort (another record's sake): decided, the plugin is not called again.
    assert!(matches!(processor.process(&poison).unwrap(), Fate::DeadLetter(_)));
    assert_eq!(metrics.totals().traps, 3, "a decided record does not reach the plugin");
    // Once its offset is committed the decision is forgotten.
    processor.committed(&[(TopicPartition::new("orders", 0), 8)]);
    assert!(processor.ensure_instances().is_ok());
    assert!(matches!(processor.process(&poison).unwrap(), Fate::Retry));
}

#[test]
fn an_output_to_a_topic_outside_the_allow_list_rejects_the_whole_record() {
    let (mut processor, _) = make("router", &[], to(&["orders-out", "inventory"]), OnError::Skip, 3);
    match processor.process(&record(r#"{"order_id":"o1"}"#)).unwrap() {
        Fate::Skip(error) => assert!(error.contains("\"notifications\"") && error.contains("not in --output"), "{error}"),
        other => panic!("expected the record rejected, got {other:?}"),
    }
    let (mut allowed, _) = make("router", &[], to(&["orders-out", "inventory", "notifications"]), OnError::Skip, 3);
    assert!(matches!(allowed.process(&record(r#"{"order_id":"o1"}"#)).unwrap(), Fate::Write(outputs) if outputs.len() == 3));
}

#[test]
fn an_output_larger_than_message_max_bytes_rejects_the_record() {
    let rules = OutputRules { max_message_bytes: Some(100), ..to(&["out"]) };
    let (mut processor, _) = make("identity", &[], rules, OnError::Dlq, 3);
    match processor.process(&record(&"x".repeat(200))).unwrap() {
        Fate::DeadLetter(error) => assert!(error.contains("exceeds message.max.bytes (100)"), "{error}"),
        other => panic!("expected the record rejected, got {other:?}"),
    }
    assert!(matches!(processor.process(&record("small")).unwrap(), Fate::Write(_)));
}

#[test]
fn a_record_kafka_refused_is_decided_without_the_plugin_until_committed() {
    let (mut processor, metrics) = make("identity", &[], to(&["out"]), OnError::Skip, 3);
    let refused = at(4, "big");
    processor.refused(RecordId::of(&refused), "Broker: Message size too large");
    match processor.process(&refused).unwrap() {
        Fate::Skip(error) => assert!(error.contains("Kafka refused an output: Broker: Message size too large"), "{error}"),
        other => panic!("expected the refused record skipped, got {other:?}"),
    }
    assert!(matches!(processor.process(&at(5, "next")).unwrap(), Fate::Write(_)), "other records are not affected");
    processor.committed(&[(TopicPartition::new("orders", 0), 5)]);
    assert!(matches!(processor.process(&refused).unwrap(), Fate::Write(_)), "forgotten once committed past it");
    assert_eq!(metrics.totals().consumed, 3, "every process call counts its record");
}
