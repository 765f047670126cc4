//! The Avro codec: a schema (with the schemas it references) compiled once
//! into a tree of nodes, then records decoded from Avro binary to JSON text
//! and encoded back, with one JSON mapping both ways (docs/typed-records.md).
//!
//! The datum is the Avro binary after the Confluent header (magic byte and
//! schema id), which the host strips. Decoding reads it with the writer's
//! schema; encoding writes with the output schema, so a field the JSON
//! leaves out takes the output schema's default and a member it does not
//! know is dropped — as Avro's own schema resolution does.

mod calendar;
pub use calendar::civil_from_days;
mod canonical;
mod decimal;
mod decode;
mod default;
mod encode;
mod json_reader;
mod json_shape;
mod json_text;
mod min_size;
mod node;
mod parse;
mod path;
mod uuid;
mod varint;

#[cfg(test)]
mod tests;

use crate::{FitError, Reference, SchemaError};

/// A parsed Avro schema, ready to decode and encode records.
pub struct AvroSchema {
    tree: node::Tree,
    canonical: String,
}

impl std::fmt::Debug for AvroSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroSchema").field("canonical", &self.canonical).finish()
    }
}

impl AvroSchema {
    /// Parses an Avro schema's text. `references` are the schemas whose
    /// named types it uses, in the registry's order (those referred to
    /// first); their types are known to the schema by their full names.
    pub fn parse(text: &str, references: &[Reference]) -> Result<AvroSchema, SchemaError> {
        let tree = parse::parse(text, references)?;
        let canonical = canonical::canonical_form(&tree);
        Ok(AvroSchema { tree, canonical })
    }

    /// Appends the JSON text of the Avro datum `payload`, read with this
    /// (the writer's) schema, to `out`. On failure `out` is as it was.
    pub fn decode(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FitError> {
        let start = out.len();
        decode::decode(&self.tree, payload, out).map_err(|failure| {
            out.truncate(start);
            failure.into_fit_error()
        })
    }

    /// Appends the Avro datum of the JSON text `json`, written with this
    /// (the output) schema, to `out`. On failure `out` is as it was.
    pub fn encode(&self, json: &[u8], out: &mut Vec<u8>) -> Result<(), FitError> {
        let start = out.len();
        encode::encode(&self.tree, json, out).map_err(|failure| {
            out.truncate(start);
            failure.into_fit_error()
        })
    }

    /// The full name of the schema's type if it is a record (or an enum or
    /// a fixed), for the record-name subject strategies.
    pub fn record_name(&self) -> Option<String> {
        self.tree.node(self.tree.root).full_name().map(String::from)
    }

    /// The schema's Parsing Canonical Form: equal for two schemas that read
    /// the same binary the same way (it leaves out logical types, defaults
    /// and docs, which change the JSON mapping or encoding of missing
    /// fields, not the binary).
    pub fn canonical(&self) -> String {
        self.canonical.clone()
    }
}
