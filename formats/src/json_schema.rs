//! JSON Schema records: the payload already is JSON text, so this codec
//! only checks it — valid UTF-8 JSON that the schema accepts — and passes
//! the bytes through unchanged, both ways. The schema is compiled once
//! (the `jsonschema` crate, drafts 4, 6, 7, 2019-09 and 2020-12, draft 7
//! when `$schema` says none, as Confluent's serializer assumes) with its
//! references served from memory: nothing is fetched over the network.

pub(crate) mod json_path;

use std::fmt;

use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

use crate::{FitError, Reference, SchemaError};
use json_path::Step;

/// The JSON Schema drafts this codec validates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonSchemaDraft {
    Draft4,
    Draft6,
    Draft7,
    Draft201909,
    Draft202012,
}

/// A parsed JSON Schema, compiled into a validator.
pub struct JsonSchema {
    validator: Validator,
    draft: JsonSchemaDraft,
    title: Option<String>,
    canonical: String,
}

impl fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonSchema").field("draft", &self.draft).field("title", &self.title).finish_non_exhaustive()
    }
}

impl JsonSchema {
    /// Compiles the schema text. `references` are the schemas it names in
    /// `$ref`, each under its name resolved against the schema's `$id` (or
    /// `json-schema:///` when it has none), so `"$ref": "customer.json"`
    /// finds the reference named `customer.json`.
    pub fn parse(text: &str, references: &[Reference]) -> Result<Self, SchemaError> {
        let schema: Value = serde_json::from_str(text).map_err(|error| SchemaError(format!("JSON schema: not JSON: {error}")))?;
        let (draft, ours) = detect_draft(&schema)?;
        let registry = reference_registry(&schema, draft, references)?;
        let options = jsonschema::options().with_draft(draft).offline();
        let options = match &registry {
            Some(registry) => options.with_registry(registry),
            None => options,
        };
        let validator = options.build(&schema).map_err(|error| SchemaError(format!("JSON schema: {error}")))?;
        Ok(JsonSchema {
            validator,
            draft: ours,
            title: schema.get("title").and_then(Value::as_str).map(str::to_owned),
            canonical: canonical(&schema, references)?,
        })
    }

    /// Checks that `payload` is JSON the schema accepts and appends it to
    /// `out` byte for byte.
    pub fn decode(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FitError> {
        self.check(payload)?;
        out.extend_from_slice(payload);
        Ok(())
    }

    /// Checks that the plugin's `json` is JSON the schema accepts and
    /// appends it to `out` byte for byte.
    pub fn encode(&self, json: &[u8], out: &mut Vec<u8>) -> Result<(), FitError> {
        self.check(json)?;
        out.extend_from_slice(json);
        Ok(())
    }

    /// The schema's `title`, if it has one.
    pub fn record_name(&self) -> Option<String> {
        self.title.clone()
    }

    /// The draft the schema is validated with: its `$schema`, or draft 7.
    pub fn draft(&self) -> JsonSchemaDraft {
        self.draft
    }

    /// The schema's normalised form: its JSON with object keys sorted and
    /// no whitespace, then for each reference (by name) a line with the
    /// name and a line with its normalised JSON. Formatting and key order do
    /// not change it; a change to the schema or a reference does.
    pub fn canonical(&self) -> String {
        self.canonical.clone()
    }

    fn check(&self, json: &[u8]) -> Result<(), FitError> {
        let instance: Value = serde_json::from_slice(json).map_err(|error| FitError::new("$", format!("not JSON: {error}")))?;
        self.validator.validate(&instance).map_err(|error| {
            let steps: Vec<Step> = error
                .instance_path()
                .iter()
                .map(|segment| match segment {
                    LocationSegment::Property(key) => Step::Key(key.into_owned()),
                    LocationSegment::Index(index) => Step::Index(index),
                })
                .collect();
            json_path::fit_error(&steps, error)
        })
    }
}

/// The draft `$schema` names, draft 7 when it names none; an unknown
/// meta-schema is refused rather than guessed at.
fn detect_draft(schema: &Value) -> Result<(Draft, JsonSchemaDraft), SchemaError> {
    match Draft::Draft7.detect(schema) {
        Draft::Draft4 => Ok((Draft::Draft4, JsonSchemaDraft::Draft4)),
        Draft::Draft6 => Ok((Draft::Draft6, JsonSchemaDraft::Draft6)),
        Draft::Draft7 => Ok((Draft::Draft7, JsonSchemaDraft::Draft7)),
        Draft::Draft201909 => Ok((Draft::Draft201909, JsonSchemaDraft::Draft201909)),
        Draft::Draft202012 => Ok((Draft::Draft202012, JsonSchemaDraft::Draft202012)),
        _ => Err(SchemaError(format!(
            "JSON schema: unsupported $schema {} (drafts 4, 6, 7, 2019-09 and 2020-12 are)",
            schema.get("$schema").unwrap_or(&Value::Null)
        ))),
    }
}

/// The references as resources, each under its name resolved against the
/// schema's base URI; `None` when there are none.
fn reference_registry(schema: &Value, draft: Draft, references: &[Reference]) -> Result<Option<Registry<'static>>, SchemaError> {
    if references.is_empty() {
        return Ok(None);
    }
    let base = schema.get(draft.id_keyword()).and_then(Value::as_str).unwrap_or("json-schema:///");
    let base = referencing_error(jsonschema::uri::from_str(base), "the schema's id")?;
    let mut registry = Registry::new().draft(draft);
    for reference in references {
        let contents: Value = serde_json::from_str(&reference.schema)
            .map_err(|error| SchemaError(format!("JSON schema: reference {:?} is not JSON: {error}", reference.name)))?;
        let what = format!("reference {:?}", reference.name);
        let uri = referencing_error(jsonschema::uri::resolve_against(&base.borrow(), &reference.name), &what)?;
        registry = referencing_error(registry.add(uri.as_str(), contents), &what)?;
    }
    referencing_error(registry.prepare(), "references").map(Some)
}

fn referencing_error<T>(result: Result<T, jsonschema::ReferencingError>, what: &str) -> Result<T, SchemaError> {
    result.map_err(|error| SchemaError(format!("JSON schema: {what}: {error}")))
}

/// See [`JsonSchema::canonical`].
fn canonical(schema: &Value, references: &[Reference]) -> Result<String, SchemaError> {
    let mut text = String::new();
    write_sorted(schema, &mut text);
    let mut sorted: Vec<&Reference> = references.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for reference in sorted {
        let contents: Value = serde_json::from_str(&reference.schema)
            .map_err(|error| SchemaError(format!("JSON schema: reference {:?} is not JSON: {error}", reference.name)))?;
        text.push('\n');
        text.push_str(&reference.name);
        text.push('\n');
        write_sorted(&contents, &mut text);
    }
    Ok(text)
}

/// Compact JSON with every object's keys in sorted order.
fn write_sorted(value: &Value, text: &mut String) {
    match value {
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort();
            text.push('{');
            for (at, key) in keys.into_iter().enumerate() {
                if at > 0 {
                    text.push(',');
                }
                text.push_str(&Value::from(key.as_str()).to_string());
                text.push(':');
                write_sorted(&members[key], text);
            }
            text.push('}');
        }
        Value::Array(items) => {
            text.push('[');
            for (at, item) in items.iter().enumerate() {
                if at > 0 {
                    text.push(',');
                }
                write_sorted(item, text);
            }
            text.push(']');
        }
        scalar => text.push_str(&scalar.to_string()),
    }
}
