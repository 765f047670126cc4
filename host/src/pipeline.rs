//! The exactly-once loop (EOS v2): poll a read_committed consumer, call the
//! plugin once per record, queue its outputs in the open transaction, and
//! commit outputs and input offsets together every `--commit-interval-ms` or
//! `--transaction-max-records`. Every abort rewinds the consumer to the
//! committed offsets, so nothing is lost and nothing is written twice.
//!
//! A trap aborts and rewinds; on the way back the transaction is committed
//! just before the trapping record, which is then retried alone on a fresh
//! instance. That keeps a flaky plugin from aborting the same batch forever.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::Config;
use crate::failure::Failure;
use crate::kafka::client::{self, is_transient};
use crate::kafka::context::PipelineContext;
use crate::kafka::slot;
use crate::kafka::transaction::{self, Source, Transaction, TxnError};
use crate::metrics::{self, Metrics};
use crate::plugin::{CallError, Header, InputRecord, OutputRecord, OutputTopics, Plugin, PluginEngine, Sandbox};
use crate::policy::{PoisonPolicy, RecordId, Verdict, dead_letter};

/// Bound on one rewind (committed-offset fetch and seeks).
const REWIND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the pipeline until SIGTERM/SIGINT (exit 0) or a fatal error.
pub fn run(config: Config) -> Result<(), Failure> {
    let metrics = Arc::new(Metrics::new());
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("eoshost-io")
        .build()
        .map_err(|e| Failure::Fatal(e.into()))?;
    runtime.block_on(async {
        if let Some(addr) = config.metrics_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Failure::usage(format!("cannot serve metrics on --metrics-addr {addr}: {e}")))?;
            tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
            tokio::spawn(metrics::serve(listener, metrics.clone()));
        }
        tokio::spawn(stop_on_signal(stop.clone()));
        tokio::spawn(exit_if_stuck(stop.clone()));
        crate::progress::start(&config, &metrics);
        let pipeline_metrics = metrics.clone();
        tokio::task::spawn_blocking(move || Pipeline::start(config, pipeline_metrics, stop)?.run())
            .await
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("the pipeline thread failed: {e}")))?
    })
}

/// Sets `stop` on the first SIGTERM or SIGINT; a second one exits at once.
async fn stop_on_signal(stop: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop eoshost with SIGKILL");
        return;
    };
    for round in 0.. {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if round > 0 {
            tracing::warn!("second signal: exiting without finishing the transaction (the broker aborts it)");
            std::process::exit(1);
        }
        tracing::info!("stopping: finishing the open transaction and leaving the group");
        stop.store(true, Ordering::Release);
    }
}

/// How far past its own timeout a transactional call may run before eoshost
/// gives up on the process.
const CALL_HANG_MARGIN: Duration = Duration::from_secs(20);

/// How long a stop may take before eoshost exits without finishing it.
const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// Exits (code 1), saying why, when the pipeline thread is stuck:
/// - a transactional call has run [`CALL_HANG_MARGIN`] past its timeout.
///   librdkafka 2.12 can block `send_offsets_to_transaction` indefinitely (it
///   waits for a result with no deadline) after the transaction coordinator's
///   node dies; the thread cannot be freed from such a call, and the instance
///   would keep its partitions while processing nothing. Exiting hands them to
///   the rest of the group after the session timeout, and a restart fences
///   the stuck producer.
/// - a stop has not finished within [`STOP_DEADLINE`] (it normally takes well
///   under a second): rather than outlive the orchestrator's grace period.
///
/// Nothing is lost or duplicated either way: the open transaction is aborted
/// by the broker (or fenced by the next instance) and its records are read
/// again.
async fn exit_if_stuck(stop: Arc<AtomicBool>) {
    let call_limit = transaction::CALL_TIMEOUT + CALL_HANG_MARGIN;
    let mut stopping_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let call = transaction::call_under_way();
        if let Some((call, running)) = call.filter(|(_, running)| *running > call_limit) {
            tracing::error!(
                "librdkafka's {call} has not returned for {running:.0?} (its timeout is {:?}); exiting so that \
                 the group moves this instance's partitions (the broker aborts the open transaction; restart \
                 eoshost)",
                transaction::CALL_TIMEOUT
            );
            std::process::exit(1);
        }
        if stop.load(Ordering::Acquire) && stopping_since.get_or_insert_with(Instant::now).elapsed() >= STOP_DEADLINE {
            let stuck = match call {
                Some((call, running)) => format!("librdkafka's {call} has not returned for {running:.0?}"),
                None => "the pipeline has not finished".to_owned(),
            };
            tracing::error!(
                "stop did not finish within {STOP_DEADLINE:?} ({stuck}); exiting without finishing the open \
                 transaction (the broker aborts it; its records are read again)"
            );
            std::process::exit(1);
        }
    }
}

struct Pipeline {
    config: Config,
    consumer: BaseConsumer<PipelineContext>,
    sandbox: Sandbox,
    topics: OutputTopics,
    policy: PoisonPolicy,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    max_message_bytes: usize,
    /// First offset read from each partition since it was assigned: where a
    /// rewind goes when the group has no committed offset there yet.
    start_offsets: HashMap<(String, i32), i64>,
    /// Records before which the transaction is committed (each trapped once).
    commit_before: HashSet<RecordId>,
    _slot: Option<slot::Slot>,
}

/// Why a record's outputs were not queued.
enum WriteError {
    /// Checked before anything was sent: the record follows the policy now.
    Refused(String),
    /// Kafka refused an output after others may have been queued: abort.
    Kafka(String),
}

impl Pipeline {
    fn start(config: Config, metrics: Arc<Metrics>, stop: Arc<AtomicBool>) -> Result<Self, Failure> {
        let engine = PluginEngine::new(config.limits)?;
        let plugin =
            Plugin::load(&engine, &config.plugin, config.plugin_config.clone()).map_err(|e| Failure::usage(e.to_string()))?;
        let (transactional_id, slot) = match &config.transactional_id {
            Some(id) => (id.clone(), None),
            None => {
                let slot = slot::acquire(&config.group)?;
                (slot.transactional_id.clone(), Some(slot))
            }
        };

        let context = PipelineContext::new(metrics.clone(), config.connect_timeout);
        let consumer: BaseConsumer<PipelineContext> = client::consumer_config(&config, config.metrics_addr.is_some())
            .create_with_context(context)
            .map_err(|e| Failure::usage(format!("invalid Kafka consumer settings: {e}")))?;
        client::await_cluster(&consumer, &config)?;
        let transaction = Transaction::create(
            client::producer_config(&config, &transactional_id),
            metrics.clone(),
            stop.clone(),
            config.connect_timeout,
        )
        .map_err(Failure::Fatal)?;
        consumer.context().install(transaction);
        let inputs: Vec<&str> = config.inputs.iter().map(String::as_str).collect();
        consumer.subscribe(&inputs).map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot subscribe to {inputs:?}: {e}")))?;
        tracing::info!(
            plugin = %config.plugin.display(), group = %config.group, transactional_id = %transactional_id,
            inputs = ?config.inputs, outputs = ?config.outputs, "eoshost started"
        );
        Ok(Pipeline {
            max_message_bytes: client::max_message_bytes(&config),
            topics: OutputTopics::new(config.outputs.clone()),
            policy: PoisonPolicy::new(config.on_error, config.max_retries),
            sandbox: Sandbox::new(plugin),
            consumer,
            metrics,
            stop,
            start_offsets: HashMap::new(),
            commit_before: HashSet::new(),
            _slot: slot,
            config,
        })
    }

    fn run(mut self) -> Result<(), Failure> {
        loop {
            self.metrics.loop_alive();
            if self.stop.load(Ordering::Acquire) {
                return self.shutdown();
            }
            if self.consumer.context().take_reassigned() {
                self.start_offsets.clear();
            }
            if self.consumer.context().take_rewind_needed() {
                self.rewind()?;
            }
            // Keep the instance ready outside any record's call.
            if let Err(trap) = self.sandbox.ensure_instance() {
                self.metrics.plugin_trapped(trap.kind);
                tracing::warn!("a fresh plugin instance trapped while starting: {trap}; retrying");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            let (open, age, records) = {
                let guard = self.consumer.context().transaction();
                let txn = guard.as_ref().expect("installed at start");
                (txn.is_open(), txn.age(), txn.records())
            };
            if open && (age >= self.config.commit_interval || records >= self.config.transaction_max_records) {
                self.commit()?;
                continue;
            }
            let wait = if open {
                (self.config.commit_interval - age).min(Duration::from_millis(50))
            } else {
                Duration::from_millis(100)
            };
            match self.consumer.poll(wait) {
                None => {}
                Some(Err(error)) if is_transient(&error) => tracing::debug!("consumer: {error}"),
                Some(Err(error)) => tracing::warn!("consumer error: {error}"),
                Some(Ok(message)) => {
                    let record = input_record(&message);
                    drop(message);
                    self.process(record)?;
                }
            }
        }
    }

    /// One record: plugin call, outputs or policy, offset accounted.
    fn process(&mut self, record: InputRecord) -> Result<(), Failure> {
        self.metrics.record_consumed();
        let id = RecordId::of(&record);
        self.start_offsets.entry((id.topic.clone(), id.partition)).or_insert(id.offset);
        if self.commit_before.remove(&id) && self.with_txn(|txn| txn.records() > 0) {
            self.commit()?;
        }
        if let Err(error) = self.with_txn(Transaction::ensure_begun) {
            return self.recover(error);
        }

        let verdict = match self.policy.decided(&id) {
            Some(verdict) => verdict,
            None => {
                let started = Instant::now();
                let result = self.sandbox.transform(&record);
                self.metrics.plugin_called(started.elapsed());
                match result {
                    Ok(outputs) => match self.write_outputs(&record, &id, &outputs) {
                        Ok(()) => {
                            self.policy.succeeded(&id);
                            self.with_txn(|txn| txn.transformed(&id, outputs.len()));
                            return Ok(());
                        }
                        Err(WriteError::Refused(reason)) => self.policy.rejected(&id, reason),
                        Err(WriteError::Kafka(reason)) => {
                            tracing::warn!(record = %id, "Kafka refused an output: {reason}; aborting, the record will follow --on-error");
                            self.policy.condemn(id, format!("Kafka refused an output: {reason}"));
                            return self.abort_and_rewind();
                        }
                    },
                    Err(CallError::Rejected(reason)) => self.policy.rejected(&id, reason),
                    Err(CallError::Trap(trap)) => {
                        self.metrics.plugin_trapped(trap.kind);
                        tracing::warn!(record = %id, kind = %trap.kind, "plugin trapped: {}", trap.message);
                        self.policy.trapped(&id, &trap)
                    }
                }
            }
        };
        self.apply(verdict, &record, id)
    }

    fn apply(&mut self, verdict: Verdict, record: &InputRecord, id: RecordId) -> Result<(), Failure> {
        match verdict {
            Verdict::Retry => {
                self.commit_before.insert(id);
                self.abort_and_rewind()
            }
            Verdict::Fail(error) => {
                if let Err(abort_error) = self.with_txn(Transaction::abort) {
                    tracing::warn!("{abort_error}");
                }
                Err(Failure::RecordFailed(anyhow::anyhow!(
                    "record at {id} failed: {error}. Its offset was not committed. Fix the plugin or the record, \
                     or run with --on-error skip or --on-error dlq"
                )))
            }
            Verdict::Skip(error) => {
                tracing::warn!(record = %id, "skipping record (--on-error skip): {error}");
                self.with_txn(|txn| txn.skipped(&id));
                Ok(())
            }
            Verdict::DeadLetter(error) => {
                let dlq = self.config.dlq_topic.clone().expect("--on-error dlq has a topic");
                tracing::warn!(record = %id, dlq = %dlq, "dead-lettering record: {error}");
                let letter = dead_letter(record, &dlq, &error, self.sandbox.plugin().name());
                let sent =
                    self.with_txn(|txn| txn.send(&dlq, &letter, record.timestamp, Source { id: id.clone(), dead_letter: true }));
                match sent {
                    Ok(()) => {
                        self.with_txn(|txn| txn.dead_lettered(&id));
                        Ok(())
                    }
                    Err(error) => Err(Failure::Fatal(anyhow::anyhow!(
                        "cannot write the dead letter of {id} to \"{dlq}\": {error}; check the dead-letter topic"
                    ))),
                }
            }
        }
    }

    /// Checks every output (topic allowed, size within message.max.bytes)
    /// before queueing any, so a record's outputs are all queued or none.
    fn write_outputs(&mut self, record: &InputRecord, id: &RecordId, outputs: &[OutputRecord]) -> Result<(), WriteError> {
        let mut targets = Vec::with_capacity(outputs.len());
        for output in outputs {
            let topic = self.topics.resolve(output).map_err(|e| WriteError::Refused(e.to_string()))?;
            let size = output.key.as_ref().map_or(0, Vec::len)
                + output.value.as_ref().map_or(0, Vec::len)
                + output.headers.iter().map(|h| h.key.len() + h.value.len() + 16).sum::<usize>();
            if size > self.max_message_bytes {
                return Err(WriteError::Refused(format!(
                    "an output of {size} bytes exceeds message.max.bytes ({}); raise it with -X message.max.bytes=… \
                     (and the topic's max.message.bytes) or make the plugin write smaller records",
                    self.max_message_bytes
                )));
            }
            targets.push(topic.to_owned());
        }
        let mut guard = self.consumer.context().transaction();
        let txn = guard.as_mut().expect("installed at start");
        for (output, topic) in outputs.iter().zip(targets) {
            txn.send(&topic, output, record.timestamp, Source { id: id.clone(), dead_letter: false })
                .map_err(|e| WriteError::Kafka(e.to_string()))?;
        }
        Ok(())
    }

    fn with_txn<T>(&self, f: impl FnOnce(&mut Transaction) -> T) -> T {
        let mut guard = self.consumer.context().transaction();
        f(guard.as_mut().expect("installed at start"))
    }

    /// Commits the open transaction; on failure aborts or rebuilds, then
    /// rewinds.
    fn commit(&mut self) -> Result<(), Failure> {
        match self.with_txn(|txn| txn.commit(&self.consumer)) {
            Ok(committed) => {
                self.policy.committed(&committed);
                Ok(())
            }
            Err(error) => self.recover(error),
        }
    }

    /// After a failed transactional call: abort (or replace the producer),
    /// condemn records whose outputs Kafka refused, rewind.
    fn recover(&mut self, error: TxnError) -> Result<(), Failure> {
        tracing::warn!("{error}; aborting the transaction and rewinding");
        match error {
            TxnError::Abortable(_) => self.abort_and_rewind(),
            TxnError::Fatal(_) => {
                self.with_txn(|txn| txn.rebuild(self.config.connect_timeout)).map_err(Failure::Fatal)?;
                self.condemn_refused()?;
                self.rewind()
            }
        }
    }

    fn abort_and_rewind(&mut self) -> Result<(), Failure> {
        if let Err(error) = self.with_txn(Transaction::abort) {
            tracing::warn!("{error}; replacing the producer");
            self.with_txn(|txn| txn.rebuild(self.config.connect_timeout)).map_err(Failure::Fatal)?;
        }
        self.condemn_refused()?;
        self.rewind()
    }

    /// Records whose outputs Kafka refused follow --on-error when they come
    /// back; a refused dead letter is fatal (it would fail forever).
    fn condemn_refused(&mut self) -> Result<(), Failure> {
        for (source, error) in self.with_txn(|txn| txn.take_refused()) {
            if source.dead_letter {
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "Kafka refused the dead letter of {}: {error}; check the dead-letter topic",
                    source.id
                )));
            }
            if is_permanent_produce_error(&error) {
                tracing::warn!(record = %source.id, "Kafka refused an output: {error}; the record will follow --on-error");
                self.policy.condemn(source.id, format!("Kafka refused an output: {error}"));
            }
        }
        Ok(())
    }

    /// Moves every assigned partition back to its committed offset (where the
    /// group has none, to the first offset read since the assignment).
    fn rewind(&mut self) -> Result<(), Failure> {
        let assignment = self
            .consumer
            .assignment()
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the assignment to rewind: {e}")))?;
        if assignment.count() == 0 {
            return Ok(());
        }
        let started = Instant::now();
        let committed = loop {
            match self.consumer.committed_offsets(assignment.clone(), Duration::from_secs(10)) {
                Ok(committed) => break committed,
                // Stopping: nothing more is read, so there is nothing to rewind.
                Err(_) if self.stop.load(Ordering::Acquire) => return Ok(()),
                Err(error) if started.elapsed() < REWIND_TIMEOUT => {
                    tracing::warn!("fetching committed offsets to rewind failed, retrying: {error}");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(error) => {
                    return Err(Failure::Fatal(anyhow::anyhow!(
                        "cannot fetch committed offsets to rewind: {error}; restart eoshost (it resumes from the committed offsets)"
                    )));
                }
            }
        };
        let mut targets = TopicPartitionList::with_capacity(committed.count());
        for element in committed.elements() {
            let offset = match element.offset() {
                Offset::Offset(offset) => Offset::Offset(offset),
                _ => match self.start_offsets.get(&(element.topic().to_owned(), element.partition())) {
                    Some(first) => Offset::Offset(*first),
                    None => continue, // nothing read there since the assignment
                },
            };
            targets.add_partition_offset(element.topic(), element.partition(), offset).map_err(|e| Failure::Fatal(e.into()))?;
        }
        let mut attempt = 0;
        loop {
            match self.consumer.seek_partitions(targets.clone(), REWIND_TIMEOUT) {
                Ok(result) => {
                    let failed: Vec<String> = result
                        .elements()
                        .iter()
                        .filter_map(|e| e.error().err().map(|err| format!("{}/{}: {err}", e.topic(), e.partition())))
                        .collect();
                    if failed.is_empty() {
                        tracing::debug!(partitions = targets.count(), "rewound to committed offsets");
                        return Ok(());
                    }
                    if attempt >= 20 {
                        return Err(Failure::Fatal(anyhow::anyhow!(
                            "cannot rewind {}; restart eoshost (it resumes from the committed offsets)",
                            failed.join(", ")
                        )));
                    }
                    tracing::debug!("rewind not possible yet for {}; retrying", failed.join(", "));
                }
                Err(error) if attempt >= 20 => {
                    return Err(Failure::Fatal(anyhow::anyhow!("cannot rewind: {error}; restart eoshost")));
                }
                Err(error) => tracing::debug!("rewind failed, retrying: {error}"),
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Finishes the open transaction and leaves the group. A commit that
    /// fails (the calls are short and not retried once stopping) is aborted
    /// instead; nothing is rewound, since nothing more is read.
    fn shutdown(self) -> Result<(), Failure> {
        if let Err(error) = self.with_txn(|txn| txn.commit(&self.consumer)) {
            tracing::warn!("{error}; aborting the open transaction and stopping (its records are read again)");
            if let Err(error) = self.with_txn(Transaction::abort) {
                tracing::warn!("{error}; the broker aborts the transaction when it times out");
            }
        }
        self.consumer.unsubscribe();
        drop(self.consumer); // closes: leaves the group
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// Errors after which the same output would be refused again.
fn is_permanent_produce_error(error: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::error::RDKafkaErrorCode as Code;
    matches!(
        error.rdkafka_error_code(),
        Some(
            Code::MessageSizeTooLarge
                | Code::InvalidMessageSize
                | Code::InvalidMessage
                | Code::MessageBatchTooLarge
                | Code::InvalidRecord
                | Code::TopicAuthorizationFailed
                | Code::UnknownTopicOrPartition
                | Code::UnknownTopic
                | Code::UnknownPartition
        )
    )
}

/// Copies a consumed message into the record the plugin sees.
fn input_record(message: &BorrowedMessage<'_>) -> InputRecord {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| Header { key: h.key.to_owned(), value: h.value.map(<[u8]>::to_vec).unwrap_or_default() })
                .collect()
        })
        .unwrap_or_default();
    InputRecord {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        timestamp: message.timestamp().to_millis(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers,
    }
}
