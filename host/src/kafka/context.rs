//! The consumer's callbacks: on a revoke, the open transaction is committed
//! before the partitions go (so the new owner starts exactly after it); on a
//! lost assignment it is aborted; a stateful pipeline's new partitions are
//! paused until the loop has restored their state (`state::restore`), and
//! revoked ones drop theirs; librdkafka's statistics feed the lag gauge
//! ([`super::lag`]).
//! The callbacks run inside `poll` on the pipeline thread and use the same
//! [`Transaction::commit`] and [`Transaction::abort`] as the loop, so a
//! failure here leaves the same pending rewind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::statistics::Statistics;

use super::TopicPartition;
use super::broker_errors::refusal;
use super::transaction::Transaction;
use crate::events::{ConnectionRefused, Event};
use crate::failure::Failure;
use crate::metrics::Metrics;
use crate::state::SharedState;

/// The consumer's context: it owns the transaction, because the rebalance
/// callbacks must finish it before the partitions move. A consumer rebuilt
/// after its membership was fenced gets a context that shares this one's
/// state ([`PipelineContext::for_replacement`]): the transaction, its
/// producer and the record fates outlive the consumer.
pub struct PipelineContext {
    shared: Arc<Shared>,
}

struct Shared {
    transaction: Mutex<Transaction>,
    /// A failure inside a callback that eoshost cannot go on from; the loop
    /// returns it after `poll`.
    failure: Mutex<Option<Failure>>,
    /// Rebalance callbacks run so far: records read across one are thrown
    /// away by the loop.
    rebalances: AtomicU64,
    /// Named in TLS and authentication refusals that name no broker.
    bootstrap: String,
    metrics: Arc<Metrics>,
    /// The state store of a stateful pipeline.
    state: Option<SharedState>,
}

impl PipelineContext {
    pub fn new(transaction: Transaction, metrics: Arc<Metrics>, bootstrap: &str, state: Option<SharedState>) -> Self {
        PipelineContext {
            shared: Arc::new(Shared {
                transaction: Mutex::new(transaction),
                failure: Mutex::new(None),
                rebalances: AtomicU64::new(0),
                bootstrap: bootstrap.to_owned(),
                metrics,
                state,
            }),
        }
    }

    /// The context of a consumer that replaces this one's: the same
    /// transaction, failure slot and counters.
    pub fn for_replacement(&self) -> Self {
        PipelineContext { shared: self.shared.clone() }
    }

    /// The transaction; never held across `poll`, where the callbacks take it.
    pub fn transaction(&self) -> MutexGuard<'_, Transaction> {
        self.shared.transaction.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many rebalance callbacks have run.
    pub fn rebalances(&self) -> u64 {
        self.shared.rebalances.load(Ordering::Acquire)
    }

    /// The failure a callback met, if any.
    pub fn take_failure(&self) -> Option<Failure> {
        self.shared.failure.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn keep(&self, outcome: Result<(), Failure>) {
        if let Err(failure) = outcome {
            tracing::error!("{failure}");
            self.shared.failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(failure);
        }
    }
}

impl ClientContext for PipelineContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        client_error(&self.shared.metrics, &self.shared.bootstrap, error, reason);
    }

    /// Lag per assigned partition ([`super::lag`]), from what this
    /// instance committed there.
    fn stats(&self, statistics: Statistics) {
        let lags = {
            let transaction = self.transaction();
            super::lag::partition_lags(&statistics, |topic, partition| transaction.committed_offset(topic, partition))
        };
        self.shared.metrics.set_consumer_lag(lags);
    }
}

impl ConsumerContext for PipelineContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.shared.rebalances.fetch_add(1, Ordering::AcqRel);
        match rebalance {
            Rebalance::Revoke(partitions) => {
                self.shared.metrics.set_ready(false);
                let mut transaction = self.transaction();
                if transaction.records() > 0 {
                    if consumer.assignment_lost() {
                        tracing::warn!("assignment lost (session timed out?); aborting the open transaction");
                        self.keep(transaction.abort(consumer));
                    } else {
                        tracing::info!(
                            partitions = partitions.count(),
                            "partitions revoked; committing the open transaction first"
                        );
                        self.keep(transaction.commit(consumer));
                    }
                }
                drop(transaction);
                if let Some(state) = &self.shared.state {
                    state.lock().revoked(TopicPartition::all_of(partitions));
                }
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => tracing::warn!("rebalance error: {error}"),
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.shared.rebalances.fetch_add(1, Ordering::AcqRel);
        if let Rebalance::Assign(partitions) = rebalance {
            tracing::info!(partitions = partitions.count(), "partitions assigned");
            self.transaction().assigned();
            if let Some(state) = &self.shared.state {
                // No record of theirs is read before their state is back.
                if let Err(error) = consumer.pause(partitions) {
                    self.keep(Err(Failure::Fatal(anyhow::anyhow!(
                        "cannot pause newly assigned partitions to restore their state: {error}; restart eoshost"
                    ))));
                }
                state.lock().assigned(TopicPartition::all_of(partitions));
            }
            // Joined, with its assignment: a standby beyond the partition
            // count holds none and is ready all the same (an incremental
            // assignment may add none to what it holds).
            self.shared.metrics.set_ready(true);
        }
    }
}

/// A client's `error()` callback: a TLS or authentication refusal after
/// start is a [`ConnectionRefused`] event; anything else is logged.
pub fn client_error(metrics: &Metrics, bootstrap: &str, error: rdkafka::error::KafkaError, reason: &str) {
    match refusal(&error, reason, bootstrap) {
        Some(refusal) => ConnectionRefused { refusal: &refusal }.emit(metrics),
        None => tracing::warn!("librdkafka: {error}: {reason}"),
    }
}
