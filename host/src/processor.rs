//! One input record's way through the plugins, the same in every mode — the
//! Kafka pipeline, the PostgreSQL sink, the outbox relay and `eoshost test`:
//! the chain is called, each output is checked once (its topic allowed, its
//! size within `message.max.bytes`), the record's state writes are kept when
//! it succeeds and undone when it does not, and a record that does not
//! succeed goes to the poison policy. The answer is the record's [`Fate`];
//! carrying it out (queueing outputs in a Kafka transaction, rows in a
//! database batch, lines on stdout) is the caller's.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::events::{Event, FreshInstanceTrapped, OutputRefused, PluginTrapped, RecordSkipped};
use crate::failure::Failure;
use crate::kafka::TopicPartition;
use crate::metrics::Metrics;
use crate::plugin::{CallError, Chain, InputRecord, OutputRecord, OutputTopics, Trap, TrapKind};
use crate::policy::{OnError, PoisonPolicy, RecordId, Verdict};
use crate::retry::Backoff;
use crate::state::SharedState;

/// What becomes of one input record.
#[derive(Debug)]
pub enum Fate {
    /// It succeeded: write these outputs (every one checked).
    Write(Vec<OutputRecord>),
    /// The plugin trapped, below `--max-retries`: retry the record on a
    /// fresh instance (the pipeline aborts and rewinds to do so).
    Retry,
    /// `--on-error fail`: stop with exit code 3; its offset is not committed.
    Fail(String),
    /// `--on-error skip`: commit its offset, write nothing.
    Skip(String),
    /// `--on-error dlq`: write the original record as a dead letter.
    DeadLetter(String),
}

impl From<Verdict> for Fate {
    fn from(verdict: Verdict) -> Fate {
        match verdict {
            Verdict::Retry => Fate::Retry,
            Verdict::Fail(error) => Fate::Fail(error),
            Verdict::Skip(error) => Fate::Skip(error),
            Verdict::DeadLetter(error) => Fate::DeadLetter(error),
        }
    }
}

/// Where outputs may go and how large they may be.
#[derive(Debug, Clone)]
pub struct OutputRules {
    /// `--output`: the topics an output may name (`None`: any, as for the
    /// PostgreSQL sink without `--output`).
    pub topics: Option<OutputTopics>,
    /// `message.max.bytes` (`None`: no bound, as for the PostgreSQL sink).
    pub max_message_bytes: Option<usize>,
}

impl OutputRules {
    /// Checks every output: its topic allowed, its size within bounds.
    pub fn check(&self, outputs: &[OutputRecord]) -> Result<(), String> {
        for output in outputs {
            if let Some(topics) = &self.topics {
                topics.resolve(output).map_err(|e| e.to_string())?;
            }
            if let Some(max) = self.max_message_bytes {
                let size = output.key.as_ref().map_or(0, Vec::len)
                    + output.value.as_ref().map_or(0, Vec::len)
                    + output.headers.iter().map(|h| h.key.len() + h.value.len() + 16).sum::<usize>();
                if size > max {
                    return Err(format!(
                        "an output of {size} bytes exceeds message.max.bytes ({max}); raise it with -X \
                         message.max.bytes=… (and the topic's max.message.bytes) or make the plugin write smaller records"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The chain, the output rules, the poison policy and the state store of
/// one run.
pub struct Processor {
    chain: Chain,
    rules: OutputRules,
    policy: PoisonPolicy,
    state: Option<SharedState>,
    metrics: Arc<Metrics>,
    /// What a `transform-batch` call said of records not yet processed, in
    /// their order ([`Processor::prepare`]).
    prepared: VecDeque<Prepared>,
    /// The most records one `transform-batch` call gets: halved each time a
    /// batch call runs out of time or memory (a batch has one call's
    /// budget), so a slow or large plugin soon goes record by record (below
    /// 2, no batches at all).
    batch_limit: usize,
}

/// The most records a `transform-batch` call gets at first.
const MAX_BATCH: usize = 256;

/// One record's answer from a batch call, taken when that record is processed.
struct Prepared {
    id: RecordId,
    result: Result<Vec<OutputRecord>, CallError>,
}

impl Prepared {
    /// Whether this is `record`'s answer (compared without building its id).
    fn answers(&self, record: &InputRecord) -> bool {
        self.id.offset == record.offset && self.id.partition == record.partition && self.id.topic == record.topic
    }
}

impl Processor {
    pub fn new(
        chain: Chain,
        rules: OutputRules,
        on_error: OnError,
        max_retries: u32,
        state: Option<SharedState>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Processor {
            chain,
            rules,
            policy: PoisonPolicy::new(on_error, max_retries),
            state,
            metrics,
            prepared: VecDeque::new(),
            batch_limit: MAX_BATCH,
        }
    }

    /// The plugins' names, comma-separated (what dead letters name).
    pub fn plugin_name(&self) -> &str {
        self.chain.name()
    }

    /// Makes every plugin's instance ready outside a record's call; a trap
    /// while starting one is counted and returned (the caller waits and
    /// tries again).
    pub fn ensure_instances(&mut self) -> Result<(), Trap> {
        self.chain.ensure_instances().inspect_err(|trap| FreshInstanceTrapped { trap }.emit(&self.metrics))
    }

    /// [`Self::ensure_instances`] until it succeeds, backing off between
    /// tries. `false`: a stop came first.
    pub fn wait_for_instances(&mut self, stop: &AtomicBool) -> bool {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        while self.ensure_instances().is_err() {
            if !backoff.wait(stop) {
                return false;
            }
        }
        true
    }

    /// Whether the plugin takes records in batches ([`Processor::prepare`]).
    pub fn takes_batches(&self) -> bool {
        self.chain.takes_batches()
    }

    /// Calls the plugin once for the records about to be processed, in this
    /// order, when it takes batches (world `batch-transformer`, alone, no
    /// state): [`Processor::process`] then takes each record's answer instead
    /// of calling the plugin. The batch is the leading records that never
    /// failed, at most the batch limit; a record that trapped or has a
    /// verdict goes alone, as without batches. A trap in the batch call
    /// leaves nothing prepared: every record then goes through `transform`
    /// on a fresh instance, so the record that traps is found, and counted,
    /// as it would be alone. Returns how many records the batch call
    /// answered.
    pub fn prepare(&mut self, records: &[InputRecord]) -> usize {
        self.prepared.clear();
        if !self.chain.takes_batches() {
            return 0;
        }
        let fresh = records.iter().take(self.batch_limit).take_while(|record| !self.policy.knows(record)).count();
        if fresh < 2 {
            return 0;
        }
        let batch = &records[..fresh];
        let started = Instant::now();
        let outcome = self.chain.transform_batch(batch);
        let elapsed = started.elapsed();
        match outcome {
            Ok(results) => {
                let share = elapsed / fresh as u32;
                for (record, result) in batch.iter().zip(results) {
                    self.metrics.plugin_called(share);
                    self.prepared.push_back(Prepared { id: RecordId::of(record), result });
                }
            }
            Err(trap) => {
                // Out of time or memory, a smaller batch may fit.
                if matches!(trap.kind, TrapKind::Timeout | TrapKind::Memory) {
                    self.batch_limit /= 2;
                }
                tracing::warn!(
                    plugin = self.chain.name(),
                    records = fresh,
                    next_batch_at_most = self.batch_limit,
                    "transform-batch trapped ({trap}); its records go through transform one by one"
                );
            }
        }
        self.prepared.len()
    }

    /// One record through the chain and the poison policy: its fate. `Err`
    /// only when eoshost cannot go on (a state write past
    /// `--state-max-mb`); the caller then drops whatever the record's
    /// transaction holds.
    pub fn process(&mut self, record: &InputRecord) -> Result<Fate, Failure> {
        self.metrics.record_consumed();
        if let Some(verdict) = self.policy.decided(record) {
            return Ok(self.decided(record, verdict));
        }
        let verdict = match self.call(record)? {
            Ok(outputs) => {
                self.policy.succeeded(record);
                return Ok(Fate::Write(outputs));
            }
            Err(CallError::Rejected(reason)) => self.policy.rejected(&RecordId::of(record), reason),
            Err(CallError::Trap(trap)) => {
                let id = RecordId::of(record);
                PluginTrapped { record: &id, trap: &trap }.emit(&self.metrics);
                self.policy.trapped(&id, &trap)
            }
        };
        Ok(self.decided(record, verdict))
    }

    /// One record through the chain, without the poison policy (what
    /// `eoshost test` shows as it is): the outputs, every one checked, or
    /// why the record failed. The record's state writes are kept when it
    /// succeeds and undone when it does not. `Err` as for [`Self::process`].
    pub fn call(&mut self, record: &InputRecord) -> Result<Result<Vec<OutputRecord>, CallError>, Failure> {
        let result = match self.take_prepared(record) {
            Some(result) => result,
            None => {
                let started = Instant::now();
                let result = self.chain.transform(record);
                self.metrics.plugin_called(started.elapsed());
                result
            }
        };
        let refusal = self.state.as_ref().and_then(|state| state.lock().take_refusal());
        if let Some(refusal) = refusal {
            return Err(Failure::usage(refusal.to_string()));
        }
        // Outputs that may not be written reject the record before anything
        // is queued, as the plugin's own rejection does.
        let result = result.and_then(|outputs| self.rules.check(&outputs).map(|()| outputs).map_err(CallError::Rejected));
        // The record's state writes stay only if it completes.
        if let Some(state) = &self.state {
            let mut state = state.lock();
            if result.is_ok() { state.record_completed() } else { state.record_undone() }
        }
        Ok(result)
    }

    /// The batch call's answer for `record`, if it is the next prepared one;
    /// records come in the order prepared, so anything else (a rewind, a
    /// record with a verdict) drops what is left.
    fn take_prepared(&mut self, record: &InputRecord) -> Option<Result<Vec<OutputRecord>, CallError>> {
        let next = self.prepared.pop_front()?;
        if next.answers(record) {
            return Some(next.result);
        }
        self.prepared.clear();
        None
    }

    fn decided(&self, record: &InputRecord, verdict: Verdict) -> Fate {
        if let Verdict::Skip(error) = &verdict {
            RecordSkipped { record: &RecordId::of(record), error }.emit(&self.metrics);
        }
        verdict.into()
    }

    /// Whether `record` trapped before and is to be retried alone: the
    /// pipeline commits what came before it first. Asked once each time the
    /// record comes back.
    pub fn retry_alone(&mut self, record: &InputRecord) -> bool {
        self.policy.take_retry_alone(record)
    }

    /// Kafka refused one of the record's outputs for good (too large for
    /// the topic, say): it must not reach the plugin again; `--on-error`
    /// applies when it comes back.
    pub fn refused(&mut self, id: RecordId, error: &str) {
        OutputRefused { record: &id, error }.emit(&self.metrics);
        self.policy.condemn(id, format!("Kafka refused an output: {error}"));
    }

    /// Offsets below these (next offset per partition) are committed.
    pub fn committed(&mut self, next_offsets: &[(TopicPartition, i64)]) {
        self.policy.committed(next_offsets);
    }
}
