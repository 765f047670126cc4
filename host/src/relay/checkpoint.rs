//! The relay's progress, kept in Kafka: one record per transaction on the
//! compacted progress topic (key: the outbox table; value: the [`Cursor`]
//! as JSON), written inside the same Kafka transaction as the rows it
//! covers. So the published rows and the record of having published them
//! commit or vanish together. At start, after `init_transactions` has
//! fenced any previous relay and ended its open transaction, the last
//! committed record is read back with read_committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::outbox::Cursor;

/// The partition progress records go to (the topic may have more; only
/// this one is read and written).
pub const PROGRESS_PARTITION: i32 = 0;

/// The progress record's value.
pub fn encode(table: &str, cursor: Cursor) -> Vec<u8> {
    serde_json::json!({ "table": table, "xid": cursor.xid, "id": cursor.id }).to_string().into_bytes()
}

/// Reads a progress record's value.
pub fn decode(value: &[u8]) -> Option<Cursor> {
    serde_json::from_slice(value).ok()
}

/// The last committed cursor of `table` on the progress topic (the start of
/// the outbox when there is none), read with `client` (the relay's
/// connection settings). `None`: a stop came first.
pub fn read_back(
    mut client: ClientConfig,
    topic: &str,
    table: &str,
    timeout: Duration,
    stop: &AtomicBool,
) -> anyhow::Result<Option<Cursor>> {
    let consumer: BaseConsumer = client
        .set("group.id", format!("eoshost-relay-progress-{table}"))
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, PROGRESS_PARTITION, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let started = Instant::now();
    let mut cursor = Cursor::default();
    loop {
        if stop.load(Ordering::Acquire) {
            return Ok(None);
        }
        anyhow::ensure!(
            started.elapsed() < timeout,
            "reading the relay's progress from topic \"{topic}\" did not reach its end within {timeout:?}"
        );
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(message)) => {
                if message.key() == Some(table.as_bytes())
                    && let Some(found) = message.payload().and_then(decode)
                {
                    cursor = found;
                }
            }
            Some(Err(KafkaError::PartitionEOF(_))) => return Ok(Some(cursor)),
            Some(Err(error)) if error.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownTopicOrPartition) => {
                anyhow::bail!("progress topic \"{topic}\" does not exist: {error}")
            }
            Some(Err(error)) => tracing::debug!("reading progress: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips_through_its_record() {
        let cursor = Cursor { xid: 123_456, id: 42 };
        assert_eq!(decode(&encode("outbox", cursor)), Some(cursor));
        assert_eq!(decode(b"not json"), None);
    }
}
