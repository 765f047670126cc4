//! Log set-up and what goes into the log at start: lines on stderr (stdout
//! is data for `eoshost test`) as text — coloured only when stderr is a
//! terminal and `NO_COLOR` is unset, so log files carry no escape codes — or
//! as one JSON object a line (`--log-format json`). Level from `EOSHOST_LOG`
//! or `RUST_LOG`, `info` by default.
//!
//! Also the one line with the effective configuration, secrets redacted
//! (see [`redact::value`]): an operator can see what a pod runs with, and
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

use crate::cli::{LogFormat, PipelineOptions, RelayArgs, RelaySettings};
use crate::config::options::Shown;
use crate::config::{Config, environment};
use crate::redact;

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

/// The pipeline's effective configuration as `name=value` pairs, secrets
/// redacted: each option's `show` in the table of `cli.rs`.
pub fn effective_configuration(config: &Config) -> Vec<(String, String)> {
    redacted(PipelineOptions::shown(config))
}

/// Logs [`effective_configuration`] as one info line.
pub fn log_effective_configuration(config: &Config) {
    log_configuration(effective_configuration(config));
}

/// The relay's effective configuration as `name=value` pairs, secrets
/// redacted; `librdkafka` is what `-X` and the environment resolved to.
pub fn relay_configuration(args: &RelayArgs, librdkafka: &[(String, String)]) -> Vec<(String, String)> {
    redacted(RelayArgs::shown(&RelaySettings { args, librdkafka }))
}

/// Logs [`relay_configuration`] as one info line.
pub fn log_relay_configuration(args: &RelayArgs, librdkafka: &[(String, String)]) {
    log_configuration(relay_configuration(args, librdkafka));
}

/// Options by id as `name=value` pairs (the id in kebab case), then their
/// key-value pairs (`X.linger.ms=5`), each value through [`redact::value`]
/// under its option's name or its pair's key.
fn redacted(options: Vec<(&'static str, Shown)>) -> Vec<(String, String)> {
    let mut values = Vec::new();
    let mut pairs = Vec::new();
    for (id, shown) in options {
        match shown {
            Shown::Value(value) => {
                let name = id.replace('_', "-");
                let value = redact::value(&name, &value);
                values.push((name, value));
            }
            Shown::Pairs(prefix, list) => {
                pairs.extend(list.into_iter().map(|(key, value)| (format!("{prefix}.{key}"), redact::value(&key, &value))));
            }
            Shown::Absent => {}
        }
    }
    values.extend(pairs);
    values
}

fn log_configuration(pairs: Vec<(String, String)>) {
    let line: Vec<String> = pairs.into_iter().map(|(name, value)| format!("{name}={value}")).collect();
    tracing::info!(config = %line.join(" "), "effective configuration");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_line_names_every_setting_without_their_secrets() {
        let config = Config::from_args(&[
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
        .expect("valid configuration");

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
        let config = Config::from_args(&[
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
        .expect("valid configuration");

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

    #[test]
    fn the_relay_configuration_line_redacts_x_secrets_and_the_database_password() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "eoshost",
            "relay",
            "--postgres-url",
            "postgres://app:hunter6@db:5432/shop",
            "--outbox-table",
            "outbox",
            "--output",
            "orders",
            "-X",
            "sasl.password=hunter7",
            "-X",
            "sasl.username=relay",
        ])
        .expect("valid command line");
        let Some(crate::cli::Command::Relay(args)) = cli.command else { panic!("not the relay") };
        let librdkafka = crate::config::librdkafka_settings(Default::default(), &args.librdkafka).expect("valid -X");
        let line: String =
            relay_configuration(&args, &librdkafka).iter().map(|(name, value)| format!("{name}={value} ")).collect();
        for secret in ["hunter6", "hunter7"] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
        for expected in [
            "postgres-url=postgres://<redacted>@db:5432/shop ",
            "X.sasl.password=<redacted> ",
            "X.sasl.username=relay ",
            "outbox-table=outbox ",
            "progress-topic=eoshost.relay.outbox ",
            "bootstrap-servers=127.0.0.1:9092 ",
            "on-error=- ",
        ] {
            assert!(line.contains(expected), "{expected} missing from {line}");
        }
    }
}
