//! Kafka, narrowed to the exactly-once loop: client settings and start-up
//! checks (`client`), the transactional producer and the open transaction
//! (`transaction`), the consumer's rebalance and statistics callbacks
//! (`context`), the default transactional.id slot (`slot`), and static group
//! membership with its fencing error (`membership`).

pub mod client;
pub mod context;
pub mod membership;
pub mod slot;
pub mod transaction;
