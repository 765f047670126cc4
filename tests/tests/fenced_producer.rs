//! A transactional producer fenced by a newer one with the same
//! transactional.id, against the real broker. Once librdkafka has put it in
//! its fatal state it refuses every record with a bare `_FATAL` and keeps
//! the cause apart; `TransactionalProducer::send` reports the cause. So the
//! loop and the relay see "fenced" and stop, instead of taking an
//! unexplained fatal error for theirs to cure with a new producer, which
//! would fence the newer instance in turn (a thawed zombie of
//! `faults_static_zombie` once won that duel against its replacement).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use eoshost::kafka::client::producer_config;
use eoshost::kafka::errors::{TxnError, is_fenced};
use eoshost::kafka::producer::{CommitPhases, TransactionalProducer};
use eoshost::metrics::Metrics;
use eoshost::plugin::OutputRecord;
use eoshost_tests::Scenario;
use eoshost_tests::timeouts::{KAFKA_CALL, PRODUCER_FENCED};

#[test]
fn a_producer_fenced_by_a_newer_one_says_fenced_when_given_a_record() -> anyhow::Result<()> {
    let scenario = Scenario::new("fenced_producer");
    let topic = scenario.topic("out", 1)?;
    let id = scenario.unique("txn");
    let create = || {
        TransactionalProducer::create(
            producer_config(scenario.broker().bootstrap(), &[], &id),
            Arc::new(Metrics::new()),
            Arc::new(AtomicBool::new(false)),
            KAFKA_CALL,
        )
    };
    let record = OutputRecord { topic: None, key: Some(b"k".to_vec()), value: Some(b"v".to_vec()), headers: Vec::new() };

    let mut older = create()?;
    older.begin()?;
    older.send(&topic, &record, None, None, 0)?;
    older.commit(None, &mut CommitPhases::default())?;

    // Its init_transactions fences `older`, which does not know it yet.
    let _newer = create()?;
    let refusal = match older.begin() {
        Err(TxnError::Fatal(error) | TxnError::Abortable(error)) => error,
        Err(other) => anyhow::bail!("begin_transaction of the fenced producer: {other}"),
        // The first records are queued; the fencing comes back on the
        // partition's AddPartitionsToTxn and turns the producer fatal.
        Ok(()) => {
            let deadline = Instant::now() + PRODUCER_FENCED;
            loop {
                if let Err(error) = older.send(&topic, &record, None, None, 0) {
                    break error;
                }
                anyhow::ensure!(Instant::now() < deadline, "the fenced producer still took records after {PRODUCER_FENCED:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    scenario.report(&format!("the fenced producer refused a record: {refusal}"));
    assert!(is_fenced(&refusal), "a fenced producer's refusal must say fenced, not only fatal: {refusal}");
    Ok(())
}
