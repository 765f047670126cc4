//! What the sink knows about its partitions, and the consumer callback that
//! keeps it right across rebalances. On assignment — inside the callback,
//! before any record of the partition is read — the consumer is pointed at
//! the offsets in `eoshost_offsets` (a partition with no row starts per
//! `auto.offset.reset`); when the database cannot be read then, the
//! partition is assigned paused and seeded by the loop once it can. On a
//! revoke the open batch is committed if the database allows it, else
//! dropped (the next owner reads it again from the database's offsets).
//! Kafka's committed offsets are written after each database commit, for
//! lag tools only: nothing reads them back. A stateful plugin's state is
//! read with the offsets (one snapshot) and written with each batch; a
//! batch dropped takes its state writes with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaResult;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

use super::batch::{Batch, Partition};
use super::database::{Database, DbError, Outcome, StateRow};
use crate::events::{Event, RecordDeadLettered, RecordSkipped};
use crate::metrics::Metrics;
use crate::state::{Scope, SharedState};

/// One assigned partition.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartitionState {
    /// `next_offset` in the database as this instance last saw or wrote it.
    pub committed: Option<i64>,
    /// The next offset to process; records below it are duplicates of a
    /// fetch from before a seek. `None`: take the first record that comes.
    pub position: Option<i64>,
    /// The next offset of the batch in flight, if it covers this partition:
    /// where the open batch starts from.
    pub submitted: Option<i64>,
    /// The consumer has been pointed at the database's offset.
    pub seeded: bool,
}

/// Everything the loop and the callback share; locked only between polls.
pub struct SinkState {
    /// The database; away on the commit thread while a commit is in flight.
    pub db: Option<Database>,
    /// The commit in flight ([`SinkState::start_commit`]).
    in_flight: Option<JoinHandle<Committing>>,
    pub partitions: HashMap<Partition, PartitionState>,
    pub batch: Batch,
    /// Where a partition with no offset row starts.
    pub reset: Offset,
    pub metrics: Arc<Metrics>,
    /// The stateful plugins' store, when a plugin keeps state (kept in
    /// `eoshost_state`).
    pub store: Option<SharedState>,
}

pub struct SinkContext {
    state: Mutex<SinkState>,
    /// The metrics, also reachable outside the state's lock (the client's
    /// error callback).
    metrics: Arc<Metrics>,
    /// Named in TLS and authentication refusals that name no broker.
    bootstrap: String,
}

impl SinkContext {
    pub fn new(state: SinkState, bootstrap: &str) -> Self {
        SinkContext { metrics: state.metrics.clone(), state: Mutex::new(state), bootstrap: bootstrap.to_owned() }
    }

    /// Never held across `poll` (the callback runs inside it).
    pub fn state(&self) -> MutexGuard<'_, SinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A commit on its thread: the database and the batch come back with the
/// result.
struct Committing {
    db: Database,
    batch: Batch,
    started: Instant,
    result: Result<Outcome, DbError>,
}

/// A commit that ended: its outcome, and the next offset of each partition
/// it covered.
pub struct Committed {
    pub outcome: Outcome,
    pub next: Vec<(Partition, i64)>,
}

impl SinkState {
    pub fn new(db: Database, reset: Offset, metrics: Arc<Metrics>, store: Option<SharedState>) -> SinkState {
        SinkState { db: Some(db), in_flight: None, partitions: HashMap::new(), batch: Batch::default(), reset, metrics, store }
    }

    /// Reads the database's offsets of `partitions` (after the commit in
    /// flight, if any) and records them as seeded; returns where the
    /// consumer must start each one.
    pub fn seed(
        &mut self,
        partitions: &[Partition],
        consumer: &BaseConsumer<SinkContext>,
    ) -> Result<TopicPartitionList, DbError> {
        self.finish_commit(consumer)?;
        let db = self.db.as_mut().expect("no commit is in flight");
        let (found, rows) = db.read_seed(partitions)?;
        if let Some(store) = &self.store {
            let mut store = store.lock();
            for partition in partitions {
                store.forget_partition(&partition.topic, partition.partition);
            }
            for row in &rows {
                let scope =
                    Scope { topic: row.partition.topic.clone(), partition: row.partition.partition, plugin: row.plugin.clone() };
                store.load(&scope, &row.key, row.value.as_deref()).map_err(|e| DbError::Fatal(e.to_string()))?;
            }
            self.metrics.set_state_bytes(store.bytes());
            tracing::info!(
                partitions = %Partition::list(partitions),
                keys = rows.len(),
                state_bytes = store.bytes(),
                "read the stateful plugins' state from eoshost_state"
            );
        }
        let mut targets = TopicPartitionList::with_capacity(partitions.len());
        for partition in partitions {
            let committed = found.get(partition).copied();
            let start = committed.map_or(self.reset, Offset::Offset);
            // Only errors on a negative partition number, which Kafka never assigns.
            let _ = targets.add_partition_offset(&partition.topic, partition.partition, start);
            self.partitions
                .insert(partition.clone(), PartitionState { committed, position: committed, submitted: None, seeded: true });
        }
        Ok(targets)
    }

    /// Partitions not yet pointed at the database's offsets.
    pub fn unseeded(&self) -> Vec<Partition> {
        let mut list: Vec<Partition> = self.partitions.iter().filter(|(_, s)| !s.seeded).map(|(p, _)| p.clone()).collect();
        list.sort();
        list
    }

    /// Drops the open batch and marks every partition for a re-read of the
    /// database's offsets: what the batch covered is processed again.
    pub fn redo_from_database(&mut self) {
        // A commit in flight ends first: what it wrote (if anything) is
        // what the partitions are read again from.
        if let Some(commit) = self.in_flight.take() {
            let Committing { db, result, .. } = commit.join().expect("a commit thread does not panic");
            self.db = Some(db);
            match result {
                Ok(Outcome::Stale(why)) => {
                    tracing::warn!(
                        "another instance owns a partition of this batch now ({why}); dropping the batch (nothing \
                         was written) and resuming from the database's offsets"
                    );
                    self.metrics.transaction_aborted();
                }
                Ok(Outcome::Committed) => tracing::info!("the batch in flight committed; resuming from the database's offsets"),
                Err(error) => tracing::warn!("{error}; dropping the batch in flight (its records are read again)"),
            }
        }
        self.batch.clear();
        if let Some(store) = &self.store {
            store.lock().transaction_aborted();
        }
        for state in self.partitions.values_mut() {
            state.seeded = false;
            state.submitted = None;
        }
    }

    /// Starts committing the open batch on a thread of its own, so that the
    /// next batch fills meanwhile (one commit in flight at a time; the next
    /// batch's offsets start where this one's end). A stateful plugin's
    /// batch is committed before the next record instead
    /// ([`SinkState::commit_batch`]): its state writes are undone per batch.
    pub fn start_commit(&mut self) {
        if self.batch.is_empty() || self.in_flight.is_some() {
            return;
        }
        let mut db = self.db.take().expect("no commit is in flight, so the database is here");
        let batch = std::mem::take(&mut self.batch);
        for (partition, span) in &batch.spans {
            if let Some(state) = self.partitions.get_mut(partition) {
                state.submitted = Some(span.next);
            }
        }
        let state = self.state_rows();
        let started = Instant::now();
        self.in_flight = Some(std::thread::spawn(move || {
            let result = db.commit(&batch, &state);
            Committing { db, batch, started, result }
        }));
    }

    /// Whether no commit is in flight, or the one in flight has ended.
    pub fn commit_ended(&self) -> bool {
        self.in_flight.as_ref().is_none_or(|commit| commit.is_finished())
    }

    /// Whether a commit is in flight.
    pub fn committing(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Waits for the commit in flight, if any, and takes in its outcome: on
    /// success what the partitions know is updated and Kafka's committed
    /// offsets are written for lag tools; a stale batch is dropped (with the
    /// open one, built on it) and the partitions re-read; when the database
    /// is unavailable the batch goes back in front of the open one, to be
    /// committed with it. Returns the outcome and the offsets committed.
    pub fn finish_commit(&mut self, consumer: &BaseConsumer<SinkContext>) -> Result<Option<Committed>, DbError> {
        let Some(commit) = self.in_flight.take() else { return Ok(None) };
        let Committing { db, batch, started, result } = commit.join().expect("a commit thread does not panic");
        self.db = Some(db);
        for state in self.partitions.values_mut() {
            state.submitted = None;
        }
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(error) => {
                let later = std::mem::replace(&mut self.batch, batch);
                self.batch.append(later);
                return Err(error);
            }
        };
        let next: Vec<(Partition, i64)> = batch.spans.iter().map(|(p, s)| (p.clone(), s.next)).collect();
        match &outcome {
            Outcome::Committed => self.committed(&batch, started, consumer),
            Outcome::Stale(why) => {
                tracing::warn!(
                    "another instance owns a partition of this batch now ({why}); dropping the batch (nothing \
                     was written) and resuming from the database's offsets"
                );
                self.metrics.transaction_aborted();
                self.redo_from_database();
            }
        }
        Ok(Some(Committed { outcome, next }))
    }

    /// Commits the open batch now (after the one in flight, if any), as the
    /// rebalance callback, a stateful plugin and the stop need.
    pub fn commit_batch(&mut self, consumer: &BaseConsumer<SinkContext>) -> Result<Outcome, DbError> {
        if let Some(Committed { outcome: outcome @ Outcome::Stale(_), .. }) = self.finish_commit(consumer)? {
            return Ok(outcome);
        }
        self.start_commit();
        Ok(self.finish_commit(consumer)?.map_or(Outcome::Committed, |committed| committed.outcome))
    }

    /// The stateful plugins' keys the open batch changed, as rows.
    fn state_rows(&self) -> Vec<StateRow> {
        let Some(store) = &self.store else { return Vec::new() };
        store
            .lock()
            .changes()
            .iter()
            .map(|change| StateRow {
                partition: Partition::new(change.scope.topic.clone(), change.scope.partition),
                plugin: change.scope.plugin.clone(),
                key: change.key.to_vec(),
                value: change.value.map(<[u8]>::to_vec),
            })
            .collect()
    }

    /// `batch` committed: the partitions' offsets, the counts, the refused
    /// records' events, the state, and Kafka's offsets for lag tools.
    fn committed(&mut self, batch: &Batch, started: Instant, consumer: &BaseConsumer<SinkContext>) {
        let db = self.db.as_mut().expect("the commit has ended");
        let refused = db.take_refused();
        let dead_lettered = refused.iter().filter(|r| r.dead_lettered).count();
        for refusal in &refused {
            match refusal.dead_lettered {
                true => {
                    RecordDeadLettered { record: &refusal.record, destination: "the dead-letter table", error: &refusal.error }
                        .emit(&self.metrics)
                }
                false => RecordSkipped { record: &refusal.record, error: &refusal.error }.emit(&self.metrics),
            }
        }
        let mut offsets = TopicPartitionList::with_capacity(batch.spans.len());
        for (partition, span) in &batch.spans {
            if let Some(state) = self.partitions.get_mut(partition) {
                state.committed = Some(span.next);
            }
            let _ = offsets.add_partition_offset(&partition.topic, partition.partition, Offset::Offset(span.next));
        }
        let changed: usize = batch
            .changes
            .iter()
            .filter(|record| !refused.iter().any(|r| r.record == record.source))
            .map(|record| record.changes.len())
            .sum();
        self.metrics.transaction_committed(
            started.elapsed(),
            (batch.rows.len() + changed) as u64,
            (batch.dead_letters.len() + dead_lettered) as u64,
            (batch.skipped + refused.len() - dead_lettered) as u64,
        );
        if let Some(store) = &self.store {
            let mut store = store.lock();
            store.transaction_committed();
            self.metrics.set_state_bytes(store.bytes());
        }
        if let Err(error) = consumer.commit(&offsets, CommitMode::Async) {
            tracing::debug!("writing Kafka's committed offsets (for lag tools) failed: {error}");
        }
    }

    /// Removes `partitions` from what this instance holds.
    fn forget(&mut self, partitions: &[Partition]) {
        for partition in partitions {
            self.partitions.remove(partition);
        }
        if let Some(store) = &self.store {
            store.lock().revoked(partitions.iter().cloned());
        }
    }
}

fn list_of(partitions: &[Partition]) -> TopicPartitionList {
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        list.add_partition(&tp.topic, tp.partition);
    }
    list
}

impl ClientContext for SinkContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        crate::kafka::context::client_error(&self.metrics, &self.bootstrap, error, reason);
    }

    /// Lag per assigned partition ([`crate::kafka::lag`]), from the offsets
    /// this instance committed to the database.
    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        let lags = {
            let state = self.state();
            crate::kafka::lag::partition_lags(&statistics, |topic, partition| {
                state.partitions.get(&Partition::new(topic, partition)).and_then(|p| p.committed)
            })
        };
        self.metrics.set_consumer_lag(lags);
    }
}

impl ConsumerContext for SinkContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let cooperative = matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
        let partitions = Partition::all_of(tpl);
        let mut state = self.state();
        let result: KafkaResult<()> = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let (targets, paused) = match state.seed(&partitions, consumer) {
                    Ok(targets) => (targets, false),
                    Err(error) => {
                        tracing::warn!(
                            "{error}; cannot read the offsets of the newly assigned partitions: they stay paused \
                             until the database answers"
                        );
                        for partition in &partitions {
                            state.partitions.insert(partition.clone(), PartitionState::default());
                        }
                        (tpl.clone(), true)
                    }
                };
                tracing::info!(partitions = %Partition::list(&partitions), "assigned; starting at the database's offsets");
                let assigned = if cooperative { consumer.incremental_assign(&targets) } else { consumer.assign(&targets) };
                assigned.and_then(|()| if paused { consumer.pause(&targets) } else { Ok(()) })
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if consumer.assignment_lost() {
                    tracing::warn!("assignment lost; dropping the open batch (the next owner reads it again)");
                    state.redo_from_database();
                } else {
                    match state.commit_batch(consumer) {
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(
                                "{error}; dropping the open batch before the partitions go (read again by their next owner)"
                            );
                            state.redo_from_database();
                        }
                    }
                }
                state.forget(&partitions);
                tracing::info!(partitions = %Partition::list(&partitions), "revoked");
                if cooperative { consumer.incremental_unassign(tpl) } else { consumer.unassign() }
            }
            other => {
                tracing::warn!("rebalance error {other:?}; dropping the assignment");
                state.redo_from_database();
                state.partitions.clear();
                consumer.unassign()
            }
        };
        if let Err(error) = result {
            tracing::error!("the rebalance could not be applied: {error}; re-reading every partition from the database");
            state.redo_from_database();
        }
    }
}

/// Pauses or resumes every partition in `partitions`.
pub fn set_paused(consumer: &BaseConsumer<SinkContext>, partitions: &[Partition], paused: bool) {
    if partitions.is_empty() {
        return;
    }
    let list = list_of(partitions);
    let result = if paused { consumer.pause(&list) } else { consumer.resume(&list) };
    if let Err(error) = result {
        tracing::warn!("cannot {} {partitions:?}: {error}", if paused { "pause" } else { "resume" });
    }
}
