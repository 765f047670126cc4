//! Tests of the Avro codec as a whole: every type both ways against bytes
//! written by hand (zigzag varints) or by apache-avro, an encoder this
//! crate did not write; evolution, unions, references, and every way a
//! datum or a JSON text can fail.

mod decode_errors;
mod encode_errors;
mod evolution;
mod independent_encoder;
mod references;
mod types;
mod unions;

use super::AvroSchema;
use crate::FitError;

pub(super) fn schema(text: &str) -> AvroSchema {
    AvroSchema::parse(text, &[]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The JSON text of `datum`.
pub(super) fn decoded(schema: &AvroSchema, datum: &[u8]) -> String {
    let mut out = Vec::new();
    schema.decode(datum, &mut out).unwrap_or_else(|e| panic!("decode {datum:02x?}: {e}"));
    String::from_utf8(out).unwrap()
}

/// The datum of `json`.
pub(super) fn encoded(schema: &AvroSchema, json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    schema.encode(json.as_bytes(), &mut out).unwrap_or_else(|e| panic!("encode {json}: {e}"));
    out
}

pub(super) fn decode_error(schema: &AvroSchema, datum: &[u8]) -> FitError {
    let mut out = b"kept".to_vec();
    let error = schema.decode(datum, &mut out).expect_err("decoding should fail");
    assert_eq!(out, b"kept", "a failed decode leaves the output as it was");
    error
}

pub(super) fn encode_error(schema: &AvroSchema, json: &str) -> FitError {
    let mut out = b"kept".to_vec();
    let error = schema.encode(json.as_bytes(), &mut out).expect_err("encoding should fail");
    assert_eq!(out, b"kept", "a failed encode leaves the output as it was");
    error
}

/// Asserts that `datum` decodes to exactly `json` and `json` encodes back
/// to exactly `datum`.
pub(super) fn both_ways(schema: &AvroSchema, datum: &[u8], json: &str) {
    assert_eq!(decoded(schema, datum), json, "decoding {datum:02x?}");
    assert_eq!(encoded(schema, json), datum, "encoding {json}");
}

/// The zigzag varint of `value`, written independently of the codec.
pub(super) fn zz(value: i64) -> Vec<u8> {
    let mut z = ((value << 1) ^ (value >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return out;
        }
        out.push((z & 0x7f) as u8 | 0x80);
        z >>= 7;
    }
}

/// A length-prefixed string or bytes.
pub(super) fn sized(bytes: &[u8]) -> Vec<u8> {
    let mut out = zz(bytes.len() as i64);
    out.extend_from_slice(bytes);
    out
}

/// Concatenates byte pieces.
pub(super) fn cat(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.concat()
}

#[test]
fn the_schema_is_send_sync_and_debug() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<AvroSchema>();
    let text = format!("{:?}", schema(r#"{"type":"enum","name":"E","symbols":["A"]}"#));
    assert_eq!(text, r#"AvroSchema { canonical: "{\"name\":\"E\",\"type\":\"enum\",\"symbols\":[\"A\"]}" }"#);
}

#[test]
fn record_name_is_the_full_name_of_a_named_top_level_type() {
    let record = r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[]}"#;
    assert_eq!(schema(record).record_name().as_deref(), Some("com.acme.Order"));
    let fixed = r#"{"type":"fixed","name":"Md5","size":16}"#;
    assert_eq!(schema(fixed).record_name().as_deref(), Some("Md5"));
    assert_eq!(schema("\"string\"").record_name(), None);
    assert_eq!(schema(r#"["null","string"]"#).record_name(), None);
}

#[test]
fn equivalent_schema_texts_have_one_canonical_form() {
    let a = schema(r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"x","type":"int","doc":"d"}]}"#);
    let b = schema(r#"{"name":"n.R","fields":[{"type":{"type":"int"},"name":"x"}],"type":"record"}"#);
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(a.canonical(), r#"{"name":"n.R","type":"record","fields":[{"name":"x","type":"int"}]}"#);
}
