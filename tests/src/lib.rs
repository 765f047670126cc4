//! The harness of eoshost's exactly-once tests against a real Kafka broker,
//! shaped after Kafka's own system tests (`transactions_test.py`): seed an
//! input topic with numbered records, run `eoshost` while hard-killing and
//! restarting it, then count what a `read_committed` reader sees against
//! what went in, and prove with a marker that no transaction was left open.
//!
//! Every scenario starts with [`Scenario::new`], which serialises the tests of
//! one binary (they spawn processes and share one broker) and gives each its
//! own topics, group and log folder (`target/test-logs/<test>/`).
//!
//! Running them: `scripts/kafka start`, `scripts/build-plugins`,
//! `cargo build --release -p eoshost`, then
//! `cargo test --release -p eoshost-tests` (add `-- --nocapture` to see the
//! summary lines as they come; they are also in
//! `target/test-logs/<test>/summary.log`). No `--test-threads=1` needed: the
//! tests of one binary take a lock, and cargo runs the binaries one by one.
//!
//! Environment: `EOSHOST_TEST_BOOTSTRAP` (broker, default `127.0.0.1:9092`),
//! `EOSHOST_BIN` (the binary, default `<workspace>/target/release/eoshost`),
//! `EOSHOST_TEST_SCALE` (multiplies record counts and rates, default 1),
//! `EOSHOST_TEST_KILLS` (SIGKILLs of the kill test, default 5),
//! `EOSHOST_TEST_SEED` (replays the random kill times of a failed run),
//! `EOSHOST_TEST_GROUP_PROTOCOL=consumer` (every instance on the KIP-848
//! consumer group protocol).

mod broker;
pub mod cluster;
pub mod counts;
pub mod faults;
pub mod kills;
mod marker;
pub mod metrics;
mod postgres;
mod process;
mod records;
mod scenario;
pub mod secured;
mod verify;

pub use broker::{Broker, GroupProgress};
pub use postgres::Postgres;
pub use process::{Eoshost, EoshostSpec, Exit, eoshost_binary, plugin_path};
pub use records::{Feeder, InputRecord, RecordPlan, Seeded, record_number};
pub use scenario::{Scenario, env_number, unique_suffix};
pub use verify::{Isolation, OutputRecord, Tally, dead_letter_problems, mentions_number};

/// `transaction.timeout.ms` eoshost uses unless told otherwise
/// (`host/src/defaults.rs`; DESIGN §2 had 10 s, see the README).
pub const TRANSACTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
