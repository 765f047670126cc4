//! Regression tests of the two librdkafka bugs eoshost carries patches for
//! (vendor/patches/, README "Patched librdkafka"), run against librdkafka's
//! own mock cluster, so they need no broker.
//!
//! Both bugs make `rd_kafka_send_offsets_to_transaction` block for ever, so
//! each test runs the librdkafka calls on a thread of their own and waits for
//! the answer under a watchdog: a build without the patches fails here with a
//! message naming the missing patch instead of hanging the suite. A hung call
//! is left running (its thread, producer and mock cluster are leaked): the
//! test process ends after the failure report, and destroying a producer in
//! the middle of a transactional call is unsafe.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::{MockCluster, MockCoordinator};
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::{Offset, TopicPartitionList};

type Mock = MockCluster<'static, DefaultProducerContext>;

const TOPIC: &str = "regression-input";
const TRANSACTIONAL_ID: &str = "regression-txn";
const GROUP: &str = "regression-group";

// Mock broker ids (the mock cluster numbers its brokers from 1): the
// transaction coordinator, the group coordinator that fails, and the broker
// that leads the partition and takes over as group coordinator.
const TXN_COORDINATOR: i32 = 1;
const FAILING_GROUP_COORDINATOR: i32 = 2;
const SURVIVOR: i32 = 3;

/// A three-broker mock cluster with the coordinators pinned as above.
fn mock_cluster() -> Mock {
    let mock = MockCluster::new(3).expect("create librdkafka's mock cluster");
    mock.create_topic(TOPIC, 1, 1).expect("create the mock topic");
    mock.partition_leader(TOPIC, 0, Some(SURVIVOR)).expect("set the partition leader");
    mock.coordinator(MockCoordinator::Transaction(TRANSACTIONAL_ID.into()), TXN_COORDINATOR)
        .expect("pin the transaction coordinator");
    mock.coordinator(MockCoordinator::Group(GROUP.into()), FAILING_GROUP_COORDINATOR).expect("pin the group coordinator");
    mock
}

/// A transactional producer on the mock cluster, transactions initialised.
/// `extra` adds client properties.
fn transactional_producer(mock: &Mock, extra: &[(&str, &str)]) -> BaseProducer {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", mock.bootstrap_servers()).set("transactional.id", TRANSACTIONAL_ID).set("log_level", "3");
    for (key, value) in extra {
        config.set(*key, *value);
    }
    let producer: BaseProducer = config.create().expect("create the transactional producer");
    producer.init_transactions(Duration::from_secs(10)).expect("init_transactions on the mock cluster");
    producer
}

/// The consumer group metadata a transaction commits offsets for. A consumer
/// that never subscribes is enough to hold it (rdkafka builds it only from a
/// consumer); it is returned too, to stay alive while the metadata is used.
fn group_metadata(mock: &Mock) -> (BaseConsumer, ConsumerGroupMetadata) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("group.id", GROUP)
        .set("log_level", "3")
        .create()
        .expect("create the consumer that holds the group metadata");
    let metadata = consumer.group_metadata().expect("a consumer with a group.id has group metadata");
    (consumer, metadata)
}

fn input_offsets(next: i64) -> TopicPartitionList {
    let mut offsets = TopicPartitionList::new();
    offsets.add_partition_offset(TOPIC, 0, Offset::Offset(next)).expect("a valid offset");
    offsets
}

/// Runs `calls` on a thread of its own and returns its result and how long
/// it took, or fails the test with `hang_message` if it has not returned
/// within `watchdog`. The mock cluster stays with the caller (it cannot move
/// between threads) and is leaked on a hang, since the hung call still uses it.
fn under_watchdog<T: Send + 'static>(
    mock: Mock,
    watchdog: Duration,
    hang_message: &str,
    calls: impl FnOnce() -> T + Send + 'static,
) -> (T, Duration) {
    let (answer, answered) = mpsc::channel();
    let started = Instant::now();
    thread::Builder::new()
        .name("librdkafka-call".into())
        .spawn(move || {
            // The receiver is gone only when the watchdog already failed the test.
            let _ = answer.send(calls());
        })
        .expect("spawn the thread that makes the librdkafka calls");
    match answered.recv_timeout(watchdog) {
        Ok(result) => {
            drop(mock);
            (result, started.elapsed())
        }
        Err(_) => {
            std::mem::forget(mock);
            panic!("{hang_message} (watchdog: no answer after {watchdog:?})")
        }
    }
}

/// librdkafka #5456 (fixed by PR #5457, vendor/patches/0001-…): with the
/// group coordinator's broker down, `send_offsets_to_transaction` must give up
/// at its own timeout, with an abortable error, instead of blocking for ever.
#[test]
fn send_offsets_returns_within_its_timeout_when_the_group_coordinator_is_down() {
    const CALL_TIMEOUT: Duration = Duration::from_secs(2);
    // The bound: the call's timeout plus 2 s.
    const WATCHDOG: Duration = Duration::from_secs(4);

    let mock = mock_cluster();
    let producer = transactional_producer(&mock, &[]);
    let (consumer, metadata) = group_metadata(&mock);
    producer.begin_transaction().expect("begin_transaction");
    mock.broker_down(FAILING_GROUP_COORDINATOR).expect("take the group coordinator's broker down");

    let (result, took) = under_watchdog(
        mock,
        WATCHDOG,
        "send_offsets_to_transaction ignored its 2 s timeout with the group coordinator down: \
         librdkafka #5456 is back — is vendor/patches/0001-librdkafka-pr5457-send-offsets-timeout.patch \
         applied (vendor/refresh-rdkafka-sys) and rdkafka-sys patched to vendor/rdkafka-sys in Cargo.toml?",
        move || {
            let result = producer.send_offsets_to_transaction(&input_offsets(1), &metadata, CALL_TIMEOUT);
            // The clients go when the call is over, not while it runs.
            drop((producer, consumer));
            result
        },
    );
    println!("send_offsets_to_transaction with the group coordinator down returned after {took:?}: {result:?}");

    let error = match result {
        Err(KafkaError::Transaction(error)) => error,
        other => panic!("expected a transactional error from a coordinator that is down, got {other:?}"),
    };
    assert_eq!(error.code(), RDKafkaErrorCode::OperationTimedOut, "{error}");
    assert!(error.txn_requires_abort(), "a timed-out offset commit must leave the transaction abortable: {error}");
    assert!(took >= CALL_TIMEOUT - Duration::from_millis(500), "returned after {took:?}, before its timeout");
}

/// librdkafka #5511 (fixed by PR #5512, vendor/patches/0002-…): the group
/// coordinator's broker goes down and leaves the metadata (the client then
/// decommissions it) while the coordinator moves to another broker; the next
/// offset commit must find the new coordinator and the transaction commit.
#[test]
fn next_commit_succeeds_after_the_group_coordinator_moves_off_a_decommissioned_broker() {
    // Upstream's own test allows 5 s for the rediscovery; the commit after it
    // is one round trip on the mock cluster.
    const WATCHDOG: Duration = Duration::from_secs(10);
    const CALL_TIMEOUT: Duration = Duration::from_secs(30);

    let mock = mock_cluster();
    // Frequent metadata refreshes, so the client sees the broker leave the
    // metadata (and decommissions it) within the test's pause.
    let producer = transactional_producer(&mock, &[("topic.metadata.refresh.interval.ms", "1000")]);
    let (consumer, metadata) = group_metadata(&mock);

    producer.begin_transaction().expect("begin_transaction");
    producer
        .send(BaseRecord::<str, str>::to(TOPIC).partition(0).payload("record"))
        .map_err(|(error, _)| error)
        .expect("produce one record");
    producer.flush(Duration::from_secs(10)).expect("flush the record");
    // Caches FAILING_GROUP_COORDINATOR as the group's coordinator.
    producer
        .send_offsets_to_transaction(&input_offsets(1), &metadata, CALL_TIMEOUT)
        .expect("the first offset commit, with every broker up");

    mock.coordinator(MockCoordinator::Group(GROUP.into()), SURVIVOR).expect("move the group coordinator");
    mock.broker_down(FAILING_GROUP_COORDINATOR).expect("take the old coordinator's broker down");
    // A down mock broker leaves the metadata; three 1 s refreshes later the
    // client has decommissioned it (its broker thread is gone).
    thread::sleep(Duration::from_secs(3));

    let (result, took) = under_watchdog(
        mock,
        WATCHDOG,
        "send_offsets_to_transaction or commit_transaction did not return after the group coordinator moved off \
         a decommissioned broker: librdkafka #5511 is back — is \
         vendor/patches/0002-librdkafka-pr5512-coordinator-rediscovery-after-decommission.patch applied \
         (vendor/refresh-rdkafka-sys) and rdkafka-sys patched to vendor/rdkafka-sys in Cargo.toml?",
        move || {
            let result = producer
                .send_offsets_to_transaction(&input_offsets(2), &metadata, CALL_TIMEOUT)
                .and_then(|()| producer.commit_transaction(CALL_TIMEOUT));
            drop((producer, consumer));
            result
        },
    );
    println!("offset commit and transaction commit after the coordinator moved took {took:?}: {result:?}");
    if let Err(error) = result {
        panic!("the commit after the group coordinator moved failed: {error}");
    }
}
