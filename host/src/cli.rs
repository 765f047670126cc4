//! The command line (DESIGN §1.1), every option declared once: the
//! pipeline's and the relay's options are two [`options!`] tables, each
//! entry with its flag, `EOSHOST_*` variable, TOML key, default, check and
//! effective-configuration entry (the mechanism: [`crate::config::options`]).
//! [`Config::resolve`] lays them over the TOML file and checks the rules
//! between options; `eoshost test` and `inspect` are plain clap structs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::options::{OneOrMany, Shown, TableValues, host_port, key_values, options, positive, table_values};
use crate::config::{Config, librdkafka_pairs, registry_pairs};
use crate::defaults;
pub use crate::policy::OnError;
use crate::schemas::{Format, SubjectStrategy};
use crate::sink::columns::{ColumnsMode, WriteMode};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event; coloured only when stderr is a
    /// terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `eoshost [OPTIONS]`: the pipeline's options and `--config`, the TOML
/// file under them.
#[derive(Debug, Default, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub options: PipelineOptions,

    /// A TOML file with any of these options (kebab-case keys, librdkafka
    /// properties in a [librdkafka] table); command line and environment win.
    #[arg(long, env = "EOSHOST_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

options! {
    /// The pipeline's options, each declared once: its doc is its help;
    /// `#[arg]` names its flag and `EOSHOST_*` variable; its field name is
    /// its TOML key; `= DEFAULT` (from `defaults.rs`) fills in what neither
    /// the command line, the variable nor the file gives; `check` validates
    /// it alone ([`Config::resolve`] checks the rules between options);
    /// `show` is its entry in the effective configuration (secrets redacted
    /// in `logging.rs`).
    pub struct PipelineOptions layered over PipelineFile into PipelineValues, shown from Config;

    /// The plugin: a WebAssembly component of the eoshost:transform world.
    /// Repeat for a chain: every output of one plugin goes through the next.
    #[arg(long, env = "EOSHOST_PLUGIN", value_name = "PATH")]
    plugin: Vec<PathBuf> as OneOrMany<PathBuf>,
        show |c| c.chain.iter().map(|p| p.path.display().to_string()).collect::<Vec<_>>().join(",");

    /// Topics to read, comma-separated.
    #[arg(long, env = "EOSHOST_INPUT", value_name = "TOPIC[,TOPIC..]", value_delimiter = ',')]
    input: Vec<String>, show |c| c.inputs.join(",");

    /// Topics the plugin may write to, comma-separated; the first is the
    /// default for records that name none.
    #[arg(long, env = "EOSHOST_OUTPUT", value_name = "TOPIC[,TOPIC..]", value_delimiter = ',')]
    output: Vec<String>, show |c| c.outputs.join(",");

    /// Kafka bootstrap list.
    #[arg(long, env = "EOSHOST_BOOTSTRAP_SERVERS", value_name = "HOST:PORT[,..]")]
    bootstrap_servers: String = defaults::BOOTSTRAP_SERVERS, show |c| &c.bootstrap_servers;

    /// Consumer group id [default: eoshost-<plugin file stem>].
    #[arg(long, env = "EOSHOST_GROUP")]
    group: String, show |c| &c.group;

    /// This instance's transactional.id [default: <group>-<hostname>-<n>,
    /// n the lowest slot no other live eoshost on this host holds].
    #[arg(long, env = "EOSHOST_TRANSACTIONAL_ID")]
    transactional_id: String, show |c| c.transactional_id.as_deref().unwrap_or("<host slot>");

    /// Static group membership id (group.instance.id) [default: the
    /// transactional id]. A restart with the same id within the session
    /// timeout gets its partitions back at once.
    #[arg(long, env = "EOSHOST_GROUP_INSTANCE_ID")]
    group_instance_id: String,
        show |c| match (&c.group_instance_id, c.static_membership) {
            (_, false) => "-",
            (Some(id), true) => id,
            (None, true) => "<transactional id>",
        };

    /// Static group membership: on (fast restarts; a stopped instance's
    /// partitions wait for it until session.timeout.ms) or off (they move
    /// at once; for deployments that scale down often) [default: on].
    #[arg(long, env = "EOSHOST_STATIC_MEMBERSHIP", value_enum)]
    static_membership: Switch, show |c| if c.static_membership { Switch::On } else { Switch::Off };

    /// KEY=VALUE handed to the plugin's init; repeat for more. In a chain,
    /// name the plugin (its file stem): NAME:KEY=VALUE.
    #[arg(long, env = "EOSHOST_PLUGIN_CONFIG", value_name = "[NAME:]KEY=VALUE")]
    plugin_config: Vec<String> as BTreeMap<String, String>, check key_values => Vec<(String, String)>,
        show |c| Shown::pairs("plugin-config", &c.plugin_config);

    /// What happens to a record the plugin rejects or that keeps trapping.
    #[arg(long, env = "EOSHOST_ON_ERROR", value_enum)]
    on_error: OnError = defaults::ON_ERROR, show |c| c.on_error;

    /// Dead-letter topic for --on-error dlq [default: <first input>.dlq].
    #[arg(long, env = "EOSHOST_DLQ_TOPIC")]
    dlq_topic: String, show |c| c.dlq_topic.as_deref().unwrap_or("-");

    /// Traps on one record before --on-error applies.
    #[arg(long, env = "EOSHOST_MAX_RETRIES")]
    max_retries: u32 = defaults::MAX_RETRIES, show |c| c.max_retries;

    /// Longest time a transaction stays open, in ms.
    #[arg(long, env = "EOSHOST_COMMIT_INTERVAL_MS")]
    commit_interval_ms: u64 = defaults::COMMIT_INTERVAL_MS, check positive, show |c| c.commit_interval.as_millis();

    /// Most input records in one transaction.
    #[arg(long, env = "EOSHOST_TRANSACTION_MAX_RECORDS")]
    transaction_max_records: usize = defaults::TRANSACTION_MAX_RECORDS, check positive,
        show |c| c.transaction_max_records;

    /// Wall-clock budget of one plugin call, in ms.
    #[arg(long, env = "EOSHOST_PLUGIN_TIMEOUT_MS")]
    plugin_timeout_ms: u64 = defaults::PLUGIN_TIMEOUT_MS, check positive, show |c| c.limits.call_timeout.as_millis();

    /// Linear-memory cap of one plugin instance, in MiB.
    #[arg(long, env = "EOSHOST_PLUGIN_MEMORY_MB")]
    plugin_memory_mb: u64 = defaults::PLUGIN_MEMORY_MB, check positive, show |c| c.limits.memory_bytes >> 20;

    /// Compacted changelog topic of a stateful plugin's state, written in
    /// the same transaction as the outputs; created when missing
    /// [default: <group>.state].
    #[arg(long, env = "EOSHOST_STATE_TOPIC", value_name = "TOPIC")]
    state_topic: String, show |c| &c.state_topic;

    /// Most state (keys and values) of the partitions this instance owns,
    /// in MiB, over every stateful plugin.
    #[arg(long, env = "EOSHOST_STATE_MAX_MB")]
    state_max_mb: u64 = defaults::STATE_MAX_MB, check positive, show |c| c.state_max_bytes >> 20;

    /// Serve Prometheus /metrics, /healthz and /readyz here [default: off].
    #[arg(long, env = "EOSHOST_METRICS_ADDR", value_name = "HOST:PORT")]
    metrics_addr: String, check host_port => Option<SocketAddr>,
        show |c| c.metrics_addr.map_or_else(|| "off".to_owned(), |addr| addr.to_string());

    /// Give up connecting to Kafka at start after this many ms.
    #[arg(long, env = "EOSHOST_CONNECT_TIMEOUT_MS")]
    connect_timeout_ms: u64 = defaults::CONNECT_TIMEOUT_MS, check positive, show |c| c.connect_timeout.as_millis();

    /// Any librdkafka property, passed to the consumer and the producer;
    /// repeat for more. Settings that break exactly-once are refused.
    #[arg(short = 'X', value_name = "KEY=VALUE", env = "EOSHOST_LIBRDKAFKA")]
    librdkafka: Vec<String> as BTreeMap<String, String>, check librdkafka_pairs => Vec<(String, String)>,
        show |c| Shown::pairs("X", &c.librdkafka);

    /// Log line format: text (colour only on a terminal) or json (one
    /// object a line).
    #[arg(long, env = "EOSHOST_LOG_FORMAT", value_enum)]
    log_format: LogFormat = defaults::LOG_FORMAT, show |c| c.log_format;

    /// One progress line at info level every N seconds (records in/out per
    /// second, lag, commits, aborts, traps, dead letters); 0 turns it off.
    #[arg(long, env = "EOSHOST_PROGRESS_INTERVAL_S", value_name = "SECONDS")]
    progress_interval_s: u64 = defaults::PROGRESS_INTERVAL_S,
        show |c| c.progress_interval.map_or(0, |every| every.as_secs());

    /// Where outputs go: kafka (the --output topics) or postgres (rows of
    /// --table at --postgres-url).
    #[arg(long, env = "EOSHOST_SINK", value_enum)]
    sink: SinkKind = defaults::SINK,
        show |c| if c.postgres.is_some() { SinkKind::Postgres } else { SinkKind::Kafka };

    /// PostgreSQL connection URL for --sink postgres, e.g.
    /// postgres://user@127.0.0.1:5432/db.
    #[arg(long, env = "EOSHOST_POSTGRES_URL", value_name = "URL")]
    postgres_url: String, show |c| c.postgres.as_ref().map(|sink| &sink.url);

    /// With --sink postgres: none writes the landing table eoshost owns;
    /// auto writes each output's JSON fields into the same-named columns of
    /// your existing --table (converted to their types).
    #[arg(long, env = "EOSHOST_COLUMNS", value_enum)]
    columns: ColumnsMode = defaults::COLUMNS,
        show |c| if c.postgres.as_ref().is_some_and(|sink| sink.columns.is_some()) { ColumnsMode::Auto } else { ColumnsMode::None };

    /// With --columns auto: insert every row, or upsert on --key-columns
    /// (ON CONFLICT DO UPDATE of the columns the record gives).
    #[arg(long, env = "EOSHOST_WRITE", value_enum)]
    write: WriteMode = defaults::WRITE,
        show |c| c.postgres.as_ref().and_then(|sink| sink.columns.as_ref()).map(|spec| spec.write);

    /// With --columns auto: the columns that identify a row, comma-separated:
    /// the conflict target of --write upsert, and what a tombstone deletes.
    #[arg(long, env = "EOSHOST_KEY_COLUMNS", value_name = "COLUMN[,COLUMN..]", value_delimiter = ',')]
    key_columns: Vec<String>,
        show |c| c.postgres.as_ref().and_then(|sink| sink.columns.as_ref()).map(|spec| spec.key_columns.join(","));

    /// With --columns auto and --key-columns: a tombstone (no value) deletes
    /// the row whose key columns come from the record key (a JSON object,
    /// or one scalar for one key column).
    #[arg(long, env = "EOSHOST_DELETE_ON_TOMBSTONE", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    delete_on_tombstone: bool = false,
        show |c| c.postgres.as_ref().and_then(|sink| sink.columns.as_ref()).map(|spec| spec.delete_on_tombstone);

    /// A Confluent-compatible Schema Registry: the base URL Confluent
    /// clients take, for the avro, protobuf and json-schema formats.
    #[arg(long, env = "EOSHOST_SCHEMA_REGISTRY_URL", value_name = "URL")]
    schema_registry_url: String,
        show |c| c.formats.registry_url.as_deref().map_or_else(|| "-".to_owned(), crate::redact::urls);

    /// KEY=VALUE setting of the Schema Registry client, as Confluent's
    /// clients name it (basic.auth.user.info, bearer.auth.token,
    /// ssl.ca.location, ...); @FILE reads the value from a file; repeat for
    /// more.
    #[arg(long, env = "EOSHOST_SCHEMA_REGISTRY_CONFIG", value_name = "KEY=VALUE")]
    schema_registry_config: Vec<String> as BTreeMap<String, String>, check registry_pairs => Vec<(String, String)>,
        show |c| Shown::pairs("schema-registry-config", &c.formats.registry_config);

    /// How input keys are written: bytes (handed over as is), json, or
    /// avro, protobuf, json-schema (Confluent wire format, decoded with the
    /// writer schema from the registry): plugins get JSON text.
    #[arg(long, env = "EOSHOST_KEY_FORMAT", value_enum)]
    key_format: Format = Format::Bytes, show |c| c.formats.key;

    /// How input values are written: bytes (handed over as is), json, or
    /// avro, protobuf, json-schema (Confluent wire format, decoded with the
    /// writer schema from the registry): plugins get JSON text.
    #[arg(long, env = "EOSHOST_VALUE_FORMAT", value_enum)]
    value_format: Format = Format::Bytes, show |c| c.formats.value;

    /// How output keys are written [default: --key-format]; the plugin
    /// writes JSON text for avro, protobuf and json-schema.
    #[arg(long, env = "EOSHOST_OUTPUT_KEY_FORMAT", value_enum)]
    output_key_format: Format, show |c| c.formats.output_key;

    /// How output values are written [default: --value-format]; the plugin
    /// writes JSON text for avro, protobuf and json-schema.
    #[arg(long, env = "EOSHOST_OUTPUT_VALUE_FORMAT", value_enum)]
    output_value_format: Format, show |c| c.formats.output_value;

    /// The schema of output keys (.avsc, .proto or JSON Schema), registered
    /// at start under each output topic's subject [default: each record's
    /// writer schema when the input has this format, else the subject's
    /// latest].
    #[arg(long, env = "EOSHOST_OUTPUT_KEY_SCHEMA", value_name = "FILE")]
    output_key_schema: PathBuf, show |c| output_schema_shown(c.formats.output_key, c.formats.output_key_schema.as_ref());

    /// The schema of output values (.avsc, .proto or JSON Schema),
    /// registered at start under each output topic's subject [default: each
    /// record's writer schema when the input has this format, else the
    /// subject's latest].
    #[arg(long, env = "EOSHOST_OUTPUT_VALUE_SCHEMA", value_name = "FILE")]
    output_value_schema: PathBuf,
        show |c| output_schema_shown(c.formats.output_value, c.formats.output_value_schema.as_ref());

    /// How schema subjects are named: topic (<topic>-key, <topic>-value),
    /// record (the record's full name) or topic-record
    /// (<topic>-<record name>).
    #[arg(long, env = "EOSHOST_SUBJECT_NAME_STRATEGY", value_enum)]
    subject_name_strategy: SubjectStrategy = SubjectStrategy::Topic, show |c| c.formats.strategy;

    /// NAME=TOPIC: a table for plugins to look up (WIT `tables`), the latest
    /// value per key of a compacted topic, loaded to its end before the
    /// first record and kept current; repeat for more. NAME alone: the table
    /// --sink postgres writes rows to (created when missing).
    #[arg(long, env = "EOSHOST_TABLE", value_name = "NAME=TOPIC|NAME")]
    table: Vec<String> as OneOrMany<String>, check table_values => TableValues,
        show |c| {
            let mut shown: Vec<String> = c.tables.iter().map(|t| format!("{}={}", t.name, t.source)).collect();
            shown.extend(c.postgres.as_ref().map(|sink| sink.table.clone()));
            (!shown.is_empty()).then(|| shown.join(","))
        };

    /// Most bytes of keys and values one --table may hold, in MiB; past it
    /// eoshost stops (exit 2).
    #[arg(long, env = "EOSHOST_TABLE_MAX_MB")]
    table_max_mb: u64 = defaults::TABLE_MAX_MB, check positive, show |c| c.table_max_bytes >> 20;
}

/// How an output schema option shows: the file, where the schema comes
/// from without one, or `-` for a format with no schema.
fn output_schema_shown(format: Format, file: Option<&PathBuf>) -> String {
    match (file, format.kind()) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(_)) => "<the input's writer schema, else the subject's latest>".to_owned(),
        (None, None) => "-".to_owned(),
    }
}

/// `eoshost test`: DESIGN §1.2.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The plugin to run; repeat for a chain (each output of one plugin
    /// goes through the next).
    #[arg(long, value_name = "PATH", required = true)]
    pub plugin: Vec<PathBuf>,

    /// JSONL records, one object a line; stdin when absent. A line
    /// {"advance_wall_clock_ms": N} moves the test's wall clock (timers).
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

    /// NAME=FILE.jsonl: a table for the plugin to look up (WIT `tables`),
    /// one record a line in the input format with "key" and "value" (the
    /// last line of a key wins); repeat for more.
    #[arg(long, value_name = "NAME=FILE.jsonl")]
    pub table: Vec<String>,

    /// Wall-clock budget of one plugin call, in ms.
    #[arg(long, default_value_t = defaults::PLUGIN_TIMEOUT_MS)]
    pub plugin_timeout_ms: u64,

    /// Linear-memory cap of the plugin instance, in MiB.
    #[arg(long, default_value_t = defaults::PLUGIN_MEMORY_MB)]
    pub plugin_memory_mb: u64,

    /// Most state a stateful plugin may hold, in MiB.
    #[arg(long, default_value_t = defaults::STATE_MAX_MB)]
    pub state_max_mb: u64,

    /// How input keys are written, as for the pipeline; a key given as
    /// text is the JSON the plugin sees, key_b64 may carry wire-format
    /// bytes (decoded with --schema-registry-url).
    #[arg(long, value_enum, default_value_t = Format::Bytes)]
    pub key_format: Format,

    /// How input values are written, as for the pipeline; a value given as
    /// text is the JSON the plugin sees, value_b64 may carry wire-format
    /// bytes (decoded with --schema-registry-url).
    #[arg(long, value_enum, default_value_t = Format::Bytes)]
    pub value_format: Format,

    /// How output keys are written [default: --key-format].
    #[arg(long, value_enum)]
    pub output_key_format: Option<Format>,

    /// How output values are written [default: --value-format].
    #[arg(long, value_enum)]
    pub output_value_format: Option<Format>,

    /// Check every output key against this schema (.avsc, .proto, JSON
    /// Schema): one that does not fit is shown as the record's error.
    #[arg(long, value_name = "FILE")]
    pub output_key_schema: Option<PathBuf>,

    /// Check every output value against this schema (.avsc, .proto, JSON
    /// Schema): one that does not fit is shown as the record's error.
    #[arg(long, value_name = "FILE")]
    pub output_value_schema: Option<PathBuf>,

    /// A Schema Registry to read writer schemas from (never written to).
    #[arg(long, value_name = "URL")]
    pub schema_registry_url: Option<String>,

    /// KEY=VALUE setting of the Schema Registry client, as for the pipeline.
    #[arg(long, value_name = "KEY=VALUE")]
    pub schema_registry_config: Vec<String>,
}

options! {
    /// `eoshost relay` (DESIGN §1.7): command line and environment only, no
    /// TOML file; clap applies the defaults, `relay::run` the checks.
    pub struct RelayArgs, shown from RelaySettings<'_>;

    /// PostgreSQL connection URL, e.g. postgres://user@127.0.0.1:5432/db.
    #[arg(long, env = "EOSHOST_POSTGRES_URL", value_name = "URL")]
    postgres_url: String, show |r| &r.args.postgres_url;

    /// The outbox table to publish.
    #[arg(long, env = "EOSHOST_OUTBOX_TABLE", value_name = "TABLE")]
    outbox_table: String, show |r| &r.args.outbox_table;

    /// Topics rows may go to, comma-separated; the first is the default for
    /// rows whose topic is null.
    #[arg(long, env = "EOSHOST_OUTPUT", value_name = "TOPIC[,TOPIC..]", value_delimiter = ',', required = true)]
    output: Vec<String>, show |r| r.args.output.join(",");

    /// Compacted topic holding the relay's progress [default: eoshost.relay.<table>].
    #[arg(long, env = "EOSHOST_PROGRESS_TOPIC")]
    progress_topic: Option<String>,
        show |r| r.args.progress_topic.clone().unwrap_or_else(|| format!("eoshost.relay.{}", r.args.outbox_table));

    /// Kafka bootstrap list.
    #[arg(long, env = "EOSHOST_BOOTSTRAP_SERVERS", value_name = "HOST:PORT[,..]", default_value = defaults::BOOTSTRAP_SERVERS)]
    bootstrap_servers: String, show |r| &r.args.bootstrap_servers;

    /// A plugin that transforms each row on the way (as in the pipeline).
    #[arg(long, env = "EOSHOST_PLUGIN", value_name = "PATH")]
    plugin: Option<PathBuf>, show |r| r.args.plugin.as_ref().map_or_else(|| "-".to_owned(), |p| p.display().to_string());

    /// KEY=VALUE handed to the plugin's init; repeat for more.
    #[arg(long, value_name = "KEY=VALUE")]
    plugin_config: Vec<String>,
        show |r| {
            let pairs: Vec<_> = r.args.plugin_config.iter().filter_map(|raw| parse_pair("--plugin-config", raw).ok()).collect();
            Shown::pairs("plugin-config", &pairs)
        };

    /// What happens to a row the plugin rejects or that keeps trapping:
    /// fail (stop, exit 3; the row is not published) or skip (publish
    /// nothing for it; it is deleted with its batch) [default: fail].
    #[arg(long, env = "EOSHOST_ON_ERROR", value_enum)]
    on_error: Option<OnError>, show |r| r.with_plugin(r.args.on_error.unwrap_or(defaults::ON_ERROR));

    #[arg(long, env = "EOSHOST_MAX_RETRIES", help = format!("Traps on one row before --on-error applies [default: {}]", defaults::MAX_RETRIES))]
    max_retries: Option<u32>, show |r| r.with_plugin(r.args.max_retries.unwrap_or(defaults::MAX_RETRIES));

    /// Most rows in one Kafka transaction.
    #[arg(long, default_value_t = defaults::RELAY_BATCH_ROWS)]
    batch_rows: usize, show |r| r.args.batch_rows;

    /// Pause between reads of the outbox when it has nothing new, in ms.
    #[arg(long, default_value_t = defaults::RELAY_POLL_INTERVAL_MS)]
    poll_interval_ms: u64, show |r| r.args.poll_interval_ms;

    /// Serve Prometheus /metrics, /healthz and /readyz here [default: off].
    #[arg(long, env = "EOSHOST_METRICS_ADDR", value_name = "HOST:PORT")]
    metrics_addr: Option<String>, show |r| r.args.metrics_addr.as_deref().unwrap_or("off");

    /// Any librdkafka property, for every Kafka client of the relay (TLS,
    /// SASL…; `KEY=@FILE` reads the value from a file; also
    /// `EOSHOST_LIBRDKAFKA_<PROPERTY>` variables); repeat for more.
    /// Settings that break exactly-once are refused.
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    librdkafka: Vec<String>, show |r| Shown::pairs("X", r.librdkafka);

    /// How output keys are written: bytes (as the row or plugin gives
    /// them), json, or avro, protobuf, json-schema (the row's or plugin's
    /// JSON encoded in the Confluent wire format).
    #[arg(long, env = "EOSHOST_OUTPUT_KEY_FORMAT", value_enum, default_value_t = Format::Bytes)]
    output_key_format: Format, show |r| r.args.output_key_format;

    /// How output values are written, as --output-key-format.
    #[arg(long, env = "EOSHOST_OUTPUT_VALUE_FORMAT", value_enum, default_value_t = Format::Bytes)]
    output_value_format: Format, show |r| r.args.output_value_format;

    /// The schema of output keys (.avsc, .proto or JSON Schema), registered
    /// at start [default: the subject's latest].
    #[arg(long, env = "EOSHOST_OUTPUT_KEY_SCHEMA", value_name = "FILE")]
    output_key_schema: Option<PathBuf>,
        show |r| output_schema_shown(r.args.output_key_format, r.args.output_key_schema.as_ref());

    /// The schema of output values (.avsc, .proto or JSON Schema),
    /// registered at start [default: the subject's latest].
    #[arg(long, env = "EOSHOST_OUTPUT_VALUE_SCHEMA", value_name = "FILE")]
    output_value_schema: Option<PathBuf>,
        show |r| output_schema_shown(r.args.output_value_format, r.args.output_value_schema.as_ref());

    /// A Confluent-compatible Schema Registry, for typed output formats.
    #[arg(long, env = "EOSHOST_SCHEMA_REGISTRY_URL", value_name = "URL")]
    schema_registry_url: Option<String>,
        show |r| r.args.schema_registry_url.as_deref().map_or_else(|| "-".to_owned(), crate::redact::urls);

    /// KEY=VALUE setting of the Schema Registry client (as for the
    /// pipeline); repeat for more.
    #[arg(long, value_name = "KEY=VALUE")]
    schema_registry_config: Vec<String>,
        show |r| {
            let pairs: Vec<_> =
                r.args.schema_registry_config.iter().filter_map(|raw| parse_pair("--schema-registry-config", raw).ok()).collect();
            Shown::pairs("schema-registry-config", &pairs)
        };

    /// How subjects are named: topic, record or topic-record.
    #[arg(long, env = "EOSHOST_SUBJECT_NAME_STRATEGY", value_enum, default_value_t = SubjectStrategy::Topic)]
    subject_name_strategy: SubjectStrategy, show |r| r.args.subject_name_strategy;
}

/// What the relay runs with, for its effective-configuration line: its
/// options and the librdkafka properties resolved from `-X` and the
/// `EOSHOST_LIBRDKAFKA_*` variables ([`crate::config::librdkafka_settings`]).
pub struct RelaySettings<'a> {
    pub args: &'a RelayArgs,
    pub librdkafka: &'a [(String, String)],
}

impl RelaySettings<'_> {
    /// `value` when rows go through `--plugin`; else `-`: the option does
    /// not apply.
    fn with_plugin(&self, value: impl Into<Shown>) -> Shown {
        if self.args.plugin.is_some() { value.into() } else { "-".into() }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags of a group of options by id, as clap has them.
    fn arguments<A: Args>() -> clap::Command {
        A::augment_args(clap::Command::new("eoshost"))
    }

    fn flag(argument: &clap::Arg) -> String {
        match (argument.get_long(), argument.get_short()) {
            (Some(long), _) => format!("--{long}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => panic!("{} has no flag", argument.get_id()),
        }
    }

    fn documented() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/options.md");
        std::fs::read_to_string(path).expect("docs/options.md")
    }

    /// Whether `id` has a non-empty entry among `shown`.
    fn is_shown(shown: &[(&str, Shown)], id: &str) -> bool {
        shown.iter().any(|(shown_id, value)| {
            *shown_id == id
                && match value {
                    Shown::Value(_) => true,
                    Shown::Pairs(_, pairs) => !pairs.is_empty(),
                    Shown::Absent => false,
                }
        })
    }

    #[test]
    fn every_pipeline_option_has_a_flag_a_variable_a_toml_key_an_effective_configuration_entry_and_docs() {
        let command = arguments::<PipelineOptions>();
        // The file's error for an unknown key lists every key it accepts.
        let keys = toml::from_str::<PipelineFile>("no-such-option = 0").unwrap_err().to_string();
        let config = Config::from_args(&[
            "--plugin",
            "enrich.wasm",
            "--input",
            "orders",
            "--sink",
            "postgres",
            "--postgres-url",
            "postgres://app@db/shop",
            "--table",
            "rows",
            "--columns",
            "auto",
            "--write",
            "upsert",
            "--key-columns",
            "id",
            "--delete-on-tombstone",
            "--plugin-config",
            "k=v",
            "-X",
            "linger.ms=5",
            "--schema-registry-url",
            "http://127.0.0.1:58081/apis/ccompat/v7",
            "--schema-registry-config",
            "request.timeout.ms=5000",
        ])
        .expect("valid configuration");

        let shown = PipelineOptions::shown(&config);
        let docs = documented();
        assert_eq!(PipelineOptions::IDS.len(), command.get_arguments().count());
        for id in PipelineOptions::IDS {
            let argument = command.get_arguments().find(|a| a.get_id() == id).unwrap_or_else(|| panic!("no flag for {id}"));
            let flag = flag(argument);
            let key = id.replace('_', "-");
            assert!(flag == format!("--{key}") || flag == "-X", "{id}: flag {flag}");
            let variable = argument.get_env().unwrap_or_else(|| panic!("{flag} has no variable")).to_str().unwrap();
            assert_eq!(variable, format!("EOSHOST_{}", id.to_uppercase()), "{flag}");
            assert!(keys.contains(&format!("`{key}`")), "{flag}: no TOML key {key} in {keys}");
            assert!(is_shown(&shown, id), "{flag} is not in the effective configuration");
            assert!(
                docs.contains(&format!("`{flag}")) && docs.contains(&format!("`{variable}`")),
                "{flag} {variable} not in docs/options.md"
            );
        }
    }

    #[test]
    fn every_relay_option_has_a_flag_an_effective_configuration_entry_and_docs() {
        let command = arguments::<RelayArgs>();
        let cli = Cli::try_parse_from([
            "eoshost",
            "relay",
            "--postgres-url",
            "postgres://app@db/shop",
            "--outbox-table",
            "outbox",
            "--output",
            "orders",
            "--plugin",
            "enrich.wasm",
            "--plugin-config",
            "k=v",
            "--schema-registry-config",
            "request.timeout.ms=5000",
        ])
        .expect("valid command line");
        let Some(Command::Relay(args)) = cli.command else { panic!("not the relay") };
        let librdkafka = [("linger.ms".to_owned(), "5".to_owned())];
        let shown = RelayArgs::shown(&RelaySettings { args: &args, librdkafka: &librdkafka });
        let docs = documented();
        assert_eq!(RelayArgs::IDS.len(), command.get_arguments().count());
        for id in RelayArgs::IDS {
            let argument = command.get_arguments().find(|a| a.get_id() == id).unwrap_or_else(|| panic!("no flag for {id}"));
            let flag = flag(argument);
            assert!(is_shown(&shown, id), "{flag} is not in the effective configuration");
            assert!(docs.contains(&format!("`{flag}")), "{flag} not in docs/options.md");
        }
    }
}
