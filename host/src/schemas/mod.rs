//! Typed records (DESIGN §1.1): how input keys and values are decoded to the
//! JSON text plugins see (`--key-format`, `--value-format`), and how outputs
//! are encoded back (`--output-*-format`, `--output-*-schema`), with schemas
//! from a Confluent-compatible Schema Registry. The formats themselves are
//! `eoshost-formats`; the registry calls are [`registry`]; the run's
//! schemas, caches and subject names are [`RecordFormats`] (`formats.rs`).

pub mod formats;
pub mod registry;
pub mod settings;
pub mod wire;

use std::path::PathBuf;

use eoshost_formats::Kind;
use serde::Deserialize;

pub use formats::{RecordFormats, Rejection, Unavailable};

/// How a key or value is written on Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// As is: the plugin gets the bytes (the default).
    #[default]
    Bytes,
    /// JSON text, checked to be JSON, handed over as is.
    Json,
    /// Avro in the Confluent wire format.
    Avro,
    /// Protobuf in the Confluent wire format (with its message indexes).
    Protobuf,
    /// JSON Schema in the Confluent wire format.
    JsonSchema,
}

impl Format {
    /// The registry's schema type of a Schema Registry format.
    pub fn kind(self) -> Option<Kind> {
        match self {
            Format::Bytes | Format::Json => None,
            Format::Avro => Some(Kind::Avro),
            Format::Protobuf => Some(Kind::Protobuf),
            Format::JsonSchema => Some(Kind::Json),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Bytes => "bytes",
            Format::Json => "json",
            Format::Avro => "avro",
            Format::Protobuf => "protobuf",
            Format::JsonSchema => "json-schema",
        }
    }
}

/// How the subject a schema is registered under is named
/// (`--subject-name-strategy`), as Confluent's serializers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectStrategy {
    /// `<topic>-key` / `<topic>-value` (TopicNameStrategy, the default).
    #[default]
    Topic,
    /// The record's full name (RecordNameStrategy).
    Record,
    /// `<topic>-<record full name>` (TopicRecordNameStrategy).
    TopicRecord,
}

/// A record's key or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Key => "key",
            Side::Value => "value",
        }
    }
}

impl SubjectStrategy {
    /// The subject of `side` of records on `topic` whose schema describes
    /// `record_name`; `Err` names what is missing.
    pub fn subject(self, topic: &str, side: Side, record_name: Option<&str>) -> Result<String, String> {
        let named = || {
            record_name.map(str::to_owned).ok_or_else(|| {
                format!(
                    "--subject-name-strategy {}: the {} schema names no record (an Avro record, a Protobuf message, a JSON Schema title)",
                    self.name(),
                    side.name()
                )
            })
        };
        match self {
            SubjectStrategy::Topic => Ok(format!("{topic}-{}", side.name())),
            SubjectStrategy::Record => named(),
            SubjectStrategy::TopicRecord => Ok(format!("{topic}-{}", named()?)),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SubjectStrategy::Topic => "topic",
            SubjectStrategy::Record => "record",
            SubjectStrategy::TopicRecord => "topic-record",
        }
    }
}

/// Every format option of a run, checked alone (the registry is reached
/// at start, by [`RecordFormats::start`]).
#[derive(Debug, Clone, Default)]
pub struct FormatSpec {
    pub key: Format,
    pub value: Format,
    pub output_key: Format,
    pub output_value: Format,
    pub output_key_schema: Option<PathBuf>,
    pub output_value_schema: Option<PathBuf>,
    pub strategy: SubjectStrategy,
    pub registry_url: Option<String>,
    /// `--schema-registry-config` pairs, `@FILE` values read.
    pub registry_config: Vec<(String, String)>,
}

impl FormatSpec {
    /// Whether any key or value is decoded or encoded (else records pass
    /// as bytes, at no cost).
    pub fn typed(&self) -> bool {
        [self.key, self.value, self.output_key, self.output_value].iter().any(|f| *f != Format::Bytes)
    }

    /// Whether a Schema Registry is needed.
    pub fn needs_registry(&self) -> bool {
        [self.key, self.value, self.output_key, self.output_value].iter().any(|f| f.kind().is_some())
    }

    /// The format and schema file of one output side.
    pub fn output(&self, side: Side) -> (Format, Option<&PathBuf>) {
        match side {
            Side::Key => (self.output_key, self.output_key_schema.as_ref()),
            Side::Value => (self.output_value, self.output_value_schema.as_ref()),
        }
    }

    /// The input format of one side.
    pub fn input(&self, side: Side) -> Format {
        match side {
            Side::Key => self.key,
            Side::Value => self.value,
        }
    }

    /// `--schema-registry-url` is an HTTP(S) URL.
    pub fn check_url(&self) -> Result<(), String> {
        match &self.registry_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => Err(format!(
                "--schema-registry-url {}: give an http:// or https:// URL, e.g. http://127.0.0.1:58081/apis/ccompat/v7",
                crate::redact::urls(url)
            )),
            _ => Ok(()),
        }
    }

    /// The rules between the format options: a schema file needs a
    /// Schema Registry format, a Schema Registry format needs the URL.
    pub fn check(&self) -> Result<(), String> {
        self.check_schema_files()?;
        self.check_url()?;
        if self.needs_registry() && self.registry_url.is_none() {
            return Err("avro, protobuf and json-schema formats need --schema-registry-url (the base URL Confluent \
                        clients take, e.g. http://127.0.0.1:58081/apis/ccompat/v7)"
                .to_owned());
        }
        Ok(())
    }

    /// A schema file is given only for a Schema Registry format (all that
    /// `eoshost test` checks besides the URL: it needs no registry).
    pub fn check_schema_files(&self) -> Result<(), String> {
        for side in [Side::Key, Side::Value] {
            let (format, schema) = self.output(side);
            if schema.is_some() && format.kind().is_none() {
                return Err(format!(
                    "--output-{}-schema applies to --output-{}-format avro, protobuf or json-schema (it is {})",
                    side.name(),
                    side.name(),
                    format.name()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_three_strategies() {
        assert_eq!(SubjectStrategy::Topic.subject("orders", Side::Value, Some("a.Order")).unwrap(), "orders-value");
        assert_eq!(SubjectStrategy::Topic.subject("orders", Side::Key, None).unwrap(), "orders-key");
        assert_eq!(SubjectStrategy::Record.subject("orders", Side::Value, Some("a.Order")).unwrap(), "a.Order");
        assert_eq!(SubjectStrategy::TopicRecord.subject("orders", Side::Value, Some("a.Order")).unwrap(), "orders-a.Order");
        assert!(SubjectStrategy::Record.subject("orders", Side::Value, None).unwrap_err().contains("names no record"));
    }

    #[test]
    fn a_registry_format_without_a_url_is_refused() {
        let spec = FormatSpec { value: Format::Avro, output_value: Format::Avro, ..Default::default() };
        assert!(spec.check().unwrap_err().contains("--schema-registry-url"));
        let spec = FormatSpec { output_value_schema: Some("o.avsc".into()), ..Default::default() };
        assert!(spec.check().unwrap_err().contains("--output-value-schema applies"));
        let spec = FormatSpec { registry_url: Some("127.0.0.1:58081".into()), ..Default::default() };
        assert!(spec.check().unwrap_err().contains("http:// or https://"));
    }
}
