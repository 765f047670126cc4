//! Kafka, narrowed to the exactly-once loop: client settings and start-up
//! checks (`client`), the transactional producer and the open transaction
//! (`transaction`), the consumer's rebalance and statistics callbacks
//! (`context`), the default transactional.id slot (`slot`), and what
//! librdkafka build is linked (`librdkafka`).

pub mod client;
pub mod context;
pub mod librdkafka;
pub mod slot;
pub mod transaction;
