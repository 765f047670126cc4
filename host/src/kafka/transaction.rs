//! The transactional producer and the open transaction: begin, send outputs,
//! remember the next offset of every partition read, commit the offsets with
//! the consumer's group metadata (EOS v2, KIP-447), or abort. Errors are
//! classified for the caller: abortable (abort and rewind) or fatal (build a
//! new producer, whose `init_transactions` fences the old one, then rewind).
//! Every call here blocks; the pipeline runs it on a dedicated thread. Once a
//! stop is requested, calls are shorter and retriable errors are not retried,
//! so that SIGTERM ends eoshost in bounded time even while a coordinator is
//! unreachable (the open transaction is then aborted, or times out on the
//! broker, and the input is read again by whoever owns it next).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::metrics::Metrics;
use crate::plugin::OutputRecord;
use crate::policy::RecordId;

/// Bound on one transactional call (librdkafka retries inside it).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on one transactional call once a stop is requested: a SIGTERM that
/// lands during a call waits for it, then at most a commit and an abort.
const STOPPING_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a retriable error is retried before the transaction is aborted.
const RETRY_FOR: Duration = Duration::from_secs(60);

/// What the caller must do after a failed transactional call.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    /// Abort the transaction and rewind the consumer.
    #[error("abortable transaction error: {0}")]
    Abortable(KafkaError),
    /// The producer is unusable (fenced, or an error librdkafka does not
    /// classify): build a new one, then rewind.
    #[error("fatal producer error: {0}")]
    Fatal(KafkaError),
}

enum Class {
    Retriable,
    Abortable,
    Fatal,
}

fn classify(error: &KafkaError) -> Class {
    match error {
        KafkaError::Transaction(rd) if rd.is_fatal() => Class::Fatal,
        KafkaError::Transaction(rd) if rd.txn_requires_abort() => Class::Abortable,
        KafkaError::Transaction(rd) if rd.is_retriable() => Class::Retriable,
        _ => Class::Fatal,
    }
}

/// The transactional call under way, if any, and since when: what a stop
/// that cannot finish reports.
static CALL_UNDER_WAY: Mutex<Option<(&str, Instant)>> = Mutex::new(None);

/// The transactional call under way and how long it has been running.
pub fn call_under_way() -> Option<(&'static str, Duration)> {
    let under_way = *CALL_UNDER_WAY.lock().unwrap_or_else(|p| p.into_inner());
    under_way.map(|(what, since)| (what, since.elapsed()))
}

/// Runs a transactional call, retrying what librdkafka calls retriable (but
/// not once `stop` is set: the caller then aborts and stops).
fn retrying(what: &'static str, stop: &AtomicBool, mut call: impl FnMut() -> KafkaResult<()>) -> Result<(), TxnError> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(100);
    loop {
        *CALL_UNDER_WAY.lock().unwrap_or_else(|p| p.into_inner()) = Some((what, Instant::now()));
        let result = call();
        *CALL_UNDER_WAY.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let Err(error) = result else { return Ok(()) };
        match classify(&error) {
            Class::Retriable if started.elapsed() < RETRY_FOR && !stop.load(Ordering::Acquire) => {
                tracing::warn!("{what} failed, retrying: {error}");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Class::Retriable | Class::Abortable => return Err(TxnError::Abortable(error)),
            Class::Fatal => return Err(TxnError::Fatal(error)),
        }
    }
}

/// Which input record an output belongs to, carried through librdkafka to
/// the delivery report.
#[derive(Debug)]
pub struct Source {
    pub id: RecordId,
    pub dead_letter: bool,
}

/// Collects outputs Kafka refused, so the records that made them can be
/// condemned after the abort instead of failing forever.
#[derive(Default)]
pub struct DeliveryReports {
    refused: Mutex<Vec<(Source, KafkaError)>>,
}

impl ClientContext for DeliveryReports {}

impl ProducerContext for DeliveryReports {
    type DeliveryOpaque = Box<Source>;

    fn delivery(&self, result: &DeliveryResult<'_>, source: Box<Source>) {
        if let Err((error, _)) = result {
            // Inside a transaction a failed delivery also makes the commit
            // fail; this only remembers which record to blame.
            if !matches!(error, KafkaError::MessageProduction(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)) {
                self.refused.lock().unwrap_or_else(|p| p.into_inner()).push((*source, error.clone()));
            }
        }
    }
}

/// Counts of the open transaction, reported when it commits.
#[derive(Debug, Default)]
struct Open {
    started: Option<Instant>,
    records: usize,
    produced: u64,
    dead_lettered: u64,
    skipped: u64,
    next_offsets: HashMap<(String, i32), i64>,
}

/// The producer and the transaction it has open, if any.
pub struct Transaction {
    client_config: ClientConfig,
    producer: ThreadedProducer<DeliveryReports>,
    open: Option<Open>,
    metrics: Arc<Metrics>,
    /// Set when eoshost is asked to stop.
    stop: Arc<AtomicBool>,
}

fn build_producer(client_config: &ClientConfig) -> KafkaResult<ThreadedProducer<DeliveryReports>> {
    let producer: ThreadedProducer<DeliveryReports> = client_config.create_with_context(DeliveryReports::default())?;
    producer.init_transactions(CALL_TIMEOUT)?;
    Ok(producer)
}

impl Transaction {
    /// Creates the producer and calls `init_transactions`, which fences any
    /// earlier producer with the same transactional.id and aborts its open
    /// transaction. Retries for `give_up_after` while Kafka is unreachable.
    pub fn create(
        client_config: ClientConfig,
        metrics: Arc<Metrics>,
        stop: Arc<AtomicBool>,
        give_up_after: Duration,
    ) -> anyhow::Result<Self> {
        let producer = Self::build_with_retries(&client_config, give_up_after)?;
        Ok(Transaction { client_config, producer, open: None, metrics, stop })
    }

    /// The bound on the next transactional call.
    fn call_timeout(&self) -> Duration {
        if self.stop.load(Ordering::Acquire) { STOPPING_CALL_TIMEOUT } else { CALL_TIMEOUT }
    }

    fn build_with_retries(
        client_config: &ClientConfig,
        give_up_after: Duration,
    ) -> anyhow::Result<ThreadedProducer<DeliveryReports>> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(200);
        loop {
            match build_producer(client_config) {
                Ok(producer) => return Ok(producer),
                Err(error) if started.elapsed() < give_up_after => {
                    tracing::warn!("initialising the transactional producer failed, retrying: {error}");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(error) => anyhow::bail!(
                    "cannot initialise the transactional producer after {:.0?}: {error}; check that the brokers are up \
                     and that the transaction state topic is available",
                    started.elapsed()
                ),
            }
        }
    }

    /// Replaces an unusable producer with a new one (same transactional.id).
    pub fn rebuild(&mut self, give_up_after: Duration) -> anyhow::Result<()> {
        if self.open.take().is_some() {
            self.metrics.transaction_aborted();
        }
        self.producer.purge(PurgeConfig::default().queue().inflight());
        // Stopping, a new producer is only worth a short try: its
        // init_transactions fences and aborts the old one's transaction.
        let give_up_after = if self.stop.load(Ordering::Acquire) { STOPPING_CALL_TIMEOUT } else { give_up_after };
        self.producer = Self::build_with_retries(&self.client_config, give_up_after)?;
        tracing::info!("built a new transactional producer");
        Ok(())
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Input records in the open transaction.
    pub fn records(&self) -> usize {
        self.open.as_ref().map_or(0, |open| open.records)
    }

    /// How long the open transaction has been open.
    pub fn age(&self) -> Duration {
        self.open.as_ref().and_then(|open| open.started).map_or(Duration::ZERO, |started| started.elapsed())
    }

    /// Begins a transaction unless one is open.
    pub fn ensure_begun(&mut self) -> Result<(), TxnError> {
        if self.open.is_none() {
            retrying("begin_transaction", &self.stop, || self.producer.begin_transaction())?;
            self.open = Some(Open { started: Some(Instant::now()), ..Open::default() });
        }
        Ok(())
    }

    /// Queues one output in the open transaction. Waits while librdkafka's
    /// queue is full; any other error is returned (nothing was queued).
    pub fn send(&mut self, topic: &str, record: &OutputRecord, timestamp: Option<i64>, source: Source) -> KafkaResult<()> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for header in &record.headers {
            headers = headers.insert(KafkaHeader { key: &header.key, value: Some(header.value.as_slice()) });
        }
        let mut message = BaseRecord::<[u8], [u8], Box<Source>>::with_opaque_to(topic, Box::new(source)).headers(headers);
        if let Some(key) = &record.key {
            message = message.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            message = message.payload(value.as_slice());
        }
        if let Some(timestamp) = timestamp {
            message = message.timestamp(timestamp);
        }
        loop {
            match self.producer.send(message) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    message = returned;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    fn open_mut(&mut self) -> &mut Open {
        self.open.as_mut().expect("a record is accounted inside an open transaction")
    }

    fn processed(&mut self, id: &RecordId) -> &mut Open {
        let open = self.open_mut();
        open.records += 1;
        open.next_offsets.insert((id.topic.clone(), id.partition), id.offset + 1);
        open
    }

    /// The record's outputs are queued: commit its offset with them.
    pub fn transformed(&mut self, id: &RecordId, outputs: usize) {
        self.processed(id).produced += outputs as u64;
    }

    /// The record was dead-lettered in this transaction.
    pub fn dead_lettered(&mut self, id: &RecordId) {
        self.processed(id).dead_lettered += 1;
    }

    /// The record was skipped: commit its offset, nothing else.
    pub fn skipped(&mut self, id: &RecordId) {
        self.processed(id).skipped += 1;
    }

    /// Outputs Kafka refused since the last call.
    pub fn take_refused(&self) -> Vec<(Source, KafkaError)> {
        std::mem::take(&mut *self.producer.context().refused.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Sends the offsets with the consumer's group metadata and commits;
    /// returns the committed next offset of every partition read. On error
    /// the transaction is still open: the caller aborts or rebuilds.
    pub fn commit<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> Result<HashMap<(String, i32), i64>, TxnError> {
        let Some(open) = &self.open else { return Ok(HashMap::new()) };
        let started = Instant::now();
        if !open.next_offsets.is_empty() {
            let mut offsets = TopicPartitionList::with_capacity(open.next_offsets.len());
            for ((topic, partition), next) in &open.next_offsets {
                offsets.add_partition_offset(topic, *partition, Offset::Offset(*next)).map_err(TxnError::Fatal)?;
            }
            let group =
                consumer.group_metadata().ok_or(TxnError::Abortable(KafkaError::MetadataFetch(RDKafkaErrorCode::State)))?;
            retrying("send_offsets_to_transaction", &self.stop, || {
                self.producer.send_offsets_to_transaction(&offsets, &group, self.call_timeout())
            })?;
        }
        retrying("commit_transaction", &self.stop, || self.producer.commit_transaction(self.call_timeout()))?;
        let open = self.open.take().expect("checked above");
        self.metrics.transaction_committed(started.elapsed(), open.produced, open.dead_lettered, open.skipped);
        tracing::debug!(records = open.records, elapsed = ?started.elapsed(), "committed");
        Ok(open.next_offsets)
    }

    /// Aborts the open transaction, if any.
    pub fn abort(&mut self) -> Result<(), TxnError> {
        if self.open.take().is_none() {
            return Ok(());
        }
        self.metrics.transaction_aborted();
        // Letting in-flight produce requests finish first avoids an abort
        // that the coordinator refuses with INVALID_TXN_STATE while they are
        // still being added to the transaction (librdkafka #4849), which
        // would otherwise cost a new producer. Delivery errors here are
        // expected and irrelevant: everything is being aborted.
        let _ = self.producer.flush(self.call_timeout());
        retrying("abort_transaction", &self.stop, || self.producer.abort_transaction(self.call_timeout()))
    }
}
