//! The validated pipeline configuration: command line and environment (already
//! merged by clap) over the TOML file over the defaults, each option checked
//! alone (declared in `cli.rs`, see [`options`]), then the rules between
//! options in [`Config::resolve`]. Settings that would break exactly-once are
//! refused here, by name. The rest of the environment is read in
//! [`environment`] only.

pub mod environment;
pub mod options;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{LogFormat, OnError, PipelineFile, RunArgs, SinkKind, Switch, parse_pair};
use crate::failure::Failure;
use crate::kafka::secrets;
use crate::plugin::{PluginSpec, SandboxLimits, assign_config};
use crate::schemas::FormatSpec;
use crate::sink::columns::{ColumnsMode, ColumnsSpec, WriteMode};
use options::KeyValues;

/// Everything the pipeline needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The first plugin of the chain (what the default group is named after).
    pub plugin: PathBuf,
    /// Every plugin, in order, each with its own `--plugin-config` pairs.
    pub chain: Vec<PluginSpec>,
    pub inputs: Vec<String>,
    /// The first is the default output.
    pub outputs: Vec<String>,
    pub bootstrap_servers: String,
    pub group: String,
    /// `None`: take the lowest free slot on this host (see `kafka::slot`).
    pub transactional_id: Option<String>,
    /// `--group-instance-id`; `None`: the transactional id (`kafka::membership`).
    pub group_instance_id: Option<String>,
    /// `--static-membership on` (the default).
    pub static_membership: bool,
    pub plugin_config: Vec<(String, String)>,
    pub on_error: OnError,
    /// Set exactly when `on_error` is `Dlq`.
    pub dlq_topic: Option<String>,
    pub max_retries: u32,
    pub commit_interval: Duration,
    pub transaction_max_records: usize,
    pub limits: SandboxLimits,
    /// `--state-topic`: the changelog of stateful plugins.
    pub state_topic: String,
    /// `--state-max-mb`, in bytes.
    pub state_max_bytes: usize,
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub connect_timeout: Duration,
    /// `-X` properties (file first, command line over it), in order.
    pub librdkafka: Vec<(String, String)>,
    pub log_format: LogFormat,
    /// How often a progress line is logged; `None` when turned off (`0`).
    pub progress_interval: Option<Duration>,
    /// `--table NAME=TOPIC`: the tables plugins look up.
    pub tables: Vec<crate::tables::TableSpec>,
    /// `--table-max-mb`, in bytes.
    pub table_max_bytes: usize,
    /// `--sink postgres`: outputs become rows of this table (§1.7) instead
    /// of records on `outputs`, which is then an optional allow-list.
    pub postgres: Option<PostgresSink>,
    /// Typed keys and values: formats, output schemas, the registry.
    pub formats: FormatSpec,
}

/// Where `--sink postgres` writes.
#[derive(Debug, Clone)]
pub struct PostgresSink {
    pub url: String,
    pub table: String,
    /// `--columns auto`: into the user's own table, so; `None`: the
    /// landing table.
    pub columns: Option<ColumnsSpec>,
}

/// `--columns`, `--write`, `--key-columns` and `--delete-on-tombstone`
/// checked together.
fn resolve_columns(
    columns: ColumnsMode,
    write: WriteMode,
    key_columns: Vec<String>,
    delete_on_tombstone: bool,
) -> Result<Option<ColumnsSpec>, Failure> {
    let key_columns: Vec<String> = key_columns.into_iter().filter(|c| !c.is_empty()).collect();
    if columns == ColumnsMode::None {
        if write != WriteMode::Insert || !key_columns.is_empty() || delete_on_tombstone {
            return Err(Failure::usage(
                "--write, --key-columns and --delete-on-tombstone apply to --columns auto only (the sink into your \
                 own table); add --columns auto or drop them",
            ));
        }
        return Ok(None);
    }
    if key_columns.is_empty() && write == WriteMode::Upsert {
        return Err(Failure::usage("--write upsert needs --key-columns: the columns of the unique key to upsert on"));
    }
    if key_columns.is_empty() && delete_on_tombstone {
        return Err(Failure::usage("--delete-on-tombstone needs --key-columns: the columns a tombstone's key gives"));
    }
    Ok(Some(ColumnsSpec { write, key_columns, delete_on_tombstone }))
}

/// `--sink`, `--postgres-url`, `--table` and `--columns` checked together.
fn resolve_sink(
    kind: SinkKind,
    url: Option<String>,
    table: Option<String>,
    columns: Option<ColumnsSpec>,
) -> Result<Option<PostgresSink>, Failure> {
    if columns.is_some() && kind != SinkKind::Postgres {
        return Err(Failure::usage("--columns auto applies to --sink postgres only; add --sink postgres or drop it"));
    }
    match (kind, url, table) {
        (SinkKind::Postgres, Some(url), Some(table)) if !table.is_empty() => Ok(Some(PostgresSink { url, table, columns })),
        (SinkKind::Postgres, None, _) => {
            Err(Failure::usage("--sink postgres needs --postgres-url, e.g. postgres://user@127.0.0.1:5432/db"))
        }
        (SinkKind::Postgres, Some(_), _) => Err(Failure::usage("--sink postgres needs --table: the table to write rows to")),
        (SinkKind::Kafka, None, None) => Ok(None),
        (SinkKind::Kafka, _, _) => {
            Err(Failure::usage("--postgres-url and --table apply to --sink postgres only; add --sink postgres or drop them"))
        }
    }
}

/// librdkafka settings that would silently break exactly-once, with the
/// values that keep it. `-X` may repeat them only with a safe value.
const GUARDED: [(&str, &[&str]); 4] = [
    ("enable.auto.commit", &["false"]),
    ("isolation.level", &["read_committed"]),
    ("acks", &["all", "-1"]),
    ("enable.idempotence", &["true"]),
];

/// Set by eoshost itself; an `-X` for them is refused rather than ignored.
const OWNED: [&str; 5] = ["group.id", "transactional.id", "group.instance.id", "bootstrap.servers", "enable.auto.offset.store"];

fn read_file(path: &Path) -> Result<PipelineFile, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::usage(format!("cannot read --config {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| Failure::usage(format!("--config {}: {e}", path.display())))
}

/// The librdkafka properties every Kafka client of a run gets, in order
/// (the last setting of a key wins): the TOML file's `[librdkafka]` table,
/// then `EOSHOST_LIBRDKAFKA_*` variables, then `-X` (`raw`, `KEY=VALUE`);
/// `@FILE` values read from their files; settings that would break
/// exactly-once refused. The pipeline, the sink and the relay all resolve
/// `-X` here.
pub fn librdkafka_settings(file: BTreeMap<String, String>, raw: &[String]) -> Result<Vec<(String, String)>, Failure> {
    let mut librdkafka: Vec<(String, String)> = file.into_iter().collect();
    librdkafka.extend(environment::librdkafka_properties());
    for raw in raw {
        librdkafka.push(parse_pair("-X", raw).map_err(Failure::usage)?);
    }
    secrets::resolve_files(&mut librdkafka).map_err(Failure::usage)?;
    check_librdkafka(&librdkafka)?;
    Ok(librdkafka)
}

/// The Schema Registry client settings of a run, in order (the last
/// setting of a key wins): the TOML file's `[schema-registry-config]` table,
/// the `EOSHOST_SCHEMA_REGISTRY_*` variables, then `--schema-registry-config`
/// as given (`raw`), `@FILE` values read. Keys are checked when the client
/// is made. The pipeline, the relay and `eoshost test` take them so.
pub fn schema_registry_settings(file: BTreeMap<String, String>, raw: &[String]) -> Result<Vec<(String, String)>, Failure> {
    let mut settings: Vec<(String, String)> = file.into_iter().collect();
    settings.extend(environment::registry_settings());
    for raw in raw {
        settings.push(parse_pair("--schema-registry-config", raw).map_err(Failure::usage)?);
    }
    secrets::resolve_files(&mut settings).map_err(Failure::usage)?;
    Ok(settings)
}

/// Check of `--schema-registry-config`: [`schema_registry_settings`] of the
/// `[schema-registry-config]` table and the flags.
pub fn registry_pairs(_flag: &str, pairs: KeyValues) -> Result<Vec<(String, String)>, Failure> {
    schema_registry_settings(pairs.file, &pairs.given)
}

/// Check of `-X`: [`librdkafka_settings`] of the `[librdkafka]` table and `-X`.
pub fn librdkafka_pairs(_flag: &str, pairs: KeyValues) -> Result<Vec<(String, String)>, Failure> {
    librdkafka_settings(pairs.file, &pairs.given)
}

/// The value of librdkafka property `key` among `pairs` as the clients get
/// it (the last setting wins), when set and readable as a `T`.
pub fn librdkafka_value<T: std::str::FromStr>(pairs: &[(String, String)], key: &str) -> Option<T> {
    pairs.iter().rev().find(|(k, _)| k == key).and_then(|(_, value)| value.parse().ok())
}

fn check_librdkafka(pairs: &[(String, String)]) -> Result<(), Failure> {
    for (key, value) in pairs {
        if let Some((_, safe)) = GUARDED.iter().find(|(guarded, _)| guarded == key)
            && !safe.contains(&value.to_ascii_lowercase().as_str())
        {
            return Err(Failure::usage(format!(
                "-X {key}={value} would break exactly-once; eoshost requires {key}={}. Remove the setting",
                safe[0]
            )));
        }
        if OWNED.contains(&key.as_str()) {
            return Err(Failure::usage(format!(
                "-X {key} is set by eoshost; use the matching eoshost option (--bootstrap-servers, --group, --transactional-id, --group-instance-id) instead"
            )));
        }
    }
    Ok(())
}

impl Config {
    /// The value of librdkafka property `key` as the clients get it (the
    /// last `-X`, environment or file setting wins), when set and readable
    /// as a `T`.
    pub fn librdkafka_value<T: std::str::FromStr>(&self, key: &str) -> Option<T> {
        librdkafka_value(&self.librdkafka, key)
    }

    /// Merges the layers and validates. Errors are usage errors (exit 2).
    pub fn resolve(args: RunArgs) -> Result<Config, Failure> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => PipelineFile::default(),
        };
        let options = args.options.over(file)?;

        // The rules between options; each error names every option involved.
        let Some(plugins) = options.plugin.filter(|plugins| !plugins.is_empty()) else {
            return Err(Failure::usage(
                "--plugin is required: the WebAssembly component to run (or `eoshost test|inspect --help`)",
            ));
        };
        let plugin = plugins[0].clone();
        let inputs: Vec<String> = options.input.unwrap_or_default().into_iter().filter(|t| !t.is_empty()).collect();
        let outputs: Vec<String> = options.output.unwrap_or_default().into_iter().filter(|t| !t.is_empty()).collect();
        if inputs.is_empty() {
            return Err(Failure::usage("--input is required: the topic(s) to read, comma-separated"));
        }
        let columns = resolve_columns(
            options.columns,
            options.write,
            options.key_columns.unwrap_or_default(),
            options.delete_on_tombstone,
        )?;
        let postgres = resolve_sink(options.sink, options.postgres_url, options.table.sink_table, columns)?;
        let tables = options.table.tables;
        if outputs.is_empty() && postgres.is_none() {
            return Err(Failure::usage("--output is required: the topic(s) the plugin may write to, comma-separated"));
        }
        if let Some(both) = inputs.iter().find(|t| outputs.contains(t)) {
            return Err(Failure::usage(format!(
                "topic \"{both}\" is both --input and --output; eoshost would read its own outputs forever"
            )));
        }

        let plugin_config = options.plugin_config;
        let chain = assign_config(&plugins, plugin_config.clone()).map_err(Failure::usage)?;
        let librdkafka = options.librdkafka;

        let on_error = options.on_error;
        let dlq_topic = match on_error {
            OnError::Dlq => Some(options.dlq_topic.unwrap_or_else(|| format!("{}.dlq", inputs[0]))),
            _ if options.dlq_topic.is_some() => {
                return Err(Failure::usage(
                    "--dlq-topic is set but --on-error is not dlq; add --on-error dlq or drop --dlq-topic",
                ));
            }
            _ => None,
        };
        if let Some(dlq) = &dlq_topic
            && (inputs.contains(dlq) || outputs.contains(dlq))
        {
            return Err(Failure::usage(format!("the dead-letter topic \"{dlq}\" must not be an --input or --output topic")));
        }

        // A chain is named after all its plugins: eoshost-enrich-router.
        let group = options
            .group
            .unwrap_or_else(|| format!("eoshost-{}", chain.iter().map(PluginSpec::name).collect::<Vec<_>>().join("-")));
        // Under KIP-848 (`group.protocol=consumer`) the coordinator refuses a
        // static member's restart with UNRELEASED_INSTANCE_ID (fatal) until
        // the crashed predecessor's session expires: off unless asked for.
        let consumer_protocol =
            librdkafka_value::<String>(&librdkafka, "group.protocol").is_some_and(|value| value == "consumer");
        let static_membership = match options.static_membership {
            Some(switch) => switch == Switch::On,
            None => !consumer_protocol,
        };
        let group_instance_id = options.group_instance_id;
        if group_instance_id.is_some() && !static_membership {
            return Err(Failure::usage(
                "--group-instance-id is set but --static-membership is off (the default with -X group.protocol=consumer); \
                 drop --group-instance-id or add --static-membership on",
            ));
        }
        let state_topic = options.state_topic.unwrap_or_else(|| format!("{group}.state"));
        if inputs.contains(&state_topic) || outputs.contains(&state_topic) || dlq_topic.as_ref() == Some(&state_topic) {
            return Err(Failure::usage(format!(
                "the state topic \"{state_topic}\" must not be an --input, --output or dead-letter topic; name another \
                 with --state-topic"
            )));
        }

        // Outputs are written as the inputs are read, unless they become
        // rows: the sink takes the plugin's JSON as it is.
        let as_input = |format: crate::schemas::Format| if postgres.is_some() { crate::schemas::Format::Bytes } else { format };
        let formats = FormatSpec {
            key: options.key_format,
            value: options.value_format,
            output_key: options.output_key_format.unwrap_or(as_input(options.key_format)),
            output_value: options.output_value_format.unwrap_or(as_input(options.value_format)),
            output_key_schema: options.output_key_schema,
            output_value_schema: options.output_value_schema,
            strategy: options.subject_name_strategy,
            registry_url: options.schema_registry_url,
            registry_config: options.schema_registry_config,
        };
        formats.check().map_err(Failure::usage)?;
        if postgres.is_some() && (formats.output_key.kind().is_some() || formats.output_value.kind().is_some()) {
            return Err(Failure::usage(
                "--sink postgres writes the plugin's JSON into rows: --output-key-format and --output-value-format \
                 apply to Kafka outputs only (give --output-value-format json or bytes, or drop them)",
            ));
        }

        Ok(Config {
            formats,
            plugin,
            chain,
            inputs,
            outputs,
            bootstrap_servers: options.bootstrap_servers,
            group,
            transactional_id: options.transactional_id,
            group_instance_id,
            static_membership,
            plugin_config,
            on_error,
            dlq_topic,
            max_retries: options.max_retries,
            commit_interval: Duration::from_millis(options.commit_interval_ms),
            transaction_max_records: options.transaction_max_records,
            limits: SandboxLimits {
                call_timeout: Duration::from_millis(options.plugin_timeout_ms),
                memory_bytes: (options.plugin_memory_mb as usize) << 20,
                ..SandboxLimits::default()
            },
            state_topic,
            tables,
            table_max_bytes: (options.table_max_mb as usize) << 20,
            state_max_bytes: (options.state_max_mb as usize) << 20,
            metrics_addr: options.metrics_addr,
            connect_timeout: Duration::from_millis(options.connect_timeout_ms),
            librdkafka,
            log_format: options.log_format,
            progress_interval: match options.progress_interval_s {
                0 => None,
                seconds => Some(Duration::from_secs(seconds)),
            },
            postgres,
        })
    }
}

#[cfg(test)]
impl Config {
    /// The configuration of `eoshost ARGS…`, for unit tests (the command
    /// line itself must parse).
    pub(crate) fn from_args(args: &[&str]) -> Result<Config, Failure> {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(std::iter::once("eoshost").chain(args.iter().copied()))
            .expect("a command line clap accepts");
        Config::resolve(cli.run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str]) -> Result<Config, Failure> {
        Config::from_args(args)
    }

    fn message(result: Result<Config, Failure>) -> String {
        let failure = result.unwrap_err();
        assert_eq!(failure.exit_code(), 2);
        failure.to_string()
    }

    #[test]
    fn defaults_follow_the_design() {
        let config = resolve(&["--plugin", "p/enrich.wasm", "--input", "orders", "--output", "enriched,audit"]).unwrap();
        assert_eq!(config.group, "eoshost-enrich");
        assert_eq!(config.bootstrap_servers, "127.0.0.1:9092");
        assert_eq!(config.outputs, ["enriched", "audit"]);
        assert_eq!(config.on_error, OnError::Fail);
        assert_eq!(config.max_retries, 3);
        assert_eq!(config.commit_interval, Duration::from_millis(100));
        assert_eq!(config.limits.call_timeout, Duration::from_millis(1000));
        assert_eq!(config.limits.memory_bytes, 64 << 20);
        assert_eq!(config.dlq_topic, None);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.progress_interval, Some(Duration::from_secs(10)));
        assert_eq!(config.state_topic, "eoshost-enrich.state");
        assert_eq!(config.state_max_bytes, 256 << 20);
    }

    #[test]
    fn log_format_and_progress_interval_come_from_the_command_line_and_zero_turns_progress_off() {
        let config = resolve(&[
            "--plugin",
            "x.wasm",
            "--input",
            "a",
            "--output",
            "b",
            "--log-format",
            "json",
            "--progress-interval-s",
            "0",
        ])
        .unwrap();
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.progress_interval, None);
    }

    #[test]
    fn the_transaction_timeout_read_back_is_the_one_the_producer_gets() {
        use crate::kafka::client::{producer_config, transaction_timeout};
        let base = ["--plugin", "x.wasm", "--input", "a", "--output", "b"];
        for (extra, millis) in [(&[][..], "30000"), (&["-X", "transaction.timeout.ms=120000"][..], "120000")] {
            let config = resolve(&[&base[..], extra].concat()).unwrap();
            let producer = producer_config(&config.bootstrap_servers, &config.librdkafka, "t");
            assert_eq!(producer.get("transaction.timeout.ms"), Some(millis));
            assert_eq!(transaction_timeout(&config), Duration::from_millis(millis.parse().unwrap()));
        }
    }

    #[test]
    fn static_membership_is_on_by_default_and_its_id_is_not_an_x_property() {
        let base = ["--plugin", "x.wasm", "--input", "a", "--output", "b"];
        let config = resolve(&base).unwrap();
        assert!(config.static_membership);
        assert_eq!(config.group_instance_id, None);
        let off = resolve(&[&base[..], &["--static-membership", "off"]].concat()).unwrap();
        assert!(!off.static_membership);
        let both = message(resolve(&[&base[..], &["--static-membership", "off", "--group-instance-id", "i"]].concat()));
        assert!(both.contains("--group-instance-id") && both.contains("--static-membership"), "{both}");
        let kip848 = resolve(&[&base[..], &["-X", "group.protocol=consumer"]].concat()).unwrap();
        assert!(!kip848.static_membership, "off by default under group.protocol=consumer");
        let asked = resolve(&[&base[..], &["-X", "group.protocol=consumer", "--static-membership", "on"]].concat()).unwrap();
        assert!(asked.static_membership);
        let owned = message(resolve(&[&base[..], &["-X", "group.instance.id=i"]].concat()));
        assert!(owned.contains("--group-instance-id"), "{owned}");
    }

    #[test]
    fn the_postgres_sink_needs_url_and_table_and_no_output() {
        let config = resolve(&[
            "--plugin",
            "x.wasm",
            "--input",
            "a",
            "--sink",
            "postgres",
            "--postgres-url",
            "postgres://h/d",
            "--table",
            "t",
        ])
        .unwrap();
        let sink = config.postgres.unwrap();
        assert_eq!((sink.url.as_str(), sink.table.as_str()), ("postgres://h/d", "t"));
        assert!(
            message(resolve(&["--plugin", "x.wasm", "--input", "a", "--sink", "postgres", "--table", "t"]))
                .contains("--postgres-url")
        );
        assert!(
            message(resolve(&["--plugin", "x.wasm", "--input", "a", "--sink", "postgres", "--postgres-url", "u"]))
                .contains("--table")
        );
        assert!(
            message(resolve(&["--plugin", "x.wasm", "--input", "a", "--output", "b", "--table", "t"]))
                .contains("--sink postgres")
        );
    }

    #[test]
    fn table_name_equals_topic_is_a_lookup_table_and_a_bare_name_the_sink_table() {
        let base = ["--plugin", "x.wasm", "--input", "a", "--output", "b"];
        let config = resolve(&[&base[..], &["--table", "customers=crm.customers", "--table", "products=p"]].concat()).unwrap();
        let tables: Vec<(&str, &str)> = config.tables.iter().map(|t| (t.name.as_str(), t.source.as_str())).collect();
        assert_eq!(tables, [("customers", "crm.customers"), ("products", "p")]);
        assert!(config.postgres.is_none());
        assert_eq!(config.table_max_bytes, (crate::defaults::TABLE_MAX_MB as usize) << 20);

        let sink = resolve(&[
            "--plugin",
            "x.wasm",
            "--input",
            "a",
            "--sink",
            "postgres",
            "--postgres-url",
            "u",
            "--table",
            "rows",
            "--table",
            "customers=c",
        ])
        .unwrap();
        assert_eq!(sink.postgres.unwrap().table, "rows");
        assert_eq!(sink.tables.len(), 1);

        assert!(message(resolve(&[&base[..], &["--table", "c=x", "--table", "c=y"]].concat())).contains("\"c\" twice"));
        assert!(message(resolve(&[&base[..], &["--table", "=x"]].concat())).contains("NAME=TOPIC"));
        assert!(message(resolve(&[&base[..], &["--table-max-mb", "0"]].concat())).contains("--table-max-mb"));
    }

    #[test]
    fn a_chain_names_its_group_after_every_plugin_and_gives_each_its_config() {
        let config = resolve(&[
            "--plugin",
            "p/enrich.wasm",
            "--plugin",
            "p/router.wasm",
            "--plugin-config",
            "router:inventory_topic=stock",
            "--input",
            "orders",
            "--output",
            "enriched,stock",
        ])
        .unwrap();
        assert_eq!(config.group, "eoshost-enrich-router");
        assert_eq!(config.state_topic, "eoshost-enrich-router.state");
        assert_eq!(config.chain.len(), 2);
        assert_eq!(config.chain[1].config, [("inventory_topic".to_owned(), "stock".to_owned())]);
        let sink = resolve(&[
            "--plugin",
            "a.wasm",
            "--plugin",
            "b.wasm",
            "--input",
            "i",
            "--sink",
            "postgres",
            "--postgres-url",
            "u",
            "--table",
            "t",
        ])
        .unwrap();
        assert_eq!(sink.chain.len(), 2, "the PostgreSQL sink runs chains too");
    }

    #[test]
    fn columns_options_need_the_postgres_sink_and_upserts_and_deletes_need_key_columns() {
        let sink = ["--plugin", "p.wasm", "--input", "i", "--sink", "postgres", "--postgres-url", "u", "--table", "orders"];
        let config = resolve(
            &[&sink[..], &["--columns", "auto", "--write", "upsert", "--key-columns", "order_id", "--delete-on-tombstone"]]
                .concat(),
        )
        .unwrap();
        let spec = config.postgres.unwrap().columns.unwrap();
        assert_eq!(
            (spec.write, spec.key_columns.as_slice(), spec.delete_on_tombstone),
            (WriteMode::Upsert, &["order_id".to_owned()][..], true)
        );
        assert!(message(resolve(&[&sink[..], &["--columns", "auto", "--write", "upsert"]].concat())).contains("--key-columns"));
        assert!(
            message(resolve(&[&sink[..], &["--columns", "auto", "--delete-on-tombstone"]].concat())).contains("--key-columns")
        );
        assert!(message(resolve(&[&sink[..], &["--write", "upsert"]].concat())).contains("--columns auto"));
        let kafka = ["--plugin", "p.wasm", "--input", "i", "--output", "o", "--columns", "auto"];
        assert!(message(resolve(&kafka)).contains("--sink postgres"));
    }

    #[test]
    fn the_state_topic_must_not_be_an_input_or_output_and_state_max_mb_must_be_positive() {
        let base = ["--plugin", "counter.wasm", "--input", "in", "--output", "out"];
        assert!(message(resolve(&[&base[..], &["--state-topic", "out"]].concat())).contains("--state-topic"));
        assert!(message(resolve(&[&base[..], &["--state-max-mb", "0"]].concat())).contains("--state-max-mb"));
        assert_eq!(resolve(&[&base[..], &["--state-topic", "counts.state"]].concat()).unwrap().state_topic, "counts.state");
    }

    #[test]
    fn dlq_topic_defaults_to_first_input_dot_dlq() {
        let config = resolve(&["--plugin", "x.wasm", "--input", "a,b", "--output", "c", "--on-error", "dlq"]).unwrap();
        assert_eq!(config.dlq_topic.as_deref(), Some("a.dlq"));
    }

    #[test]
    fn settings_that_break_exactly_once_are_refused_by_name() {
        for setting in ["enable.auto.commit=true", "isolation.level=read_uncommitted", "acks=1", "enable.idempotence=false"] {
            let text = message(resolve(&["--plugin", "x.wasm", "--input", "a", "--output", "b", "-X", setting]));
            assert!(text.contains(setting), "{text}");
        }
        resolve(&["--plugin", "x.wasm", "--input", "a", "--output", "b", "-X", "acks=all", "-X", "linger.ms=1"]).unwrap();
    }

    #[test]
    fn command_line_wins_over_file_and_file_over_default() {
        let dir = std::env::temp_dir().join(format!("eoshost-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("eoshost.toml");
        std::fs::write(
            &file,
            "plugin = \"f.wasm\"\ninput = [\"in\"]\noutput = [\"out\"]\nmax-retries = 7\ncommit-interval-ms = 50\n[librdkafka]\n\"linger.ms\" = \"20\"\n",
        )
        .unwrap();
        let config = resolve(&["--config", file.to_str().unwrap(), "--max-retries", "1"]).unwrap();
        assert_eq!(config.max_retries, 1);
        assert_eq!(config.commit_interval, Duration::from_millis(50));
        assert_eq!(config.plugin, PathBuf::from("f.wasm"));
        assert_eq!(config.librdkafka, [("linger.ms".to_owned(), "20".to_owned())]);
    }

    #[test]
    fn unknown_file_keys_and_missing_required_options_are_named() {
        let dir = std::env::temp_dir().join(format!("eoshost-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("eoshost.toml");
        std::fs::write(&file, "plugn = \"f.wasm\"\n").unwrap();
        assert!(message(resolve(&["--config", file.to_str().unwrap()])).contains("plugn"));
        assert!(message(resolve(&["--input", "a", "--output", "b"])).contains("--plugin is required"));
        assert!(message(resolve(&["--plugin", "x.wasm", "--output", "b"])).contains("--input is required"));
        assert!(message(resolve(&["--plugin", "x.wasm", "--input", "a"])).contains("--output is required"));
    }
}
