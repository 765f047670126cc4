//! Exactly-once state for stateful plugins (the `state` interface of
//! `wit/transform.wit`): the in-memory store and its undo logs (`store`),
//! the changelog topic's key format, creation and checks (`changelog`), and
//! the restore of a partition's state on assignment (`restore`), and how
//! plugins' timers are kept among it (`timers`).
//!
//! The writes of a transaction go to the compacted changelog topic inside
//! the same Kafka transaction as its outputs and input offsets
//! ([`crate::kafka::transaction::Transaction::commit`]), to the changelog
//! partition numbered like the input partition, one record per changed key.
//! A newly assigned partition is paused until its state is read back.

pub mod changelog;
pub mod restore;
mod store;
pub mod timers;

use std::time::Duration;

pub use changelog::Changelog;
pub use store::{Scope, SharedState, StateError, StateStore};
pub use timers::{Clock, Timer};

/// How much longer than `transaction.timeout.ms` a restore waits for a
/// changelog partition that an open transaction blocks (the broker's abort
/// of a timed-out transaction runs every 10 s) before it gives up.
pub const RESTORE_MARGIN: Duration = Duration::from_secs(30);
