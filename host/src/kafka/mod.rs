//! Kafka, narrowed to the exactly-once loop: client settings and start-up
//! checks (`client`), what each Kafka error means (`errors`), the supervised
//! transactional producer (`producer`), the open transaction and every
//! record's fate in it (`transaction`), the consumer's rebalance and
//! statistics callbacks (`context`), the default transactional.id slot
//! (`slot`), static group membership with its fencing error (`membership`),
//! and what librdkafka build is linked (`librdkafka`).

pub mod client;
pub mod context;
pub mod errors;
pub mod librdkafka;
pub mod membership;
pub mod producer;
pub mod slot;
pub mod transaction;
