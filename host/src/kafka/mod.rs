//! Kafka, narrowed to the exactly-once loop: client settings and start-up
//! checks (`client`), the transactional producer and the open transaction
//! (`transaction`), the consumer's rebalance and statistics callbacks
//! (`context`), the default transactional.id slot (`slot`), secret
//! properties (`secrets`), TLS and authentication refusals (`broker_errors`)
//! and which consumer errors are worth retrying (`consume_error`).

pub mod broker_errors;
pub mod client;
pub mod consume_error;
pub mod context;
pub mod secrets;
pub mod slot;
pub mod transaction;
