//! The command line as the user types it (DESIGN §1.1): raw values, parsed
//! by clap with `EOSHOST_*` environment fallbacks. `config.rs` merges them
//! with the TOML file and defaults and validates the result.

use std::path::PathBuf;

use crate::defaults;
pub use crate::policy::OnError;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exactly-once WebAssembly transforms for Apache Kafka.
///
/// Runs a plugin (a WebAssembly component) over every record of the input
/// topics and writes its outputs and the input offsets in one Kafka
/// transaction: each input's outputs appear exactly once.
#[derive(Debug, Parser)]
#[command(name = "eoshost", version, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a plugin offline over a JSONL file (or stdin), no Kafka needed.
    Test(TestArgs),
    /// Check a plugin against the eoshost:transform world and list its
    /// imports and exports.
    Inspect(InspectArgs),
    /// Print eoshost's version, the librdkafka it links, that build's
    /// features (TLS, SASL mechanisms, codecs) and the librdkafka patches
    /// it carries.
    Version,
    /// Publish the rows of a PostgreSQL outbox table to Kafka, exactly once.
    Relay(RelayArgs),
}

/// Where the plugin's outputs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// Records on the --output topics, in a Kafka transaction with the offsets.
    Kafka,
    /// Rows of --table in PostgreSQL, in a database transaction with the
    /// offsets (table eoshost_offsets).
    Postgres,
}

/// A feature turned on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    On,
    Off,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event; coloured only when stderr is a
    /// terminal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Pipeline options. Each is optional here: the TOML file (`--config`) and
/// the defaults fill in what neither the command line nor the environment
/// gives.
#[derive(Debug, Default, Args)]
pub struct RunArgs {
    /// The plugin: a WebAssembly component of the eoshost:transform world.
    /// Repeat for a chain: every output of one plugin goes through the next.
    #[arg(long, env = "EOSHOST_PLUGIN", value_name = "PATH")]
    pub plugin: Vec<PathBuf>,

    /// Topics to read, comma-separated.
    #[arg(long, env = "EOSHOST_INPUT", value_name = "TOPIC[,TOPIC..]", value_delimiter = ',')]
    pub input: Vec<String>,

    /// Topics the plugin may write to, comma-separated; the first is the
    /// default for records that name none.
    #[arg(long, env = "EOSHOST_OUTPUT", value_name = "TOPIC[,TOPIC..]", value_delimiter = ',')]
    pub output: Vec<String>,

    #[arg(long, env = "EOSHOST_BOOTSTRAP_SERVERS", value_name = "HOST:PORT[,..]", help = format!("Kafka bootstrap list [default: {}]", defaults::BOOTSTRAP_SERVERS))]
    pub bootstrap_servers: Option<String>,

    /// Consumer group id [default: eoshost-<plugin file stem>].
    #[arg(long, env = "EOSHOST_GROUP")]
    pub group: Option<String>,

    /// This instance's transactional.id [default: <group>-<hostname>-<n>,
    /// n the lowest slot no other live eoshost on this host holds].
    #[arg(long, env = "EOSHOST_TRANSACTIONAL_ID")]
    pub transactional_id: Option<String>,

    /// Static group membership id (group.instance.id) [default: the
    /// transactional id]. A restart with the same id within the session
    /// timeout gets its partitions back at once.
    #[arg(long, env = "EOSHOST_GROUP_INSTANCE_ID")]
    pub group_instance_id: Option<String>,

    /// Static group membership: on (fast restarts; a stopped instance's
    /// partitions wait for it until session.timeout.ms) or off (they move
    /// at once; for deployments that scale down often) [default: on].
    #[arg(long, env = "EOSHOST_STATIC_MEMBERSHIP", value_enum)]
    pub static_membership: Option<Switch>,

    /// KEY=VALUE handed to the plugin's init; repeat for more. In a chain,
    /// name the plugin (its file stem): NAME:KEY=VALUE.
    #[arg(long = "plugin-config", env = "EOSHOST_PLUGIN_CONFIG", value_name = "[NAME:]KEY=VALUE")]
    pub plugin_config: Vec<String>,

    /// What happens to a record the plugin rejects or that keeps trapping
    /// [default: fail].
    #[arg(long, env = "EOSHOST_ON_ERROR", value_enum)]
    pub on_error: Option<OnError>,

    /// Dead-letter topic for --on-error dlq [default: <first input>.dlq].
    #[arg(long, env = "EOSHOST_DLQ_TOPIC")]
    pub dlq_topic: Option<String>,

    #[arg(long, env = "EOSHOST_MAX_RETRIES", help = format!("Traps on one record before --on-error applies [default: {}]", defaults::MAX_RETRIES))]
    pub max_retries: Option<u32>,

    #[arg(long, env = "EOSHOST_COMMIT_INTERVAL_MS", help = format!("Longest time a transaction stays open, in ms [default: {}]", defaults::COMMIT_INTERVAL_MS))]
    pub commit_interval_ms: Option<u64>,

    #[arg(long, env = "EOSHOST_TRANSACTION_MAX_RECORDS", help = format!("Most input records in one transaction [default: {}]", defaults::TRANSACTION_MAX_RECORDS))]
    pub transaction_max_records: Option<usize>,

    #[arg(long, env = "EOSHOST_PLUGIN_TIMEOUT_MS", help = format!("Wall-clock budget of one plugin call, in ms [default: {}]", defaults::PLUGIN_TIMEOUT_MS))]
    pub plugin_timeout_ms: Option<u64>,

    #[arg(long, env = "EOSHOST_PLUGIN_MEMORY_MB", help = format!("Linear-memory cap of one plugin instance, in MiB [default: {}]", defaults::PLUGIN_MEMORY_MB))]
    pub plugin_memory_mb: Option<u64>,

    /// Compacted changelog topic of a stateful plugin's state, written in
    /// the same transaction as the outputs; created when missing
    /// [default: <group>.state].
    #[arg(long, env = "EOSHOST_STATE_TOPIC", value_name = "TOPIC")]
    pub state_topic: Option<String>,

    #[arg(long, env = "EOSHOST_STATE_MAX_MB", help = format!("Most state (keys and values) of the partitions this instance owns, in MiB, over every stateful plugin [default: {}]", defaults::STATE_MAX_MB))]
    pub state_max_mb: Option<u64>,

    /// Serve Prometheus /metrics, /healthz and /readyz here [default: off].
    #[arg(long, env = "EOSHOST_METRICS_ADDR", value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,

    #[arg(long, env = "EOSHOST_CONNECT_TIMEOUT_MS", help = format!("Give up connecting to Kafka at start after this many ms [default: {}]", defaults::CONNECT_TIMEOUT_MS))]
    pub connect_timeout_ms: Option<u64>,

    /// Any librdkafka property, passed to the consumer and the producer;
    /// repeat for more. Settings that break exactly-once are refused.
    #[arg(short = 'X', value_name = "KEY=VALUE", env = "EOSHOST_LIBRDKAFKA")]
    pub librdkafka: Vec<String>,

    /// Log line format: text (colour only on a terminal) or json (one
    /// object a line) [default: text].
    #[arg(long, env = "EOSHOST_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,

    #[arg(long, env = "EOSHOST_PROGRESS_INTERVAL_S", value_name = "SECONDS", help = format!("One progress line at info level every N seconds (records in/out per second, lag, commits, aborts, traps, dead letters); 0 turns it off [default: {}]", defaults::PROGRESS_INTERVAL_S))]
    pub progress_interval_s: Option<u64>,
    /// Where outputs go: kafka (the --output topics) or postgres (rows of
    /// --table at --postgres-url) [default: kafka].
    #[arg(long, env = "EOSHOST_SINK", value_enum)]
    pub sink: Option<SinkKind>,

    /// PostgreSQL connection URL for --sink postgres, e.g.
    /// postgres://user@127.0.0.1:5432/db.
    #[arg(long, env = "EOSHOST_POSTGRES_URL", value_name = "URL")]
    pub postgres_url: Option<String>,

    /// The table --sink postgres writes rows to (created when missing).
    #[arg(long, env = "EOSHOST_TABLE", value_name = "NAME")]
    pub table: Option<String>,

    /// A TOML file with any of these options (kebab-case keys, librdkafka
    /// properties in a [librdkafka] table); command line and environment win.
    #[arg(long, env = "EOSHOST_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `eoshost test`: DESIGN §1.2.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The plugin to run; repeat for a chain (each output of one plugin
    /// goes through the next).
    #[arg(long, value_name = "PATH", required = true)]
    pub plugin: Vec<PathBuf>,

    /// JSONL records, one object a line; stdin when absent.
    #[arg(long, value_name = "FILE.jsonl")]
    pub input: Option<PathBuf>,

    /// KEY=VALUE handed to the plugin's init; repeat for more. In a chain,
    /// name the plugin (its file stem): NAME:KEY=VALUE.
    #[arg(long = "plugin-config", value_name = "[NAME:]KEY=VALUE")]
    pub plugin_config: Vec<String>,

    /// Check output topics against this allow-list, as the pipeline does
    /// (outputs of records that name none get the first topic).
    #[arg(long, value_name = "TOPIC[,TOPIC..]", value_delimiter = ',')]
    pub output: Vec<String>,

    /// Wall-clock budget of one plugin call, in ms.
    #[arg(long, default_value_t = defaults::PLUGIN_TIMEOUT_MS)]
    pub plugin_timeout_ms: u64,

    /// Linear-memory cap of the plugin instance, in MiB.
    #[arg(long, default_value_t = defaults::PLUGIN_MEMORY_MB)]
    pub plugin_memory_mb: u64,

    /// Most state a stateful plugin may hold, in MiB.
    #[arg(long, default_value_t = defaults::STATE_MAX_MB)]
    pub state_max_mb: u64,
}

/// `eoshost relay`: DESIGN §1.7.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// PostgreSQL connection URL, e.g. postgres://user@127.0.0.1:5432/db.
    #[arg(long, env = "EOSHOST_POSTGRES_URL", value_name = "URL")]
    pub postgres_url: String,

    /// The outbox table to publish.
    #[arg(long, env = "EOSHOST_OUTBOX_TABLE", value_name = "TABLE")]
    pub outbox_table: String,

    /// Topics rows may go to, comma-separated; the first is the default for
    /// rows whose topic is null.
    #[arg(long, env = "EOSHOST_OUTPUT", value_name = "TOPIC[,TOPIC..]", value_delimiter = ',', required = true)]
    pub output: Vec<String>,

    /// Compacted topic holding the relay's progress [default: eoshost.relay.<table>].
    #[arg(long, env = "EOSHOST_PROGRESS_TOPIC")]
    pub progress_topic: Option<String>,

    /// Kafka bootstrap list.
    #[arg(long, env = "EOSHOST_BOOTSTRAP_SERVERS", value_name = "HOST:PORT[,..]", default_value = defaults::BOOTSTRAP_SERVERS)]
    pub bootstrap_servers: String,

    /// A plugin that transforms each row on the way (as in the pipeline).
    #[arg(long, env = "EOSHOST_PLUGIN", value_name = "PATH")]
    pub plugin: Option<PathBuf>,

    /// KEY=VALUE handed to the plugin's init; repeat for more.
    #[arg(long = "plugin-config", value_name = "KEY=VALUE")]
    pub plugin_config: Vec<String>,

    /// What happens to a row the plugin rejects or that keeps trapping:
    /// fail (stop, exit 3; the row is not published) or skip (publish
    /// nothing for it; it is deleted with its batch) [default: fail].
    #[arg(long, env = "EOSHOST_ON_ERROR", value_enum)]
    pub on_error: Option<OnError>,

    #[arg(long, env = "EOSHOST_MAX_RETRIES", help = format!("Traps on one row before --on-error applies [default: {}]", defaults::MAX_RETRIES))]
    pub max_retries: Option<u32>,

    /// Most rows in one Kafka transaction.
    #[arg(long, default_value_t = defaults::RELAY_BATCH_ROWS)]
    pub batch_rows: usize,

    /// Pause between reads of the outbox when it has nothing new, in ms.
    #[arg(long, default_value_t = defaults::RELAY_POLL_INTERVAL_MS)]
    pub poll_interval_ms: u64,

    /// Serve Prometheus /metrics, /healthz and /readyz here [default: off].
    #[arg(long, env = "EOSHOST_METRICS_ADDR", value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,

    /// Any librdkafka property, for every Kafka client of the relay (TLS,
    /// SASL…; `KEY=@FILE` reads the value from a file; also
    /// `EOSHOST_LIBRDKAFKA_<PROPERTY>` variables); repeat for more.
    /// Settings that break exactly-once are refused.
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub librdkafka: Vec<String>,
}

/// `eoshost inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The plugin to check.
    #[arg(long, value_name = "PATH")]
    pub plugin: PathBuf,
}

/// Splits `KEY=VALUE`, naming the flag when the `=` is missing.
pub fn parse_pair(flag: &str, raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{flag} takes KEY=VALUE, got \"{raw}\"")),
    }
}
