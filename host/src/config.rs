//! The validated pipeline configuration: command line and environment (already
//! merged by clap) over the TOML file over the defaults, checked as a whole.
//! Settings that would break exactly-once are refused here, by name. The rest
//! of the environment is read in [`environment`] only.

pub mod environment;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::{LogFormat, OnError, RunArgs, SinkKind, Switch, parse_pair};
use crate::defaults;
use crate::failure::Failure;
use crate::kafka::secrets;
use crate::plugin::{PluginSpec, SandboxLimits, assign_config};

/// The `--config` TOML file: the same options as the command line, in
/// kebab-case, plus librdkafka properties in a `[librdkafka]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    plugin: Option<OneOrMany>,
    input: Option<Vec<String>>,
    output: Option<Vec<String>>,
    bootstrap_servers: Option<String>,
    group: Option<String>,
    transactional_id: Option<String>,
    group_instance_id: Option<String>,
    static_membership: Option<Switch>,
    plugin_config: Option<BTreeMap<String, String>>,
    on_error: Option<OnError>,
    dlq_topic: Option<String>,
    max_retries: Option<u32>,
    commit_interval_ms: Option<u64>,
    transaction_max_records: Option<usize>,
    plugin_timeout_ms: Option<u64>,
    plugin_memory_mb: Option<u64>,
    state_topic: Option<String>,
    state_max_mb: Option<u64>,
    metrics_addr: Option<String>,
    connect_timeout_ms: Option<u64>,
    log_format: Option<LogFormat>,
    progress_interval_s: Option<u64>,
    sink: Option<SinkKind>,
    postgres_url: Option<String>,
    table: Option<String>,
    librdkafka: Option<BTreeMap<String, String>>,
}

/// `plugin = "a.wasm"` or, for a chain, `plugin = ["a.wasm", "b.wasm"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

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
    /// `--sink postgres`: outputs become rows of this table (§1.7) instead
    /// of records on `outputs`, which is then an optional allow-list.
    pub postgres: Option<PostgresSink>,
}

/// Where `--sink postgres` writes.
#[derive(Debug, Clone)]
pub struct PostgresSink {
    pub url: String,
    pub table: String,
}

/// `--sink`, `--postgres-url` and `--table` checked together.
fn resolve_sink(kind: Option<SinkKind>, url: Option<String>, table: Option<String>) -> Result<Option<PostgresSink>, Failure> {
    match (kind.unwrap_or(SinkKind::Kafka), url, table) {
        (SinkKind::Postgres, Some(url), Some(table)) if !table.is_empty() => Ok(Some(PostgresSink { url, table })),
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

fn read_file(path: &Path) -> Result<FileConfig, Failure> {
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
        self.librdkafka.iter().rev().find(|(k, _)| k == key).and_then(|(_, value)| value.parse().ok())
    }

    /// Merges the layers and validates. Errors are usage errors (exit 2).
    pub fn resolve(args: RunArgs) -> Result<Config, Failure> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let plugins = match (args.plugin, file.plugin) {
            (given, _) if !given.is_empty() => given,
            (_, Some(OneOrMany::One(path))) => vec![path],
            (_, Some(OneOrMany::Many(paths))) if !paths.is_empty() => paths,
            _ => {
                return Err(Failure::usage(
                    "--plugin is required: the WebAssembly component to run (or `eoshost test|inspect --help`)",
                ));
            }
        };
        let plugin = plugins[0].clone();
        let inputs = if args.input.is_empty() { file.input.unwrap_or_default() } else { args.input };
        let outputs = if args.output.is_empty() { file.output.unwrap_or_default() } else { args.output };
        let inputs: Vec<String> = inputs.into_iter().filter(|t| !t.is_empty()).collect();
        let outputs: Vec<String> = outputs.into_iter().filter(|t| !t.is_empty()).collect();
        if inputs.is_empty() {
            return Err(Failure::usage("--input is required: the topic(s) to read, comma-separated"));
        }
        let postgres = resolve_sink(args.sink.or(file.sink), args.postgres_url.or(file.postgres_url), args.table.or(file.table))?;
        if outputs.is_empty() && postgres.is_none() {
            return Err(Failure::usage("--output is required: the topic(s) the plugin may write to, comma-separated"));
        }
        if let Some(both) = inputs.iter().find(|t| outputs.contains(t)) {
            return Err(Failure::usage(format!(
                "topic \"{both}\" is both --input and --output; eoshost would read its own outputs forever"
            )));
        }

        let mut plugin_config: Vec<(String, String)> = file.plugin_config.unwrap_or_default().into_iter().collect();
        for raw in &args.plugin_config {
            plugin_config.push(parse_pair("--plugin-config", raw).map_err(Failure::usage)?);
        }
        let chain = assign_config(&plugins, plugin_config.clone()).map_err(Failure::usage)?;
        if chain.len() > 1 && postgres.is_some() {
            return Err(Failure::usage("a chain of plugins runs with the Kafka sink only; give --sink postgres one --plugin"));
        }
        let librdkafka = librdkafka_settings(file.librdkafka.unwrap_or_default(), &args.librdkafka)?;

        let on_error = args.on_error.or(file.on_error).unwrap_or(OnError::Fail);
        let dlq_topic = args.dlq_topic.or(file.dlq_topic);
        let dlq_topic = match on_error {
            OnError::Dlq => Some(dlq_topic.unwrap_or_else(|| format!("{}.dlq", inputs[0]))),
            _ if dlq_topic.is_some() => {
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
        let group = args
            .group
            .or(file.group)
            .unwrap_or_else(|| format!("eoshost-{}", chain.iter().map(PluginSpec::name).collect::<Vec<_>>().join("-")));
        let positive = |name: &str, value: u64| {
            if value == 0 { Err(Failure::usage(format!("--{name} must be greater than 0"))) } else { Ok(value) }
        };
        let commit_interval_ms = positive(
            "commit-interval-ms",
            args.commit_interval_ms.or(file.commit_interval_ms).unwrap_or(defaults::COMMIT_INTERVAL_MS),
        )?;
        let plugin_timeout_ms = positive(
            "plugin-timeout-ms",
            args.plugin_timeout_ms.or(file.plugin_timeout_ms).unwrap_or(defaults::PLUGIN_TIMEOUT_MS),
        )?;
        let plugin_memory_mb =
            positive("plugin-memory-mb", args.plugin_memory_mb.or(file.plugin_memory_mb).unwrap_or(defaults::PLUGIN_MEMORY_MB))?;
        let transaction_max_records = positive(
            "transaction-max-records",
            args.transaction_max_records.or(file.transaction_max_records).unwrap_or(defaults::TRANSACTION_MAX_RECORDS) as u64,
        )?;
        let connect_timeout_ms = positive(
            "connect-timeout-ms",
            args.connect_timeout_ms.or(file.connect_timeout_ms).unwrap_or(defaults::CONNECT_TIMEOUT_MS),
        )?;
        // Under KIP-848 (`group.protocol=consumer`) the coordinator refuses a
        // static member's restart with UNRELEASED_INSTANCE_ID (fatal) until
        // the crashed predecessor's session expires: off unless asked for.
        let consumer_protocol =
            librdkafka.iter().rev().find(|(key, _)| key == "group.protocol").is_some_and(|(_, value)| value == "consumer");
        let static_membership = match args.static_membership.or(file.static_membership) {
            Some(switch) => switch == Switch::On,
            None => !consumer_protocol,
        };
        let group_instance_id = args.group_instance_id.or(file.group_instance_id);
        if group_instance_id.is_some() && !static_membership {
            return Err(Failure::usage(
                "--group-instance-id is set but --static-membership is off (the default with -X group.protocol=consumer); \
                 drop --group-instance-id or add --static-membership on",
            ));
        }
        let state_topic = args.state_topic.or(file.state_topic).unwrap_or_else(|| format!("{group}.state"));
        if inputs.contains(&state_topic) || outputs.contains(&state_topic) || dlq_topic.as_ref() == Some(&state_topic) {
            return Err(Failure::usage(format!(
                "the state topic \"{state_topic}\" must not be an --input, --output or dead-letter topic; name another \
                 with --state-topic"
            )));
        }
        let state_max_mb = positive("state-max-mb", args.state_max_mb.or(file.state_max_mb).unwrap_or(defaults::STATE_MAX_MB))?;
        let metrics_addr = match args.metrics_addr.or(file.metrics_addr) {
            None => None,
            Some(raw) => Some(raw.parse().map_err(|_| {
                Failure::usage(format!("--metrics-addr \"{raw}\" is not HOST:PORT with a numeric host, e.g. 127.0.0.1:9464"))
            })?),
        };

        Ok(Config {
            plugin,
            chain,
            inputs,
            outputs,
            bootstrap_servers: args
                .bootstrap_servers
                .or(file.bootstrap_servers)
                .unwrap_or_else(|| defaults::BOOTSTRAP_SERVERS.into()),
            group,
            transactional_id: args.transactional_id.or(file.transactional_id),
            group_instance_id,
            static_membership,
            plugin_config,
            on_error,
            dlq_topic,
            max_retries: args.max_retries.or(file.max_retries).unwrap_or(defaults::MAX_RETRIES),
            commit_interval: Duration::from_millis(commit_interval_ms),
            transaction_max_records: transaction_max_records as usize,
            limits: SandboxLimits {
                call_timeout: Duration::from_millis(plugin_timeout_ms),
                memory_bytes: (plugin_memory_mb as usize) << 20,
                ..SandboxLimits::default()
            },
            state_topic,
            state_max_bytes: (state_max_mb as usize) << 20,
            metrics_addr,
            connect_timeout: Duration::from_millis(connect_timeout_ms),
            librdkafka,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            progress_interval: match args
                .progress_interval_s
                .or(file.progress_interval_s)
                .unwrap_or(defaults::PROGRESS_INTERVAL_S)
            {
                0 => None,
                seconds => Some(Duration::from_secs(seconds)),
            },
            postgres,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve(args: &[&str]) -> Result<Config, Failure> {
        let cli = crate::cli::Cli::try_parse_from(std::iter::once("eoshost").chain(args.iter().copied())).unwrap();
        Config::resolve(cli.run)
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
        let postgres = message(resolve(&[
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
        ]));
        assert!(postgres.contains("chain"), "{postgres}");
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
