//! The transactional producer, supervised: every blocking librdkafka call
//! runs under a deadline, and a producer whose call overruns it is abandoned
//! (kept alive, purged, never called again) and replaced by a new one with
//! the same `transactional.id`, whose `init_transactions` fences the old
//! epoch. librdkafka 2.12 can block `send_offsets_to_transaction` for ever
//! after a coordinator's node dies (upstream issues #5456 and #5511), and a
//! producer with a call in progress cannot be destroyed safely, so leaving it
//! alive is the only safe way out; past [`MAX_ABANDONED`] such producers,
//! eoshost gives up on the process instead of accumulating them.
//!
//! Flushing waits inside librdkafka, on its condition variable, while the
//! producer's polling thread serves the delivery reports. rust-rdkafka's own
//! `flush` (which its `commit_transaction` calls first) polls in slices of
//! up to 100 ms that always run to their end, so any commit with an
//! unacknowledged output cost ~100 ms; flushing here first leaves it nothing
//! to wait for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig, ThreadedProducer};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, TopicPartitionList};

use super::errors::{TxnClass, TxnError, classify_txn};
use crate::failure::Failure;
use crate::metrics::Metrics;
use crate::plugin::OutputRecord;
use crate::retry::Backoff;

/// Bound on one transactional call (librdkafka retries inside it).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on one transactional call once a stop is requested: a SIGTERM that
/// lands during a call waits for it, then at most a commit and an abort.
const STOPPING_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How far past its own timeout a call may run before its producer is
/// abandoned.
const HANG_MARGIN: Duration = Duration::from_secs(5);
/// How long a retriable error is retried before the transaction is aborted.
const RETRY_FOR: Duration = Duration::from_secs(60);
/// Abandoned producers kept alive before eoshost exits instead: each may
/// hold a thread, its connections and what was left in its queues.
pub const MAX_ABANDONED: usize = 4;

/// Delivery reports the loop reads: the outputs Kafka refused, by the
/// opaque each was sent with.
#[derive(Default)]
pub struct DeliveryReports {
    refused: Mutex<Vec<(usize, KafkaError)>>,
}

impl ClientContext for DeliveryReports {}

impl ProducerContext for DeliveryReports {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        if let Err((error, _)) = result {
            // Inside a transaction a failed delivery also makes the commit
            // fail; this only remembers which record to blame. Purged
            // outputs belong to a transaction being thrown away anyway.
            if !matches!(error, KafkaError::MessageProduction(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)) {
                self.refused.lock().unwrap_or_else(|p| p.into_inner()).push((opaque, error.clone()));
            }
        }
    }
}

type Client = ThreadedProducer<DeliveryReports>;

/// The live transactional producer and the ones abandoned in a hung call.
pub struct TransactionalProducer {
    client_config: ClientConfig,
    live: Client,
    abandoned: Vec<Client>,
    metrics: Arc<Metrics>,
    /// Set when eoshost is asked to stop: calls get shorter, retriable
    /// errors are no longer retried.
    stop: Arc<AtomicBool>,
    give_up_after: Duration,
}

impl TransactionalProducer {
    /// Creates the producer and calls `init_transactions`, which fences any
    /// earlier producer with the same transactional.id and aborts its open
    /// transaction. Retries for `give_up_after` while Kafka is unreachable.
    pub fn create(
        client_config: ClientConfig,
        metrics: Arc<Metrics>,
        stop: Arc<AtomicBool>,
        give_up_after: Duration,
    ) -> anyhow::Result<Self> {
        let live = build_with_retries(&client_config, give_up_after, &stop)?;
        Ok(TransactionalProducer { client_config, live, abandoned: Vec::new(), metrics, stop, give_up_after })
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// The bound on the next transactional call.
    fn call_timeout(&self) -> Duration {
        if self.stopping() { STOPPING_CALL_TIMEOUT } else { CALL_TIMEOUT }
    }

    pub fn begin(&mut self) -> Result<(), TxnError> {
        // Local to librdkafka: no broker round trip, nothing to supervise.
        self.retrying("begin_transaction", |producer, _| producer.begin_transaction().map_err(Hang::Error))
    }

    /// Queues one output in the open transaction, with `opaque` coming back
    /// in its delivery report. Waits while librdkafka's queue is full; any
    /// other error is returned (nothing was queued).
    pub fn send(
        &self,
        topic: &str,
        record: &OutputRecord,
        timestamp: Option<i64>,
        partition: Option<i32>,
        opaque: usize,
    ) -> KafkaResult<()> {
        let mut message = BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, opaque);
        if let Some(partition) = partition {
            message = message.partition(partition);
        }
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for header in &record.headers {
                headers = headers.insert(KafkaHeader { key: &header.key, value: Some(header.value.as_slice()) });
            }
            message = message.headers(headers);
        }
        if let Some(key) = &record.key {
            message = message.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            message = message.payload(value.as_slice());
        }
        if let Some(timestamp) = timestamp {
            message = message.timestamp(timestamp);
        }
        self.queue(message)
    }

    /// Hands `message` to librdkafka, waiting while its queue is full.
    fn queue(&self, mut message: BaseRecord<'_, [u8], [u8], usize>) -> KafkaResult<()> {
        loop {
            match self.live.send(message) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    message = returned;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((error, _)) => return Err(self.with_fatal_cause(error)),
            }
        }
    }

    /// librdkafka refuses every message of a producer that failed for good
    /// with a plain `_FATAL`, and keeps the cause apart: the cause is what
    /// the caller must act on. Fenced by a newer producer with the same
    /// transactional.id, most often, where the instance must stop instead of
    /// building a producer that would fence the newer one in turn.
    fn with_fatal_cause(&self, error: KafkaError) -> KafkaError {
        match (&error, self.live.client().fatal_error()) {
            (KafkaError::MessageProduction(RDKafkaErrorCode::Fatal), Some((cause, _))) => KafkaError::MessageProduction(cause),
            _ => error,
        }
    }

    /// Queues one changelog record in the open transaction, to the explicit
    /// `partition` (never the partitioner: changelog partition `p` holds the
    /// state of input partition `p`); `value` `None` writes a tombstone.
    pub fn send_to_partition(
        &self,
        topic: &str,
        partition: i32,
        key: &[u8],
        value: Option<&[u8]>,
        opaque: usize,
    ) -> KafkaResult<()> {
        let mut message = BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, opaque).partition(partition).key(key);
        if let Some(value) = value {
            message = message.payload(value);
        }
        self.queue(message)
    }

    /// Outputs Kafka refused since the last call, by opaque. Complete once a
    /// flush, commit or abort has returned.
    pub fn take_refused(&self) -> Vec<(usize, KafkaError)> {
        std::mem::take(&mut *self.live.context().refused.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits until every queued output is acknowledged or has failed.
    fn flush(&self, timeout: Duration) -> KafkaResult<()> {
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: the pointer is the live producer's, valid while `self.live`
        // is; rd_kafka_flush is thread-safe. With event-based delivery
        // reports (as rust-rdkafka sets them up) it waits for the count of
        // unfinished messages to reach zero as the polling thread serves
        // their reports, and it makes the broker threads send at once.
        let code: RDKafkaRespErr = unsafe { rdkafka::bindings::rd_kafka_flush(self.live.client().native_ptr(), timeout_ms) };
        match RDKafkaErrorCode::from(code) {
            RDKafkaErrorCode::NoError => Ok(()),
            code => Err(KafkaError::Flush(code)),
        }
    }

    /// Sends the offsets with the consumer's group metadata while waiting
    /// for the outputs in flight, then commits; `phases` gets the time of
    /// each step. The two overlap, as in Kafka's own clients: the flush
    /// sends lingering batches at once and waits for their acknowledgements
    /// while `send_offsets_to_transaction` makes its two round trips
    /// (AddOffsetsToTxn, TxnOffsetCommit). On error the transaction is still
    /// open: the caller aborts or replaces the producer.
    pub fn commit(
        &mut self,
        offsets: Option<(TopicPartitionList, ConsumerGroupMetadata)>,
        phases: &mut CommitPhases,
    ) -> Result<(), TxnError> {
        let started = Instant::now();
        let mut flushed = None;
        // A flush error (an output refused) makes commit_transaction fail
        // with the reason, so it is not acted on here.
        let mut flush = || {
            let _ = self.flush(self.call_timeout());
            flushed = Some(started.elapsed());
        };
        if let Some((offsets, group)) = offsets {
            let offsets = Arc::new(offsets);
            let group = Arc::new(group);
            self.supervised_meanwhile(
                "send_offsets_to_transaction",
                move |producer, timeout| producer.send_offsets_to_transaction(&offsets, &group, timeout),
                &mut flush,
            )?;
        } else {
            flush();
        }
        phases.send_offsets = started.elapsed();
        phases.flush = flushed.unwrap_or_default();
        let committing = Instant::now();
        self.supervised("commit_transaction", |producer, timeout| producer.commit_transaction(timeout))?;
        phases.commit = committing.elapsed();
        Ok(())
    }

    /// Aborts the open transaction. Letting in-flight produce requests finish
    /// first avoids an abort that the coordinator refuses with
    /// INVALID_TXN_STATE while they are still being added to the transaction
    /// (librdkafka #4849), which would otherwise cost a new producer.
    pub fn abort(&mut self) -> Result<(), TxnError> {
        // Delivery errors are expected and irrelevant: everything is being
        // aborted.
        let _ = self.flush(self.call_timeout());
        self.supervised("abort_transaction", |producer, timeout| producer.abort_transaction(timeout))
    }

    /// Replaces the producer after `error` made it unusable (or hung it): the
    /// old one is purged and, when a call of it may still be running, kept
    /// alive for good. The new one fences the old one's epoch.
    pub fn replace(&mut self, reason: &'static str) -> Result<(), Failure> {
        self.metrics.producer_replaced(reason);
        self.live.purge(PurgeConfig::default().queue().inflight());
        // Stopping, a new producer is only worth a short try: its
        // init_transactions fences and aborts the old one's transaction.
        let give_up_after = if self.stopping() { STOPPING_CALL_TIMEOUT } else { self.give_up_after };
        let new = build_with_retries(&self.client_config, give_up_after, &self.stop).map_err(Failure::Fatal)?;
        let old = std::mem::replace(&mut self.live, new);
        if reason == "hung_call" {
            self.abandoned.push(old);
            if self.abandoned.len() > MAX_ABANDONED {
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "{} transactional producers are stuck in librdkafka calls that never returned (the most eoshost keeps \
                     alive is {MAX_ABANDONED}); exiting so that the group moves this instance's partitions. Nothing is lost: \
                     the open transactions are aborted by the broker. Restart eoshost, and check the brokers' health",
                    self.abandoned.len()
                )));
            }
            tracing::warn!(
                abandoned = self.abandoned.len(),
                "a librdkafka call hung: producer abandoned and replaced (same transactional.id)"
            );
        } else {
            // Dropped here: no call of it is running.
            drop(old);
            tracing::info!(reason, "built a new transactional producer (same transactional.id)");
        }
        Ok(())
    }

    /// Runs a transactional call, retrying what librdkafka calls retriable
    /// (but not once stopping: the caller then aborts and stops).
    fn retrying(&self, what: &'static str, mut call: impl FnMut(&Client, Duration) -> Result<(), Hang>) -> Result<(), TxnError> {
        let started = Instant::now();
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        loop {
            let error = match call(&self.live, self.call_timeout()) {
                Ok(()) => return Ok(()),
                Err(Hang::Error(error)) => error,
                Err(Hang::Overran(deadline)) => return Err(TxnError::Hung { call: what, deadline }),
            };
            match classify_txn(&error) {
                TxnClass::Retriable if started.elapsed() < RETRY_FOR && !self.stopping() => {
                    tracing::warn!("{what} failed, retrying: {error}");
                    // A stop ends the wait; the next error is then not retried.
                    backoff.wait(&self.stop);
                }
                TxnClass::Retriable | TxnClass::Abortable => return Err(TxnError::Abortable(error)),
                TxnClass::Fatal => return Err(TxnError::Fatal(error)),
            }
        }
    }

    /// [`Self::retrying`] with each try on a thread of its own, waited for
    /// at most the call's timeout plus [`HANG_MARGIN`]. A thread whose call
    /// never returns keeps a handle on its producer: that producer is then
    /// abandoned by [`Self::replace`], never destroyed.
    fn supervised(
        &self,
        what: &'static str,
        call: impl Fn(&Client, Duration) -> KafkaResult<()> + Send + Sync + 'static,
    ) -> Result<(), TxnError> {
        self.supervised_meanwhile(what, call, &mut || {})
    }

    /// [`Self::supervised`], running `meanwhile` on this thread while the
    /// first try's call is under way (its time counts against the call's
    /// deadline).
    fn supervised_meanwhile(
        &self,
        what: &'static str,
        call: impl Fn(&Client, Duration) -> KafkaResult<()> + Send + Sync + 'static,
        meanwhile: &mut dyn FnMut(),
    ) -> Result<(), TxnError> {
        let call = Arc::new(call);
        let mut meanwhile = Some(meanwhile);
        self.retrying(what, |producer, timeout| {
            let (done, outcome) = mpsc::sync_channel(1);
            let handle = producer.clone();
            let on_thread = call.clone();
            let deadline = Instant::now() + timeout + HANG_MARGIN;
            let spawned = std::thread::Builder::new().name(format!("eoshost-{what}")).spawn(move || {
                let _ = done.send(on_thread(&handle, timeout));
            });
            // Without a thread, the call runs here, unsupervised, before
            // `meanwhile`.
            let direct = spawned.err().map(|error| {
                tracing::warn!("cannot start a thread for {what} ({error}); calling it directly");
                call(producer, timeout).map_err(Hang::Error)
            });
            if let Some(work) = meanwhile.take() {
                work();
            }
            if let Some(result) = direct {
                return result;
            }
            match outcome.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(result) => result.map_err(Hang::Error),
                Err(_) => Err(Hang::Overran(timeout + HANG_MARGIN)),
            }
        })
    }
}

/// Why one try of a supervised call failed.
enum Hang {
    Error(KafkaError),
    Overran(Duration),
}

/// How long each step of the last commit took.
#[derive(Debug, Default, Clone, Copy)]
pub struct CommitPhases {
    /// From the commit's start until every output was acknowledged.
    pub flush: Duration,
    /// From the commit's start until the offsets were sent (AddOffsetsToTxn
    /// and TxnOffsetCommit, overlapping the flush) and the flush was done.
    pub send_offsets: Duration,
    /// EndTxn (`commit_transaction`).
    pub commit: Duration,
}

fn build(client_config: &ClientConfig) -> KafkaResult<Client> {
    let producer: Client = client_config.create_with_context(DeliveryReports::default())?;
    producer.init_transactions(CALL_TIMEOUT)?;
    Ok(producer)
}

/// Builds the producer, retrying for `give_up_after` while Kafka cannot
/// initialise it; gives up at once when a stop is asked for.
fn build_with_retries(client_config: &ClientConfig, give_up_after: Duration, stop: &AtomicBool) -> anyhow::Result<Client> {
    let started = Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        match build(client_config) {
            Ok(producer) => return Ok(producer),
            Err(error) if started.elapsed() < give_up_after => {
                tracing::warn!("initialising the transactional producer failed, retrying: {error}");
                anyhow::ensure!(backoff.wait(stop), "stopped while initialising the transactional producer: {error}");
            }
            Err(error) => anyhow::bail!(
                "cannot initialise the transactional producer after {:.0?}: {error}; check that the brokers are up \
                 and that the transaction state topic is available",
                started.elapsed()
            ),
        }
    }
}
