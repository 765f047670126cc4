//! What every mode that consumes does with its consumer, written once: the
//! subscription, a poll error (a transient one counted, one that retrying
//! cannot cure returned), copying a message into the record the plugin sees,
//! seeking partitions (retried while a partition is not ready), and reading
//! assigned partitions up to given ends (the state restore, a table's load).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};

use super::consume_error::{ConsumeError, consume_error, stuck_at};
use crate::failure::Failure;
use crate::metrics::Metrics;
use crate::plugin::{Header, InputRecord};
use crate::retry::Backoff;

/// Bound on one seek request.
const SEEK_TIMEOUT: Duration = Duration::from_secs(30);
/// Seek attempts while a partition is not ready for it, 100 ms apart.
const SEEK_ATTEMPTS: u32 = 20;

pub fn subscribe<C: ConsumerContext>(consumer: &BaseConsumer<C>, inputs: &[String]) -> Result<(), Failure> {
    let topics: Vec<&str> = inputs.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot subscribe to {topics:?}: {e}")))
}

/// A consumer error from `poll`: a transient one is counted and `None`
/// returned (librdkafka retries it); one that retrying cannot cure (an
/// unsupported codec, a corrupt batch, a refused authorisation) is returned
/// as the message the run ends with (exit 2).
pub fn poll_error<C: ConsumerContext>(
    error: &KafkaError,
    consumer: &BaseConsumer<C>,
    group: &str,
    metrics: &Metrics,
) -> Option<String> {
    match consume_error(error, group, || stuck_at(consumer, None)) {
        ConsumeError::Transient { kind } => {
            metrics.consumer_error(kind);
            tracing::debug!(kind, "consumer: {error}");
            None
        }
        ConsumeError::Permanent { message, .. } => Some(message),
    }
}

/// An input record with no content, for [`fill_record`] to fill.
pub fn empty_record() -> InputRecord {
    InputRecord { topic: String::new(), partition: 0, offset: 0, timestamp: None, key: None, value: None, headers: Vec::new() }
}

/// Copies a consumed message into the record the plugin sees, reusing the
/// record's buffers.
pub fn fill_record(record: &mut InputRecord, message: &BorrowedMessage<'_>) {
    fn refill(slot: &mut Option<Vec<u8>>, bytes: Option<&[u8]>) {
        match bytes {
            None => *slot = None,
            Some(bytes) => {
                let buffer = slot.get_or_insert_with(Vec::new);
                buffer.clear();
                buffer.extend_from_slice(bytes);
            }
        }
    }
    if record.topic != message.topic() {
        record.topic.clear();
        record.topic.push_str(message.topic());
    }
    record.partition = message.partition();
    record.offset = message.offset();
    record.timestamp = message.timestamp().to_millis();
    refill(&mut record.key, message.key());
    refill(&mut record.value, message.payload());
    record.headers.clear();
    if let Some(headers) = message.headers() {
        record.headers.extend(
            headers.iter().map(|h| Header { key: h.key.to_owned(), value: h.value.map(<[u8]>::to_vec).unwrap_or_default() }),
        );
    }
}

/// Seeks every partition of `targets` to its offset (`Beginning`/`End`
/// resolved by librdkafka), retrying while a partition is not ready for it
/// yet.
pub fn seek<C: ConsumerContext>(consumer: &BaseConsumer<C>, targets: TopicPartitionList) -> anyhow::Result<()> {
    if targets.count() == 0 {
        return Ok(());
    }
    let mut attempt = 0;
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(100));
    loop {
        match consumer.seek_partitions(targets.clone(), SEEK_TIMEOUT) {
            Ok(result) => {
                let failed: Vec<String> = result
                    .elements()
                    .iter()
                    .filter_map(|e| e.error().err().map(|err| format!("{}/{}: {err}", e.topic(), e.partition())))
                    .collect();
                if failed.is_empty() {
                    tracing::debug!(partitions = targets.count(), "seeked");
                    return Ok(());
                }
                anyhow::ensure!(attempt < SEEK_ATTEMPTS, "cannot seek {}", failed.join(", "));
                tracing::debug!("seek not possible yet for {}; retrying", failed.join(", "));
            }
            Err(error) if attempt >= SEEK_ATTEMPTS => anyhow::bail!("cannot seek: {error}"),
            Err(error) => tracing::debug!("seek failed, retrying: {error}"),
        }
        attempt += 1;
        std::thread::sleep(backoff.next_delay());
    }
}

/// How long one poll of [`read_to_ends`] waits.
const CATCH_UP_POLL: Duration = Duration::from_millis(20);
/// Records between two position checks of [`read_to_ends`] while records flow.
const CATCH_UP_CHECK_EVERY: u32 = 1024;

/// The partitions [`read_to_ends`] has yet to finish, with their ends.
pub type Pending = BTreeMap<i32, i64>;

/// What [`read_to_ends`] does besides reading.
pub struct CatchUp<'a> {
    /// A stop makes it give up (`Ok(false)`).
    pub stop: &'a AtomicBool,
    /// How long without a record or a partition done counts as stalled.
    pub stall: Duration,
    /// Told each poll error (librdkafka retries them).
    pub on_error: &'a mut dyn FnMut(&KafkaError),
    /// Told the partitions still pending (and their ends) after each stall;
    /// an error gives up, `Ok` waits on.
    pub on_stall: &'a mut dyn FnMut(&Pending) -> Result<(), Failure>,
}

/// Reads with `reader`, whose assignment holds the partitions of `ends`,
/// until its position in each reaches that end (a `read_committed` position
/// passes a transaction's records only once its marker is written), handing
/// every record to `apply`. `Ok(false)`: a stop came first.
pub fn read_to_ends<C: ConsumerContext>(
    reader: &BaseConsumer<C>,
    mut ends: Pending,
    catch_up: CatchUp<'_>,
    mut apply: impl FnMut(&BorrowedMessage<'_>) -> Result<(), Failure>,
) -> Result<bool, Failure> {
    let mut last_progress = Instant::now();
    let mut since_check = 0u32;
    while !ends.is_empty() {
        if catch_up.stop.load(Ordering::Acquire) {
            return Ok(false);
        }
        let polled = reader.poll(CATCH_UP_POLL);
        let idle = polled.is_none();
        match polled {
            None => {}
            Some(Err(error)) => (catch_up.on_error)(&error),
            Some(Ok(message)) => {
                since_check += 1;
                last_progress = Instant::now();
                apply(&message)?;
            }
        }
        if idle || since_check >= CATCH_UP_CHECK_EVERY {
            since_check = 0;
            if let Ok(positions) = reader.position() {
                for element in positions.elements() {
                    if let rdkafka::Offset::Offset(position) = element.offset()
                        && ends.get(&element.partition()).is_some_and(|end| position >= *end)
                    {
                        ends.remove(&element.partition());
                        last_progress = Instant::now();
                    }
                }
            }
            if !ends.is_empty() && last_progress.elapsed() > catch_up.stall {
                (catch_up.on_stall)(&ends)?;
                last_progress = Instant::now();
            }
        }
    }
    Ok(true)
}
