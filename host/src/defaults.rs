//! Every default of an eoshost option, in one place: [`crate::config::Config`]
//! fills in from here what neither the command line, the environment nor the
//! TOML file gives; the `--help` text, `eoshost test` and the sandbox limits
//! read the same constants. Defaults that depend on other options (the group,
//! the transactional id, the dead-letter topic) are derived in `Config`.

use crate::cli::{LogFormat, OnError, SinkKind};
use crate::sink::columns::{ColumnsMode, WriteMode};

/// `--bootstrap-servers`.
pub const BOOTSTRAP_SERVERS: &str = "127.0.0.1:9092";
/// `--on-error`: a record the plugin rejects, or that keeps trapping, stops
/// eoshost (exit code 3).
pub const ON_ERROR: OnError = OnError::Fail;
/// `--log-format`.
pub const LOG_FORMAT: LogFormat = LogFormat::Text;
/// `--sink`: outputs are records on the `--output` topics.
pub const SINK: SinkKind = SinkKind::Kafka;
/// `--columns`: the PostgreSQL sink writes its landing table.
pub const COLUMNS: ColumnsMode = ColumnsMode::None;
/// `--write`: under `--columns auto`, plain inserts.
pub const WRITE: WriteMode = WriteMode::Insert;
/// `--max-retries`: traps on one record before `--on-error` applies.
pub const MAX_RETRIES: u32 = 3;
/// `--commit-interval-ms`: the longest time a transaction stays open.
pub const COMMIT_INTERVAL_MS: u64 = 100;
/// `--transaction-max-records`.
pub const TRANSACTION_MAX_RECORDS: usize = 10_000;
/// `--plugin-timeout-ms`: the wall-clock budget of one plugin call.
pub const PLUGIN_TIMEOUT_MS: u64 = 1000;
/// `--plugin-memory-mb`: the linear-memory cap of one instance.
pub const PLUGIN_MEMORY_MB: u64 = 64;
/// `--connect-timeout-ms`: how long to wait for Kafka at start.
pub const CONNECT_TIMEOUT_MS: u64 = 60_000;
/// How long a stop (SIGTERM/SIGINT) may take before eoshost exits without
/// finishing it (code 1); a stop normally takes well under a second.
pub const STOP_DEADLINE_S: u64 = 20;
/// `--progress-interval-s`.
pub const PROGRESS_INTERVAL_S: u64 = 10;
/// `eoshost relay --batch-rows`: most outbox rows in one Kafka transaction.
pub const RELAY_BATCH_ROWS: usize = 5000;
/// `eoshost relay --poll-interval-ms`: pause between reads of an outbox
/// that had nothing new.
pub const RELAY_POLL_INTERVAL_MS: u64 = 100;
/// `transaction.timeout.ms` of the transactional producers (overridable
/// with `-X`). Longer than a coordinator failover (KRaft fences a dead
/// broker after its 9 s session, then the coordinator loads its state), so
/// that a transaction open when its coordinator's node dies survives the
/// move instead of being aborted by the broker, which bumps the producer
/// epoch and would make the failover look like a newer instance's fencing.
/// The cost: an instance that dies with a transaction open and is not
/// restarted holds `read_committed` readers of its outputs back for up to
/// this long (a restart with the same slot aborts it at once).
pub const TRANSACTION_TIMEOUT_MS: u64 = 30_000;
/// `linger.ms` of the transactional producers (overridable with `-X`).
/// Five, librdkafka's own default: a partition's records wait up to 5 ms to
/// go in one produce request, so the broker handles a few large requests
/// instead of one per record whenever the loop produces more slowly than a
/// request's round trip (a Python plugin, small records). It costs a commit
/// nothing: the commit's flush sends lingering batches at once (librdkafka
/// ignores linger.ms while flushing). Measured at 100 B (bench/results/):
/// the broker's CPU per record 2.8 -> 1.3 µs, eoshost's own lower too,
/// commit p50 unchanged.
pub const PRODUCER_LINGER_MS: u64 = 5;
/// `retry.backoff.ms` of the transactional producers (overridable with
/// `-X`), the first backoff of librdkafka's exponential retries (capped by
/// `retry.backoff.max.ms`, 1 s). librdkafka's 100 ms default is what a
/// commit pays when AddOffsetsToTxn meets the coordinator still writing the
/// transaction's partitions (CONCURRENT_TRANSACTIONS, retriable): the 100 ms
/// tail of the commit histogram (librdkafka has a 20 ms backoff for this
/// error only on AddPartitionsToTxn).
pub const PRODUCER_RETRY_BACKOFF_MS: u64 = 10;
/// `--state-max-mb`: the most state (keys and values, MiB) of the
/// partitions one instance owns, over every stateful plugin.
pub const STATE_MAX_MB: u64 = 256;
/// `--table-max-mb`: the most keys and values (MiB) one `--table` may hold.
/// Every instance holds every table whole, so this bounds each instance's
/// memory (a table costs about twice its bytes: the map's entries and the
/// allocator's rounding).
pub const TABLE_MAX_MB: u64 = 1024;
/// `segment.bytes` of a changelog topic eoshost creates: small, because the
/// active segment is never compacted and a restore reads all of it (Kafka's
/// smallest allowed value).
pub const STATE_SEGMENT_BYTES: u64 = 1 << 20;
