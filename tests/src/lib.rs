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
pub mod schema_registry;
pub mod secured;
pub mod tables;
mod verify;
pub mod windows;

pub use broker::{Broker, GroupProgress};
pub use postgres::Postgres;
pub use process::{Eoshost, EoshostSpec, Exit, eoshost_binary, plugin_path};
pub use records::{Feeder, InputRecord, RecordPlan, Seeded, Timestamps, record_number};
pub use scenario::{Scenario, env_number, unique_suffix};
pub use tables::TableRows;
pub use verify::{Isolation, OutputRecord, Tally, dead_letter_problems, mentions_number};

/// `transaction.timeout.ms` eoshost uses unless told otherwise
/// (`host/src/defaults.rs`; docs/guarantees.md says why it is 30 s).
pub const TRANSACTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long the tests wait for each thing, named by what they wait for. A
/// wait that runs out fails the test (its message prints the value), so a
/// budget is changed here, for every wait of its kind, not at one call.
/// Where tests of one kind of wait kept different budgets, the shorter one
/// has its own name saying where it applies. Bounds that a test *asserts*
/// (a restart's first commit within 5 s, a restore under 60 s) stay beside
/// their tests: they are what the test proves, not patience.
pub mod timeouts {
    use std::time::Duration;

    /// A freshly started instance commits its first transaction (start-up,
    /// `init_transactions`, the group join, the first records through the
    /// plugin), or one started after a SIGKILL commits past where its
    /// predecessor stood (whose session and open transaction go first).
    pub const FIRST_COMMIT: Duration = Duration::from_secs(90);
    /// One instance whose input is already waiting commits its first batch:
    /// where a throughput is timed from (`state_throughput`, the PostgreSQL
    /// sink's and relay's backlogs), or the sign that a run is under way
    /// before its fault (`chain_live`, the sink's database restart and
    /// zombie).
    pub const FIRST_BATCH: Duration = Duration::from_secs(60);
    /// Instances started together form their group: the broker describes it
    /// as stable, with partitions assigned to each member.
    pub const GROUP_FORMED: Duration = Duration::from_secs(90);
    /// A running group settles after a member froze, left or came back: the
    /// new assignment is described, and the partitions move again.
    pub const GROUP_SETTLED: Duration = Duration::from_secs(60);
    /// An instance that is working commits again: it is working when the
    /// fault comes.
    pub const NEXT_COMMIT: Duration = Duration::from_secs(60);
    /// Another instance takes over the partitions of a frozen one and
    /// commits past where the frozen one stood.
    pub const TAKEOVER: Duration = Duration::from_secs(60);
    /// The survivor commits the partitions of a member killed with SIGKILL:
    /// the dead member's session expires, its open transaction times out
    /// ([`crate::TRANSACTION_TIMEOUT`], aborted by the broker's sweep every
    /// 10 s), and the survivor resumes from the committed offsets.
    pub const TAKEOVER_AFTER_SIGKILL: Duration = Duration::from_secs(90);
    /// From start, the warm-up commits and then the commits whose latency is
    /// measured (`commit_latency`).
    pub const COMMITS_TO_MEASURE: Duration = Duration::from_secs(90);

    /// A fresh instance commits a seeded input of up to a few thousand
    /// records to its end.
    pub const ALL_COMMITTED: Duration = Duration::from_secs(90);
    /// The same where the test expects it sooner: a few hundred records on
    /// one partition (`codecs`), a handful of outbox rows, or the rest of a
    /// flow that the instance is already committing steadily
    /// (`commit_latency`).
    pub const ALL_COMMITTED_SOON: Duration = Duration::from_secs(60);
    /// Nothing committed for this long while input is left is a stall: a
    /// livelock shows as such, in seconds rather than at the overall limit.
    pub const STALL: Duration = Duration::from_secs(60);
    /// The same for the scenarios whose last faults can hold commits back
    /// longest: three members bounced with SIGKILL and SIGTERM, a thawed
    /// zombie, broker nodes killed and restarted.
    pub const LONG_STALL: Duration = Duration::from_secs(90);

    /// A SIGTERMed instance exits: a clean shutdown finishes or aborts its
    /// open transaction and leaves the group.
    pub const EXIT_AFTER_SIGTERM: Duration = Duration::from_secs(30);
    /// An instance refused at start (a missing topic, table or setting, a
    /// service that is unreachable or refuses it) exits on its own.
    pub const EXIT_AT_START: Duration = Duration::from_secs(30);
    /// Under `--on-error fail`, the instance reaches the poison record fed
    /// to it and exits.
    pub const EXIT_AT_POISON_RECORD: Duration = Duration::from_secs(90);
    /// The consumer reaches a batch it cannot decode and eoshost exits.
    pub const EXIT_AT_CORRUPT_BATCH: Duration = Duration::from_secs(60);
    /// A thawed zombie finds out that it was replaced: a heartbeat, its
    /// refused commit and, for a static member, its exit.
    pub const THAWED_ZOMBIE_REFUSED: Duration = Duration::from_secs(30);
    /// Of two relays started at once on one outbox, the one fenced by the
    /// other's `init_transactions` exits.
    pub const RELAY_FENCED: Duration = Duration::from_secs(60);
    /// A producer fenced by a newer one with its transactional id refuses a
    /// record: the fencing comes back on the partition's AddPartitionsToTxn.
    pub const PRODUCER_FENCED: Duration = Duration::from_secs(30);

    /// A line an instance logs on its own soon after start (a progress line
    /// under `--progress-interval-s 1`).
    pub const LOG_LINE: Duration = Duration::from_secs(60);
    /// librdkafka's statistics (every 5 s) reach the consumer-lag gauge on
    /// `/metrics`.
    pub const LAG_REPORTED: Duration = Duration::from_secs(30);

    /// One call of a Kafka client on a broker that is up: a flush of a few
    /// records, `init_transactions`, a commit, or a transactional producer
    /// built with retries.
    pub const KAFKA_CALL: Duration = Duration::from_secs(30);
    /// The seeding producer's records, up to hundreds of thousands, all
    /// acknowledged.
    pub const SEEDED_FLUSH: Duration = Duration::from_secs(60);
    /// Committed offsets asked again while the group coordinator moves
    /// (`NOT_COORDINATOR`, `COORDINATOR_LOAD_IN_PROGRESS`) as a broker starts
    /// or restarts.
    pub const COORDINATOR_MOVED: Duration = Duration::from_secs(30);
    /// The fault scenarios' progress readers ride out errors in a row this
    /// long: a group or partition whose coordinator or leader was just
    /// killed answers `NOT_COORDINATOR` or has no leader until the cluster
    /// has moved it.
    pub const ERROR_PATIENCE: Duration = Duration::from_secs(60);
    /// A fresh cluster creates and loads its coordinators
    /// (`__consumer_offsets`, `__transaction_state`).
    pub const CLUSTER_WARM_UP: Duration = Duration::from_secs(90);
    /// A topic just created is known, with a leader for every partition, to
    /// each node of the three-node cluster.
    pub const TOPIC_ON_EVERY_NODE: Duration = Duration::from_secs(30);
    /// A restarted node takes its leaderships back, so that one node again
    /// coordinates both the group and the transactions.
    pub const LEADERSHIP_BACK: Duration = Duration::from_secs(90);
}
