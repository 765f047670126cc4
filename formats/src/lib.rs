//! The typed record formats eoshost reads and writes — Avro, Protobuf and
//! JSON Schema — each as a parsed [`Schema`] that decodes a record's bytes
//! to JSON text and encodes JSON text back to bytes, with one JSON mapping
//! both ways (docs/typed-records.md). No Kafka and no registry here: the
//! host fetches schemas and frames the Confluent wire format (magic byte,
//! schema id); this crate sees the bytes after the id.

pub mod avro;
/// The civil date of a day count from 1970-01-01, for the host's own
/// date texts (the sink's epoch-milliseconds conversion).
pub use avro::civil_from_days;
pub mod json_schema;
pub mod protobuf;

/// Why a record's bytes, or a plugin's JSON, do not fit a schema: where
/// (`path`, the field as `$.items[2].price`; `$` for the whole record) and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FitError {
    pub path: String,
    pub message: String,
}

impl FitError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FitError { path: path.into(), message: message.into() }
    }
}

/// Why a schema cannot be used (it does not parse, a reference is missing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

/// A schema another schema refers to, as a registry lists it: the name the
/// referring schema uses (an Avro full name, a `.proto` import path, a JSON
/// Schema `$ref` URL) and the referenced schema's text. References of
/// references come in the same list, those referred to first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub schema: String,
}

/// The three schema types of a Schema Registry (`schemaType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Avro,
    Protobuf,
    Json,
}

impl Kind {
    /// The registry's name of the type (`schemaType`).
    pub fn registry_name(self) -> &'static str {
        match self {
            Kind::Avro => "AVRO",
            Kind::Protobuf => "PROTOBUF",
            Kind::Json => "JSON",
        }
    }
}

/// A parsed schema of any of the three kinds.
#[derive(Debug)]
pub enum Schema {
    Avro(avro::AvroSchema),
    Protobuf(protobuf::ProtoSchema),
    Json(json_schema::JsonSchema),
}

impl Schema {
    /// Parses a schema's text, with the schemas it refers to.
    pub fn parse(kind: Kind, text: &str, references: &[Reference]) -> Result<Schema, SchemaError> {
        Ok(match kind {
            Kind::Avro => Schema::Avro(avro::AvroSchema::parse(text, references)?),
            Kind::Protobuf => Schema::Protobuf(protobuf::ProtoSchema::parse(text, references)?),
            Kind::Json => Schema::Json(json_schema::JsonSchema::parse(text, references)?),
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Schema::Avro(_) => Kind::Avro,
            Schema::Protobuf(_) => Kind::Protobuf,
            Schema::Json(_) => Kind::Json,
        }
    }

    /// Appends the JSON text of the record in `payload` (the bytes after the
    /// schema id; for Protobuf they start with the message-index list) to
    /// `out`.
    pub fn decode(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FitError> {
        match self {
            Schema::Avro(schema) => schema.decode(payload, out),
            Schema::Protobuf(schema) => schema.decode(payload, out),
            Schema::Json(schema) => schema.decode(payload, out),
        }
    }

    /// Appends the encoding of the JSON text `json` (the bytes that follow
    /// the schema id; for Protobuf the message-index list first) to `out`.
    pub fn encode(&self, json: &[u8], out: &mut Vec<u8>) -> Result<(), FitError> {
        match self {
            Schema::Avro(schema) => schema.encode(json, out),
            Schema::Protobuf(schema) => schema.encode(json, out),
            Schema::Json(schema) => schema.encode(json, out),
        }
    }

    /// The full name of the record (Avro) or message (Protobuf) the schema
    /// describes, for the record-name subject strategies; for JSON Schema its
    /// `title`, if any.
    pub fn record_name(&self) -> Option<String> {
        match self {
            Schema::Avro(schema) => schema.record_name(),
            Schema::Protobuf(schema) => schema.record_name(),
            Schema::Json(schema) => schema.record_name(),
        }
    }
}
