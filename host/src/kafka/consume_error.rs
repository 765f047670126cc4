//! Which consumer errors are worth retrying. librdkafka re-fetches a batch it
//! cannot decode (corrupt, or compressed with a codec the build lacks) for
//! ever, reporting the same error each time; treating that as a warning is a
//! silent stall. [`consume_error`] sorts an error from `poll` into transient
//! (retried, counted in `eoshost_consumer_errors_total{kind}`) or permanent
//! (eoshost stops with exit code 2 and a message that names the record and
//! what to do). [`stuck_at`] finds the record a permanent error is about.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};

/// Where a consumer is stuck: the first record it cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAt {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// What the loop does with an error from `poll`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumeError {
    /// Retry; count it under `kind` (the metric label).
    Transient { kind: &'static str },
    /// Stop with exit code 2 and `message`. `at` is `None` only when the
    /// consumer's position could not be read (the message says so).
    Permanent { at: Option<RecordAt>, message: String },
}

/// How long [`stuck_at`] waits for the committed offsets.
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(5);

/// Classifies `error`. For a permanent error, `locate` (called only then,
/// e.g. `|| stuck_at(&consumer, None)`) names the record; it and `group` go
/// into the message (the command that moves the group past the record
/// needs both).
pub fn consume_error(error: &KafkaError, group: &str, locate: impl FnOnce() -> Option<RecordAt>) -> ConsumeError {
    let Some(code) = error.rdkafka_error_code() else { return ConsumeError::Transient { kind: "other" } };
    let what = match code {
        RDKafkaErrorCode::BadCompression => {
            "its batch cannot be decompressed: the data is corrupt, or was compressed with a codec or level this \
             build cannot read"
        }
        RDKafkaErrorCode::NotImplemented | RDKafkaErrorCode::UnsupportedCompressionType => {
            "its batch uses a compression codec this build of eoshost does not support (see `eoshost --version`)"
        }
        RDKafkaErrorCode::BadMessage | RDKafkaErrorCode::InvalidMessage | RDKafkaErrorCode::InvalidRecord => {
            "its batch is corrupt (failed checksum or malformed)"
        }
        RDKafkaErrorCode::TopicAuthorizationFailed | RDKafkaErrorCode::GroupAuthorizationFailed => {
            return ConsumeError::Permanent {
                message: format!(
                    "Kafka refused to let group \"{group}\" read ({code}); grant this principal READ on the input \
                     topics and on the group, then start eoshost again"
                ),
                at: None,
            };
        }
        other => return ConsumeError::Transient { kind: transient_kind(other) },
    };
    let at = locate();
    let message = match &at {
        Some(RecordAt { topic, partition, offset }) => format!(
            "cannot read the record at {topic} [{partition}] offset {offset}: {what} ({code}). librdkafka would retry \
             it for ever, so eoshost stops; nothing from it on was processed on this partition. Fix the producer \
             of the topic; to give up on the records, move the group past the damaged batch (it starts at offset \
             {offset} and is decoded whole: pick the first offset after it, e.g. from kafka-dump-log.sh) and start \
             eoshost again: kafka-consumer-groups.sh --bootstrap-server ... --group {group} --topic \
             {topic}:{partition} --reset-offsets --to-offset <first offset after the batch> --execute"
        ),
        None => format!(
            "cannot read a record of the input topics (its partition and offset are unknown): {what} ({code}). \
             librdkafka would retry it for ever, so eoshost stops. Fix the producer of the topic, or move group \
             \"{group}\" past the record with kafka-consumer-groups.sh --reset-offsets"
        ),
    };
    ConsumeError::Permanent { at, message }
}

fn transient_kind(code: RDKafkaErrorCode) -> &'static str {
    if super::broker_errors::refusal_kind(code).is_some() {
        return "refused";
    }
    match code {
        RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::RequestTimedOut | RDKafkaErrorCode::TimedOutQueue => "timeout",
        RDKafkaErrorCode::BrokerTransportFailure
        | RDKafkaErrorCode::AllBrokersDown
        | RDKafkaErrorCode::NetworkException
        | RDKafkaErrorCode::Resolve => "transport",
        RDKafkaErrorCode::CoordinatorLoadInProgress
        | RDKafkaErrorCode::CoordinatorNotAvailable
        | RDKafkaErrorCode::NotCoordinator
        | RDKafkaErrorCode::RebalanceInProgress
        | RDKafkaErrorCode::UnstableOffsetCommit => "coordinator",
        RDKafkaErrorCode::NotLeaderForPartition
        | RDKafkaErrorCode::LeaderNotAvailable
        | RDKafkaErrorCode::FencedLeaderEpoch
        | RDKafkaErrorCode::UnknownLeaderEpoch
        | RDKafkaErrorCode::OffsetNotAvailable => "leadership",
        RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic | RDKafkaErrorCode::UnknownPartition => {
            "unknown_partition"
        }
        _ => "other",
    }
}

/// The offset librdkafka names in a consumer error's reason ("... of message
/// at 1234 of 567 bytes failed ..."), as the context's `error()` callback
/// receives it.
pub fn offset_in_reason(reason: &str) -> Option<i64> {
    let rest = reason.split_once(" at ")?.1;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The record the consumer is stuck at. A partition that cannot be decoded
/// does not advance, so its position is the record; with several partitions
/// assigned, `reason_offset` (see [`offset_in_reason`]) picks the one.
/// Before any record of a partition was delivered its position is unknown;
/// the group's committed offset, or else the partition's first offset, is
/// where the consumer started reading.
pub fn stuck_at<C: ConsumerContext>(consumer: &BaseConsumer<C>, reason_offset: Option<i64>) -> Option<RecordAt> {
    let positions = consumer.position().ok()?;
    let mut candidates: Vec<RecordAt> = Vec::new();
    let mut unknown = TopicPartitionList::new();
    for element in positions.elements() {
        match element.offset() {
            Offset::Offset(offset) => {
                candidates.push(RecordAt { topic: element.topic().to_owned(), partition: element.partition(), offset })
            }
            _ => {
                unknown.add_partition(element.topic(), element.partition());
            }
        }
    }
    if unknown.count() > 0
        && let Ok(committed) = consumer.committed_offsets(unknown.clone(), COMMITTED_TIMEOUT)
    {
        for element in committed.elements() {
            let offset = match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => consumer.fetch_watermarks(element.topic(), element.partition(), COMMITTED_TIMEOUT).ok().map(|(low, _)| low),
            };
            if let Some(offset) = offset {
                candidates.push(RecordAt { topic: element.topic().to_owned(), partition: element.partition(), offset });
            }
        }
    }
    pick(candidates, reason_offset)
}

fn pick(mut candidates: Vec<RecordAt>, reason_offset: Option<i64>) -> Option<RecordAt> {
    if let Some(offset) = reason_offset {
        candidates.retain(|at| at.offset == offset);
    }
    if candidates.len() == 1 { candidates.pop() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(topic: &str, partition: i32, offset: i64) -> RecordAt {
        RecordAt { topic: topic.to_owned(), partition, offset }
    }

    #[test]
    fn undecodable_batches_are_permanent_and_named() {
        for code in [RDKafkaErrorCode::BadCompression, RDKafkaErrorCode::NotImplemented, RDKafkaErrorCode::BadMessage] {
            let error = KafkaError::MessageConsumption(code);
            let ConsumeError::Permanent { at: Some(found), message } = consume_error(&error, "g1", || Some(at("orders", 3, 41)))
            else {
                panic!("{code:?} should be permanent");
            };
            assert_eq!(found, at("orders", 3, 41));
            for part in ["orders [3] offset 41", "--group g1", "starts at offset 41", "--reset-offsets", "eoshost stops"] {
                assert!(message.contains(part), "{part:?} missing in {message}");
            }
        }
        let unknown = consume_error(&KafkaError::MessageConsumption(RDKafkaErrorCode::BadCompression), "g", || None);
        assert!(matches!(unknown, ConsumeError::Permanent { at: None, ref message } if message.contains("unknown")));
    }

    #[test]
    fn network_and_coordinator_errors_are_transient_by_kind() {
        for (code, kind) in [
            (RDKafkaErrorCode::BrokerTransportFailure, "transport"),
            (RDKafkaErrorCode::AllBrokersDown, "transport"),
            (RDKafkaErrorCode::OperationTimedOut, "timeout"),
            (RDKafkaErrorCode::NotCoordinator, "coordinator"),
            (RDKafkaErrorCode::NotLeaderForPartition, "leadership"),
            (RDKafkaErrorCode::UnknownTopicOrPartition, "unknown_partition"),
            (RDKafkaErrorCode::MessageTimedOut, "other"),
        ] {
            let transient = consume_error(&KafkaError::MessageConsumption(code), "g", || panic!("located a transient error"));
            assert_eq!(transient, ConsumeError::Transient { kind });
        }
    }

    #[test]
    fn the_reason_offset_picks_the_stuck_partition() {
        assert_eq!(offset_in_reason("Decompression (codec 0x4) of message at 1234 of 567 bytes failed: x"), Some(1234));
        assert_eq!(offset_in_reason("no offset here"), None);
        let candidates = vec![at("a", 0, 10), at("a", 1, 1234)];
        assert_eq!(pick(candidates.clone(), Some(1234)), Some(at("a", 1, 1234)));
        assert_eq!(pick(candidates, None), None);
        assert_eq!(pick(vec![at("a", 0, 7)], None), Some(at("a", 0, 7)));
    }
}
