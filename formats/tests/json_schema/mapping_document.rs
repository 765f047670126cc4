//! The JSON Schema example in docs/typed-records.md, which plugin
//! authors read, holds.

use eoshost_formats::json_schema::JsonSchema;

const SCHEMA: &str =
    r#"{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"price":{"type":"number","minimum":0}}}"#;

#[test]
fn the_documented_payload_reaches_the_plugin_as_written() {
    let payload = br#"{ "id": "o-1",  "price": 1.50 }"#;
    let mut out = Vec::new();
    JsonSchema::parse(SCHEMA, &[]).unwrap().decode(payload, &mut out).unwrap();
    assert_eq!(out, payload);
}

#[test]
fn the_documented_plugin_answer_is_refused_as_documented() {
    let error = JsonSchema::parse(SCHEMA, &[]).unwrap().encode(br#"{"id":"o-1","price":-1}"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.to_string(), "$.price: -1 is less than the minimum of 0");
}
