//! Log set-up and what goes into the log at start: lines on stderr (stdout
//! is data for `eoshost test`) as text — coloured only when stderr is a
//! terminal and `NO_COLOR` is unset, so log files carry no escape codes — or
//! as one JSON object a line (`--log-format json`). Level from `EOSHOST_LOG`
//! or `RUST_LOG`, `info` by default.
//!
//! Also the one line with the effective configuration, secrets redacted
//! (see [`redact_value`]): an operator can see what a pod runs with, and
//! nobody finds a password in a log collector.

use std::fmt;
use std::io::IsTerminal as _;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::LogFormat;
use crate::config::{Config, environment};

/// The format chosen by [`init`], for messages written after the
/// subscriber (the final error line of `main`).
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Installs the subscriber; later calls change nothing.
pub fn init(format: LogFormat) {
    let filter =
        environment::log_filter().and_then(|spec| EnvFilter::try_new(spec).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    if FORMAT.set(format).is_err() {
        return;
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && !environment::no_colour();
            builder.with_ansi(colour).try_init()
        }
        LogFormat::Json => builder.with_ansi(false).event_format(JsonLines).try_init(),
    };
}

/// `--log-format json`: one object a line, `timestamp`, `level`, `target`,
/// `message`, then the event's own fields by name (numbers stay numbers).
/// Written here rather than with tracing-subscriber's `json` feature, whose
/// dependencies would change feature sets under wasmtime and rebuild it.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let metadata = event.metadata();
        let mut fields = JsonFields(serde_json::Map::new());
        fields.0.insert("timestamp".into(), timestamp.into());
        fields.0.insert("level".into(), metadata.level().as_str().into());
        fields.0.insert("target".into(), metadata.target().into());
        event.record(&mut fields);
        let line = serde_json::to_string(&fields.0).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl Visit for JsonFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value).map_or_else(|| value.to_string().into(), serde_json::Value::Number);
        self.0.insert(field.name().into(), value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

/// Writes the error that ends the process: a log event when the JSON format
/// is on (so every stderr line stays JSON), else a plain `eoshost: ...` line.
pub fn fatal(message: &str) {
    match FORMAT.get() {
        Some(LogFormat::Json) => tracing::error!("{message}"),
        _ => eprintln!("eoshost: {message}"),
    }
}

/// What replaces a secret in the log.
pub const REDACTED: &str = "<redacted>";

/// librdkafka (and plugin-config) keys whose values are secrets, beyond any
/// key containing `password` or `secret`.
const SECRET_KEYS: [&str; 3] = ["ssl.key.pem", "sasl.oauthbearer.config", "sasl.jaas.config"];

/// Whether the value of `key` must not be logged.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret") || SECRET_KEYS.contains(&key.as_str())
}

/// `value` of `key` as it may appear in a log: the whole value when the key
/// is a secret, else with the `user:password@` part of every URL in it
/// replaced (`postgres://<redacted>@db:5432/app`).
pub fn redact_value(key: &str, value: &str) -> String {
    if is_secret_key(key) { REDACTED.to_owned() } else { redact_urls(value) }
}

/// Replaces the userinfo of every `scheme://userinfo@host` in `text`.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#', whitespace or ','
        // (a list of URLs); userinfo is what precedes its last '@'.
        let end = tail.find(|c: char| matches!(c, '/' | '?' | '#' | ',') || c.is_whitespace()).unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(userinfo) => {
                out.push_str(REDACTED);
                out.push_str(&tail[userinfo..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The effective configuration as `name=value` pairs, secrets redacted.
pub fn effective_configuration(config: &Config) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = vec![
        ("plugin".into(), config.chain.iter().map(|p| p.path.display().to_string()).collect::<Vec<_>>().join(",")),
        ("input".into(), config.inputs.join(",")),
        ("output".into(), config.outputs.join(",")),
        ("bootstrap-servers".into(), config.bootstrap_servers.clone()),
        ("group".into(), config.group.clone()),
        ("transactional-id".into(), config.transactional_id.clone().unwrap_or_else(|| "<host slot>".into())),
        ("static-membership".into(), if config.static_membership { "on" } else { "off" }.into()),
        (
            "group-instance-id".into(),
            match (&config.group_instance_id, config.static_membership) {
                (_, false) => "-".into(),
                (Some(id), true) => id.clone(),
                (None, true) => "<transactional id>".into(),
            },
        ),
        ("on-error".into(), format!("{:?}", config.on_error).to_ascii_lowercase()),
        ("dlq-topic".into(), config.dlq_topic.clone().unwrap_or_else(|| "-".into())),
        ("max-retries".into(), config.max_retries.to_string()),
        ("commit-interval-ms".into(), config.commit_interval.as_millis().to_string()),
        ("transaction-max-records".into(), config.transaction_max_records.to_string()),
        ("plugin-timeout-ms".into(), config.limits.call_timeout.as_millis().to_string()),
        ("plugin-memory-mb".into(), (config.limits.memory_bytes >> 20).to_string()),
        ("metrics-addr".into(), config.metrics_addr.map_or_else(|| "off".into(), |addr| addr.to_string())),
        ("connect-timeout-ms".into(), config.connect_timeout.as_millis().to_string()),
        ("log-format".into(), format!("{:?}", config.log_format).to_ascii_lowercase()),
        ("progress-interval-s".into(), config.progress_interval.map_or(0, |every| every.as_secs()).to_string()),
        ("state-topic".into(), config.state_topic.clone()),
        ("state-max-mb".into(), (config.state_max_bytes >> 20).to_string()),
        ("sink".into(), if config.postgres.is_some() { "postgres" } else { "kafka" }.into()),
    ];
    if let Some(sink) = &config.postgres {
        // The URL's password is redacted below, with every URL's userinfo.
        pairs.push(("postgres-url".into(), sink.url.clone()));
        pairs.push(("table".into(), sink.table.clone()));
    }
    for (key, value) in &config.plugin_config {
        pairs.push((format!("plugin-config.{key}"), redact_value(key, value)));
    }
    for (key, value) in &config.librdkafka {
        pairs.push((format!("X.{key}"), redact_value(key, value)));
    }
    pairs.into_iter().map(|(name, value)| (name, redact_urls(&value))).collect()
}

/// Logs [`effective_configuration`] as one info line.
pub fn log_effective_configuration(config: &Config) {
    let line: Vec<String> = effective_configuration(config).into_iter().map(|(name, value)| format!("{name}={value}")).collect();
    tracing::info!(config = %line.join(" "), "effective configuration");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_secrets_and_anything_called_password_or_secret_are_redacted() {
        for key in [
            "sasl.password",
            "ssl.key.password",
            "ssl.key.pem",
            "sasl.oauthbearer.config",
            "sasl.oauthbearer.client.secret",
            "sasl.jaas.config",
            "ssl.keystore.password",
            "API_SECRET",
        ] {
            assert_eq!(redact_value(key, "hunter2"), REDACTED, "{key}");
        }
        assert_eq!(redact_value("linger.ms", "5"), "5");
    }

    #[test]
    fn the_userinfo_of_every_url_is_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_urls("postgres://app:s3cret@db:5432/orders?sslmode=require"),
            "postgres://<redacted>@db:5432/orders?sslmode=require"
        );
        assert_eq!(redact_urls("https://host/path@x"), "https://host/path@x");
        assert_eq!(redact_urls("a://u:p@h1,b://h2,c://v:q@h3"), "a://<redacted>@h1,b://h2,c://<redacted>@h3");
        assert_eq!(redact_urls("no url here"), "no url here");
        assert_eq!(redact_urls("odd://p@ss@host"), "odd://<redacted>@host");
    }

    #[test]
    fn the_configuration_line_names_every_setting_without_their_secrets() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "eoshost",
            "--plugin",
            "enrich.wasm",
            "--input",
            "orders",
            "--output",
            "enriched",
            "-X",
            "sasl.password=hunter2",
            "-X",
            "sasl.oauthbearer.config=principal=me secret=hunter3",
            "--plugin-config",
            "lookup_url=https://svc:hunter4@lookup.internal/v1",
        ])
        .expect("valid command line");
        let config = Config::resolve(cli.run).expect("valid configuration");
        let pairs = effective_configuration(&config);
        let line: String = pairs.iter().map(|(name, value)| format!("{name}={value} ")).collect();
        for secret in ["hunter2", "hunter3", "hunter4"] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
        assert!(line.contains("X.sasl.password=<redacted>"), "{line}");
        assert!(line.contains("plugin-config.lookup_url=https://<redacted>@lookup.internal/v1"), "{line}");
        assert!(line.contains("group=eoshost-enrich"), "{line}");
    }

    #[test]
    fn the_configuration_line_names_the_sink_and_membership_with_the_database_password_redacted() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "eoshost",
            "--plugin",
            "enrich.wasm",
            "--input",
            "orders",
            "--sink",
            "postgres",
            "--postgres-url",
            "postgres://app:hunter5@db:5432/shop",
            "--table",
            "orders_rows",
            "--group-instance-id",
            "enrich-a",
        ])
        .expect("valid command line");
        let config = Config::resolve(cli.run).expect("valid configuration");
        let line: String = effective_configuration(&config).iter().map(|(name, value)| format!("{name}={value} ")).collect();
        assert!(!line.contains("hunter5"), "{line}");
        for expected in [
            "sink=postgres ",
            "postgres-url=postgres://<redacted>@db:5432/shop ",
            "table=orders_rows ",
            "static-membership=on ",
            "group-instance-id=enrich-a ",
        ] {
            assert!(line.contains(expected), "{expected} missing from {line}");
        }
    }
}
