//! The consumer's callbacks: on a revoke, the open transaction is committed
//! before the partitions go (so the new owner starts exactly after it); on a
//! lost assignment it is aborted; librdkafka's statistics feed the lag gauge.
//! The callbacks run inside `poll` on the pipeline thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::statistics::Statistics;

use super::transaction::{Transaction, TxnError};
use crate::metrics::Metrics;

pub struct PipelineContext {
    txn: Mutex<Option<Transaction>>,
    metrics: Arc<Metrics>,
    give_up_after: Duration,
    /// Set when an abort happened inside a callback; the loop then rewinds
    /// every partition it still holds.
    rewind_needed: AtomicBool,
    /// Set on every assignment; the loop forgets per-assignment state.
    reassigned: AtomicBool,
}

impl PipelineContext {
    pub fn new(metrics: Arc<Metrics>, give_up_after: Duration) -> Self {
        PipelineContext {
            txn: Mutex::new(None),
            metrics,
            give_up_after,
            rewind_needed: AtomicBool::new(false),
            reassigned: AtomicBool::new(false),
        }
    }

    pub fn install(&self, transaction: Transaction) {
        *self.txn.lock().unwrap_or_else(|p| p.into_inner()) = Some(transaction);
    }

    /// The transaction; never held across `poll`.
    pub fn transaction(&self) -> MutexGuard<'_, Option<Transaction>> {
        self.txn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn take_rewind_needed(&self) -> bool {
        self.rewind_needed.swap(false, Ordering::AcqRel)
    }

    pub fn take_reassigned(&self) -> bool {
        self.reassigned.swap(false, Ordering::AcqRel)
    }

    /// Aborts (or, when the producer is unusable, replaces it) after a failed
    /// commit inside a callback.
    fn recover(&self, transaction: &mut Transaction, error: TxnError) {
        tracing::warn!("{error}; aborting the open transaction");
        let outcome = match error {
            TxnError::Abortable(_) => transaction.abort(),
            TxnError::Fatal(error) => Err(TxnError::Fatal(error)),
        };
        if let Err(error) = outcome {
            tracing::warn!("{error}; replacing the producer");
            if let Err(error) = transaction.rebuild(self.give_up_after) {
                tracing::error!("{error:#}");
            }
        }
        self.rewind_needed.store(true, Ordering::Release);
    }
}

impl ClientContext for PipelineContext {
    fn stats(&self, statistics: Statistics) {
        let lags = statistics
            .topics
            .iter()
            .flat_map(|(topic, stats)| {
                stats
                    .partitions
                    .values()
                    .filter(|p| p.partition >= 0 && p.consumer_lag >= 0)
                    .map(move |p| (topic.clone(), p.partition, p.consumer_lag))
            })
            .collect();
        self.metrics.set_consumer_lag(lags);
    }
}

impl ConsumerContext for PipelineContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                self.metrics.set_ready(false);
                let mut guard = self.transaction();
                let Some(transaction) = guard.as_mut().filter(|t| t.is_open()) else { return };
                if consumer.assignment_lost() {
                    tracing::warn!("assignment lost (session timed out?); aborting the open transaction");
                    if let Err(error) = transaction.abort() {
                        self.recover(transaction, error);
                    }
                    return;
                }
                tracing::info!(partitions = partitions.count(), "partitions revoked; committing the open transaction first");
                // Decisions kept for these records are pruned at the loop's
                // next commit; keeping them a little longer is harmless.
                if let Err(error) = transaction.commit(consumer) {
                    self.recover(transaction, error);
                }
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => tracing::warn!("rebalance error: {error}"),
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            tracing::info!(partitions = partitions.count(), "partitions assigned");
            self.reassigned.store(true, Ordering::Release);
            self.metrics.set_ready(partitions.count() > 0);
        }
    }
}
