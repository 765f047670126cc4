//! Protobuf records as JSON text: a `.proto` schema compiled once (with its
//! imports) into descriptors, then per record the Confluent message-index
//! list and the message bytes decoded to proto3 canonical JSON, and a
//! plugin's JSON encoded back (docs/typed-records.md says what JSON a
//! plugin sees).
//!
//! Two choices depart from the canonical mapping's defaults: field names are
//! the `.proto` names (`use_proto_field_name`), and every field is written,
//! default values included (`skip_default_fields(false)`), so a plugin sees
//! the same keys in every record. Encoding ignores JSON members the schema
//! does not know (`deny_unknown_fields(false)`), as the Avro codec does, so a
//! plugin that writes a newer version's fields can still write with an older
//! output schema.

mod compile;
mod message_index;
mod wire_path;

use std::fmt;

use prost_reflect::prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};

use crate::json_schema::json_path::{self, Step};
use crate::{FitError, Reference, SchemaError};
use message_index::MessageTypes;

/// How records become JSON: proto field names, every field written.
const TO_JSON: SerializeOptions = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(false);

/// How JSON becomes records: unknown members ignored (schema evolution).
const FROM_JSON: DeserializeOptions = DeserializeOptions::new().deny_unknown_fields(false);

/// How JSON is read first: an enum name the schema does not know is an
/// error (the lenient reading would make it the enum's default, silently);
/// only a record with a member the schema does not know is read again with
/// [`FROM_JSON`].
const STRICT: DeserializeOptions = DeserializeOptions::new().deny_unknown_fields(true);

/// A parsed Protobuf schema: the message type it writes (the file's first
/// top-level message) and every message type a record may name to be read.
pub struct ProtoSchema {
    written: MessageDescriptor,
    types: MessageTypes,
    canonical: String,
}

impl fmt::Debug for ProtoSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtoSchema").field("message", &self.written.full_name()).finish_non_exhaustive()
    }
}

impl ProtoSchema {
    /// Compiles the `.proto` text; `references` are the files it imports,
    /// each under the path its `import` statement names. The
    /// `google/protobuf/*.proto` well-known files need no reference.
    pub fn parse(text: &str, references: &[Reference]) -> Result<Self, SchemaError> {
        let file = compile::compile(text, references)?;
        let types = MessageTypes::of_file(&file);
        let written =
            types.first().cloned().ok_or_else(|| SchemaError("protobuf schema: the file defines no message".to_owned()))?;
        Ok(ProtoSchema { written, types, canonical: compile::canonical(&file) })
    }

    /// Appends the JSON text of the record in `payload` (message-index list,
    /// then the message) to `out`. On error `out` is left as it was.
    pub fn decode(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FitError> {
        let (message, bytes) = self.types.read(payload)?;
        let record = DynamicMessage::decode(message.clone(), bytes)
            .map_err(|error| FitError::new(wire_path::locate(message, bytes), error.to_string()))?;
        let start = out.len();
        let written = record.serialize_with_options(&mut serde_json::Serializer::new(&mut *out), &TO_JSON);
        written.map_err(|error| {
            out.truncate(start);
            FitError::new("$", format!("protobuf record has no JSON form: {error}"))
        })
    }

    /// Appends the message-index list of the schema's message and the
    /// encoding of the plugin's JSON `json` as that message to `out`. On
    /// error `out` is left as it was.
    pub fn encode(&self, json: &[u8], out: &mut Vec<u8>) -> Result<(), FitError> {
        let read = |options: &DeserializeOptions| {
            let mut deserializer = serde_json::Deserializer::from_slice(json);
            DynamicMessage::deserialize_with_options(self.written.clone(), &mut deserializer, options)
                .and_then(|record| deserializer.end().map(|()| record))
        };
        let record = match read(&STRICT) {
            Ok(record) => record,
            Err(error) if error.to_string().contains("unrecognized field name") => {
                read(&FROM_JSON).map_err(|_| self.locate_json_error(json, &FROM_JSON))?
            }
            Err(_) => return Err(self.locate_json_error(json, &STRICT)),
        };
        let start = out.len();
        message_index::write_first(out);
        record.encode(out).map_err(|error| {
            out.truncate(start);
            FitError::new("$", error.to_string())
        })
    }

    /// The full name (`package.Message`) of the message the schema writes.
    pub fn record_name(&self) -> Option<String> {
        Some(self.written.full_name().to_owned())
    }

    /// The schema's normalised form, equal for two schemas exactly when
    /// they compile to the same descriptors: the `FileDescriptorSet` of the
    /// file and of every file it imports, without source positions, in
    /// base64. Unlike the text, it ignores whitespace, comments and how a
    /// type is spelled; unlike the main file's descriptor alone, it changes
    /// when an imported file does.
    pub fn canonical(&self) -> String {
        self.canonical.clone()
    }

    /// The JSON `json` failed to deserialize: do it again, tracking where,
    /// for the error's path. Only failing records pay for the tracking.
    fn locate_json_error(&self, json: &[u8], options: &DeserializeOptions) -> FitError {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let mut track = serde_path_to_error::Track::new();
        let tracked = serde_path_to_error::Deserializer::new(&mut deserializer, &mut track);
        let error = match DynamicMessage::deserialize_with_options(self.written.clone(), tracked, options) {
            Err(error) => error,
            Ok(_) => match deserializer.end() {
                Err(error) => return FitError::new("$", error.to_string()),
                Ok(()) => return FitError::new("$", "the JSON does not fit the message"),
            },
        };
        let mut steps = Vec::new();
        for segment in &track.path() {
            steps.push(match segment {
                serde_path_to_error::Segment::Seq { index } => Step::Index(*index),
                serde_path_to_error::Segment::Map { key } => Step::Key(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Step::Key(variant.clone()),
                serde_path_to_error::Segment::Unknown => break,
            });
        }
        json_path::fit_error(&steps, error)
    }
}
