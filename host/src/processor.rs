//! One input record's way through the plugins, the same in every mode — the
//! Kafka pipeline, the PostgreSQL sink, the outbox relay and `eoshost test`:
//! the chain is called, each output is checked once (its topic allowed, its
//! size within `message.max.bytes`), the record's state writes are kept when
//! it succeeds and undone when it does not, and a record that does not
//! succeed goes to the poison policy. The answer is the record's [`Fate`];
//! carrying it out (queueing outputs in a Kafka transaction, rows in a
//! database batch, lines on stdout) is the caller's.
//!
//! Typed records (`schemas/`): a key or value in a Schema Registry format
//! is decoded to JSON text before the chain and the outputs encoded after
//! it; a record that does not decode, or an output that does not fit its
//! schema, is rejected like a record the plugin rejects. The schemas a
//! batch needs are fetched before it is processed
//! ([`Processor::resolve_schemas`]), so a registry outage holds records
//! back instead of rejecting them.
//!
//! Timers go the same way: each record moves its partition's stream time
//! first; after it, the stream-time timers it made due fire
//! ([`Processor::fire_stream_timers`]), and the caller fires the wall-clock
//! timers that are due between records ([`Processor::fire_wall_timers`]).
//! Each [`Firing`] is the timer's outputs or its poison verdict, like a
//! record's.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::events::{Event, FreshInstanceTrapped, OutputRefused, PluginTrapped, RecordSkipped, TimerTrapped};
use crate::failure::Failure;
use crate::kafka::TopicPartition;
use crate::metrics::Metrics;
use crate::plugin::{CallError, Chain, InputRecord, OutputRecord, OutputTopics, TimerOutput, Trap, TrapKind};
use crate::policy::{OnError, PoisonPolicy, RecordId, Verdict};
use crate::retry::Backoff;
use crate::schemas::{RecordFormats, Unavailable};
use crate::state::{Scope, SharedState, Timer};

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

/// An output of a timer, checked, with the timestamp it is written with
/// (the timer's time unless the plugin chose one) and the partition it
/// asked for, if any.
#[derive(Debug)]
pub struct TimedOutput {
    pub record: OutputRecord,
    pub timestamp: i64,
    pub partition: Option<i32>,
}

/// What becomes of one timer that fired.
#[derive(Debug)]
pub enum TimerFate {
    /// Its handler succeeded: write these outputs (every one checked).
    Write(Vec<TimedOutput>),
    /// The handler trapped, below `--max-retries`: abort; the timer fires
    /// again on a fresh instance.
    Retry,
    /// `--on-error fail`: stop with exit code 3.
    Fail(String),
    /// `--on-error skip`: the timer is dropped, nothing written.
    Skip(String),
    /// `--on-error dlq`: the timer is dropped and a dead letter names it.
    DeadLetter(String),
}

impl From<Verdict> for TimerFate {
    fn from(verdict: Verdict) -> TimerFate {
        match verdict {
            Verdict::Retry => TimerFate::Retry,
            Verdict::Fail(error) => TimerFate::Fail(error),
            Verdict::Skip(error) => TimerFate::Skip(error),
            Verdict::DeadLetter(error) => TimerFate::DeadLetter(error),
        }
    }
}

/// A timer that fired: whose (input partition and plugin), which, and
/// what becomes of it.
#[derive(Debug)]
pub struct Firing {
    pub scope: Scope,
    pub timer: Timer,
    pub fate: TimerFate,
    /// Whether the handler trapped (rather than rejected the timer), for
    /// `eoshost test`, where a trap ends the run.
    pub trapped: bool,
}

impl Firing {
    /// How logs and errors name the timer.
    pub fn describe(&self) -> String {
        describe_timer(&self.scope, &self.timer)
    }
}

fn describe_timer(scope: &Scope, timer: &Timer) -> String {
    format!("{timer} of plugin {} on topic {} partition {}", scope.plugin, scope.topic, scope.partition)
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
    pub fn check<'a>(&self, outputs: impl IntoIterator<Item = &'a OutputRecord>) -> Result<(), String> {
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
    /// The plugins with timers (at most one, the chain's last).
    timer_plugins: Vec<String>,
    /// Typed keys and values, when any format is not `bytes`.
    formats: Option<RecordFormats>,
    /// The record being processed as the plugins see it (decoded), reused.
    decoded: InputRecord,
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
        let timer_plugins = chain.timer_plugins();
        Processor {
            timer_plugins,
            chain,
            rules,
            policy: PoisonPolicy::new(on_error, max_retries),
            state,
            metrics,
            prepared: VecDeque::new(),
            batch_limit: MAX_BATCH,
            formats: None,
            decoded: crate::kafka::reading::empty_record(),
        }
    }

    /// Decodes inputs and encodes outputs with `formats` (when any is typed).
    pub fn with_formats(mut self, formats: RecordFormats) -> Self {
        self.formats = formats.typed().then_some(formats);
        self
    }

    /// Fetches the schemas `records` need that are not known yet (one
    /// request per new schema id). `Err`: the Schema Registry is away; the
    /// caller commits what it holds and waits ([`Self::wait_for_schemas`]).
    pub fn resolve_schemas(&mut self, records: &[InputRecord]) -> Result<(), Unavailable> {
        match &mut self.formats {
            Some(formats) => formats.resolve(records),
            None => Ok(()),
        }
    }

    /// [`Self::resolve_schemas`] until the registry answers. `false`: a stop
    /// came first.
    pub fn wait_for_schemas(&mut self, records: &[InputRecord], stop: &AtomicBool) -> bool {
        match &mut self.formats {
            Some(formats) => formats.wait(records, stop),
            None => true,
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
        // Typed records are decoded one by one, so they go one by one.
        if !self.chain.takes_batches() || self.formats.is_some() {
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
            self.observe(record)?;
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
        self.observe(record)?;
        let prepared = self.take_prepared(record);
        let result = match (&mut self.formats, prepared) {
            (_, Some(result)) => result,
            (None, None) => {
                let started = Instant::now();
                let result = self.chain.transform(record);
                self.metrics.plugin_called(started.elapsed());
                result
            }
            (Some(formats), None) => match formats.decode(record, &mut self.decoded) {
                Err(rejection) => Err(CallError::Rejected(rejection.reason)),
                Ok(()) => {
                    let started = Instant::now();
                    let result = self.chain.transform(&self.decoded);
                    self.metrics.plugin_called(started.elapsed());
                    result.and_then(|mut outputs| {
                        formats
                            .encode(&mut outputs, Some((record, &self.decoded)))
                            .map(|()| outputs)
                            .map_err(|rejection| CallError::Rejected(rejection.reason))
                    })
                }
            },
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

    /// Whether a plugin of the chain has timers.
    pub fn has_timers(&self) -> bool {
        !self.timer_plugins.is_empty()
    }

    /// Moves the stream time of the record's partition up to its timestamp
    /// for every plugin with timers, whatever becomes of the record (an
    /// abort of its transaction takes it back).
    fn observe(&mut self, record: &InputRecord) -> Result<(), Failure> {
        let (Some(time), Some(state)) = (record.timestamp, &self.state) else { return Ok(()) };
        let mut store = state.lock();
        for plugin in &self.timer_plugins {
            store
                .advance_stream_time(&record.topic, record.partition, plugin, time)
                .map_err(|e| Failure::usage(e.to_string()))?;
        }
        Ok(())
    }

    /// Fires the stream-time timers that `record` (just processed) made due
    /// on its partition, earliest first: each one's [`Firing`], up to and
    /// including the first that must be retried or fails the run. `Err` as
    /// for [`Self::process`].
    pub fn fire_stream_timers(&mut self, record: &InputRecord) -> Result<Vec<Firing>, Failure> {
        let Some(state) = self.state.clone().filter(|_| self.has_timers()) else { return Ok(Vec::new()) };
        let mut due = Vec::new();
        for plugin in &self.timer_plugins {
            let timers = state.lock().due_stream_timers(&record.topic, record.partition, plugin);
            let scope = Scope { topic: record.topic.clone(), partition: record.partition, plugin: plugin.clone() };
            due.extend(timers.into_iter().map(|timer| (scope.clone(), timer)));
        }
        self.fire_all(due)
    }

    /// Whether a wall-clock timer is due now (checked before a transaction
    /// is opened to fire it).
    pub fn wall_timers_due(&self) -> bool {
        let Some(state) = self.state.as_ref().filter(|_| self.has_timers()) else { return false };
        let store = state.lock();
        store.wall_timer_due(store.wall_clock_ms())
    }

    /// Fires every wall-clock timer that is due now, on any partition whose
    /// state is held, as [`Self::fire_stream_timers`] does.
    pub fn fire_wall_timers(&mut self) -> Result<Vec<Firing>, Failure> {
        let Some(state) = self.state.clone().filter(|_| self.has_timers()) else { return Ok(Vec::new()) };
        let due = {
            let store = state.lock();
            store.due_wall_timers(store.wall_clock_ms())
        };
        self.fire_all(due)
    }

    fn fire_all(&mut self, due: Vec<(Scope, Timer)>) -> Result<Vec<Firing>, Failure> {
        let mut firings = Vec::new();
        for (scope, timer) in due {
            let Some((fate, trapped)) = self.fire(&scope, &timer)? else { continue };
            let last = matches!(fate, TimerFate::Retry | TimerFate::Fail(_));
            firings.push(Firing { scope, timer, fate, trapped });
            if last {
                break;
            }
        }
        Ok(firings)
    }

    /// Fires one timer: it is removed and its handler called, and its
    /// removal and state writes are kept when the handler succeeds; `None`
    /// when it is gone already (an earlier firing cancelled it). With the
    /// fate comes whether the handler trapped.
    fn fire(&mut self, scope: &Scope, timer: &Timer) -> Result<Option<(TimerFate, bool)>, Failure> {
        let state = self.state.clone().expect("a plugin with timers has a store");
        // Named only when the policy knows of failed timers, or this one fails.
        let id = || describe_timer(scope, timer);
        if self.policy.knows_timers()
            && let Some(verdict) = self.policy.timer_decided(&id())
        {
            return Ok(self.drop_timer(&state, scope, timer).then(|| (verdict.into(), false)));
        }
        {
            let mut store = state.lock();
            store.enter(&scope.topic, scope.partition, &scope.plugin);
            let taken = store.take_timer(timer).map_err(|e| Failure::Fatal(e.into()))?;
            if !taken {
                store.leave();
                return Ok(None);
            }
        }
        let started = Instant::now();
        let result = self.chain.on_timer(&scope.plugin, &scope.topic, scope.partition, timer);
        self.metrics.plugin_called(started.elapsed());
        if let Some(refusal) = state.lock().take_refusal() {
            return Err(Failure::usage(refusal.to_string()));
        }
        let result = result.and_then(|mut outputs| {
            if let Some(formats) = &mut self.formats {
                for output in &mut outputs {
                    formats
                        .encode(std::slice::from_mut(&mut output.output), None)
                        .map_err(|rejection| CallError::Rejected(rejection.reason))?;
                }
            }
            let outputs: Vec<TimedOutput> = outputs.into_iter().map(|output| timed(output, timer.time)).collect();
            self.rules.check(outputs.iter().map(|o| &o.record)).map(|()| outputs).map_err(CallError::Rejected)
        });
        {
            let mut store = state.lock();
            if result.is_ok() {
                store.record_completed()
            } else {
                store.record_undone()
            }
            // A handler that could not start left the scope entered above.
            store.leave();
        }
        let trapped = matches!(result, Err(CallError::Trap(_)));
        let verdict = match result {
            Ok(outputs) => {
                if self.policy.knows_timers() {
                    self.policy.timer_succeeded(&id());
                }
                return Ok(Some((TimerFate::Write(outputs), false)));
            }
            Err(CallError::Rejected(reason)) => self.policy.timer_rejected(&id(), reason),
            Err(CallError::Trap(trap)) => {
                let id = id();
                TimerTrapped { timer: &id, trap: &trap }.emit(&self.metrics);
                self.policy.timer_trapped(&id, &trap)
            }
        };
        if matches!(verdict, Verdict::Skip(_) | Verdict::DeadLetter(_)) {
            self.drop_timer(&state, scope, timer);
        }
        Ok(Some((verdict.into(), trapped)))
    }

    /// Removes a timer without firing it (its verdict says so), as a
    /// completed write; `false` when it was gone already.
    fn drop_timer(&self, state: &SharedState, scope: &Scope, timer: &Timer) -> bool {
        let mut store = state.lock();
        store.enter(&scope.topic, scope.partition, &scope.plugin);
        let taken = store.take_timer(timer).unwrap_or(false);
        store.record_completed();
        store.leave();
        taken
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

    /// The record's outputs cannot be written where the caller writes them
    /// (the sink's `--columns auto` found a field with no column, say): it
    /// is rejected with `reason`, as if the plugin had rejected it, and
    /// `--on-error` decides its fate.
    pub fn reject(&mut self, record: &InputRecord, reason: String) -> Fate {
        let verdict = self.policy.rejected(&RecordId::of(record), reason);
        self.decided(record, verdict)
    }

    /// The sink found the record's outputs unwritable only after they were
    /// batched with others (PostgreSQL refused a row, and a stateful
    /// plugin's writes are undone with the whole batch): it must not reach
    /// the plugin again; `--on-error` applies when it comes back.
    pub fn condemn(&mut self, id: RecordId, error: String) {
        self.policy.condemn(id, error);
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

/// A timer's output as it is written: the timer's time unless the plugin
/// chose a timestamp.
fn timed(output: TimerOutput, time: i64) -> TimedOutput {
    TimedOutput { record: output.output, timestamp: output.timestamp.unwrap_or(time), partition: output.partition }
}
