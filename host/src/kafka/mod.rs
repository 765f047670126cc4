//! Kafka, narrowed to the exactly-once loop: client settings and start-up
//! checks (`client`), what each Kafka error means (`errors`, with the
//! consumer errors worth retrying in `consume_error` and TLS and
//! authentication refusals in `broker_errors`), the supervised transactional
//! producer (`producer`), the open transaction and every record's fate in it
//! (`transaction`), the consumer's rebalance and statistics callbacks
//! (`context`), the default transactional.id slot (`slot`), static group
//! membership with its fencing error (`membership`), secret properties
//! (`secrets`), and what librdkafka build is linked (`librdkafka`).

/// A partition of a topic: the key of offsets, lags, assignments and state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }

    /// `partitions` as a log shows them: `orders/0, orders/1`.
    pub fn list(partitions: &[TopicPartition]) -> String {
        partitions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }

    /// Every partition of a librdkafka partition list.
    pub fn all_of(list: &rdkafka::TopicPartitionList) -> Vec<TopicPartition> {
        list.elements().iter().map(|e| TopicPartition::new(e.topic(), e.partition())).collect()
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

pub mod broker_errors;
pub mod client;
pub mod consume_error;
pub mod context;
pub mod errors;
pub mod lag;
pub mod librdkafka;
pub mod membership;
pub mod producer;
pub mod reading;
pub mod secrets;
pub mod slot;
pub mod topics;
pub mod transaction;
