//! The Kafka transaction's state machine — commit, abort, a fenced producer,
//! a fenced static member, an abort that fails — driven against librdkafka's
//! mock cluster with injected errors, in milliseconds. (The mock proves
//! nothing about exactly-once: it does not honour read_committed; the real
//! broker's tests in tests/ do that. Here only the transitions count.)

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;
use eoshost::config::Config;
use eoshost::kafka::client;
use eoshost::kafka::membership::Membership;
use eoshost::kafka::producer::TransactionalProducer;
use eoshost::kafka::transaction::{GroupMember, Settings, Transaction};
use eoshost::metrics::Metrics;
use eoshost::plugin::{InputRecord, OutputRecord, OutputTopics};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

type Mock = MockCluster<'static, DefaultProducerContext>;

const TRANSACTIONAL_ID: &str = "lifecycle-txn";
const GROUP: &str = "lifecycle-group";

struct Setup {
    mock: Mock,
    transaction: Transaction,
    consumer: BaseConsumer,
    metrics: Arc<Metrics>,
}

/// A transaction on a one-broker mock cluster with topics `in` and `out`;
/// `static_membership` as the option.
fn setup(static_membership: bool) -> Setup {
    let mock = MockCluster::new(1).expect("librdkafka's mock cluster");
    for topic in ["in", "out"] {
        mock.create_topic(topic, 1, 1).expect("a mock topic");
    }
    let switch = if static_membership { "on" } else { "off" };
    let args = ["eoshost", "--plugin", "p/identity.wasm", "--input", "in", "--output", "out", "--static-membership", switch];
    let config = Config::resolve(eoshost::cli::Cli::try_parse_from(args).expect("valid command line").run).expect("valid");
    let metrics = Arc::new(Metrics::new());
    let mut producer_config = client::producer_config(&mock.bootstrap_servers(), &[], TRANSACTIONAL_ID);
    producer_config.set("log_level", "3");
    let producer = TransactionalProducer::create(
        producer_config,
        metrics.clone(),
        Arc::new(AtomicBool::new(false)),
        Duration::from_secs(10),
    )
    .expect("a transactional producer on the mock cluster");
    let settings = Settings {
        outputs: OutputTopics::new(vec!["out".into()]),
        commit_interval: Duration::from_millis(100),
        max_records: 10_000,
        membership: Membership::new(&config, TRANSACTIONAL_ID),
        changelog: None,
    };
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("group.id", GROUP)
        .set("log_level", "3")
        .create()
        .expect("a consumer holding the group metadata");
    Setup { mock, transaction: Transaction::new(producer, settings, metrics.clone()), consumer, metrics }
}

fn input(offset: i64) -> InputRecord {
    InputRecord {
        topic: "in".into(),
        partition: 0,
        offset,
        timestamp: None,
        key: None,
        value: Some(b"v".to_vec()),
        headers: vec![],
    }
}

fn output() -> OutputRecord {
    OutputRecord { topic: None, key: None, value: Some(b"v".to_vec()), headers: vec![] }
}

/// Queues one record's output in a fresh transaction.
fn queue_one(setup: &mut Setup, offset: i64) {
    let record = input(offset);
    setup.transaction.read(&record);
    assert!(setup.transaction.begin(&setup.consumer).expect("begin"), "the transaction begins");
    assert!(setup.transaction.write(&record, &[output()], &setup.consumer).expect("write"), "the output is queued");
}

fn replacements(metrics: &Metrics, reason: &str) -> bool {
    metrics.encode().lines().any(|line| line == format!("eoshost_producer_replacements_total{{reason=\"{reason}\"}} 1"))
}

/// The consumer's group metadata, with a fatal error of the caller's choice.
struct Member<'a> {
    consumer: &'a BaseConsumer,
    metadata: bool,
    fenced: bool,
}

impl GroupMember for Member<'_> {
    fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        if self.metadata { Consumer::group_metadata(self.consumer) } else { None }
    }

    fn fatal_error(&self) -> Option<(RDKafkaErrorCode, String)> {
        self.fenced.then(|| (RDKafkaErrorCode::FencedInstanceId, "fenced by the test".to_owned()))
    }
}

#[test]
fn a_commit_moves_the_committed_offset_past_the_record_and_counts_it() {
    let mut setup = setup(false);
    queue_one(&mut setup, 5);
    assert_eq!(setup.transaction.records(), 1);
    setup.transaction.commit(&setup.consumer).expect("commit");
    assert_eq!(setup.transaction.committed_offset("in", 0), Some(6));
    assert_eq!(setup.transaction.records(), 0, "no transaction is open after a commit");
    assert!(!setup.transaction.rewind_is_pending());
    assert_eq!(setup.metrics.totals().committed, 1);
    assert_eq!(setup.metrics.totals().produced, 1);
}

#[test]
fn a_commit_without_group_metadata_aborts_and_leaves_a_rewind() {
    let mut setup = setup(false);
    queue_one(&mut setup, 5);
    let member = Member { consumer: &setup.consumer, metadata: false, fenced: false };
    setup.transaction.commit(&member).expect("an abortable error is recovered from");
    assert!(setup.transaction.take_rewind(), "an abort always rewinds");
    assert_eq!(setup.transaction.committed_offset("in", 0), None, "nothing was committed");
    assert_eq!(setup.metrics.totals().aborted, 1);
    assert_eq!(setup.metrics.totals().committed, 0);
}

#[test]
fn a_fenced_producer_is_replaced_and_the_transaction_rewound() {
    let mut setup = setup(false);
    queue_one(&mut setup, 5);
    setup.mock.request_errors(RDKafkaApiKey::EndTxn, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_PRODUCER_FENCED]);
    setup.transaction.commit(&setup.consumer).expect("a fenced producer of a dynamic member is replaced");
    assert!(setup.transaction.take_rewind(), "the fenced transaction's records are read again");
    assert!(replacements(&setup.metrics, "fenced"), "{}", setup.metrics.encode());
    assert_eq!(setup.transaction.committed_offset("in", 0), None);
    // The new producer works: the records commit on the next try.
    queue_one(&mut setup, 5);
    setup.transaction.commit(&setup.consumer).expect("commit with the new producer");
    assert_eq!(setup.transaction.committed_offset("in", 0), Some(6));
}

#[test]
fn a_fenced_static_member_stops_with_exit_code_4_without_a_new_producer() {
    let mut setup = setup(true);
    queue_one(&mut setup, 5);
    setup.mock.request_errors(RDKafkaApiKey::EndTxn, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_PRODUCER_FENCED]);
    let member = Member { consumer: &setup.consumer, metadata: true, fenced: true };
    let failure = setup.transaction.commit(&member).expect_err("a newer instance owns the ids");
    assert_eq!(failure.exit_code(), 4, "{failure}");
    assert!(!replacements(&setup.metrics, "fenced"), "a new producer would fence the newer instance's");
    assert_eq!(setup.transaction.records(), 0, "the transaction is dropped");
}

#[test]
fn an_abort_that_fails_replaces_the_producer_and_still_rewinds() {
    let mut setup = setup(false);
    queue_one(&mut setup, 5);
    setup.mock.request_errors(RDKafkaApiKey::EndTxn, &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
    setup.transaction.abort(&setup.consumer).expect("a failed abort is recovered from with a new producer");
    assert!(setup.transaction.take_rewind());
    assert!(replacements(&setup.metrics, "fatal"), "{}", setup.metrics.encode());
    assert_eq!(setup.metrics.totals().aborted, 1);
}
