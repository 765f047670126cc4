//! Schema evolution: JSON and records of one version read and written with
//! another.

use eoshost_formats::protobuf::ProtoSchema;

use crate::common::*;

const V1: &str = r#"syntax = "proto3"; package shop.v1; message Item { string sku = 1; }"#;
const V2: &str = r#"syntax = "proto3"; package shop.v1;
message Item { string sku = 1; int32 count = 2; Kind kind = 3; }
enum Kind { KIND_UNKNOWN = 0; KIND_BOOK = 1; }"#;

#[test]
fn a_json_member_the_output_schema_does_not_know_is_ignored() {
    let v1 = ProtoSchema::parse(V1, &[]).unwrap();
    let payload = encoded_json(&v1, r#"{"sku":"x","count":2,"extra":{"deep":[1]}}"#);
    assert_eq!(decoded(&v1, &payload), r#"{"sku":"x"}"#);
}

#[test]
fn a_json_member_left_out_is_written_as_its_default() {
    let v2 = ProtoSchema::parse(V2, &[]).unwrap();
    let payload = encoded_json(&v2, r#"{"sku":"x"}"#);
    assert_eq!(decoded(&v2, &payload), r#"{"sku":"x","count":0,"kind":"KIND_UNKNOWN"}"#);
}

#[test]
fn an_enum_name_the_output_schema_does_not_know_is_refused_naming_the_field() {
    let v2 = ProtoSchema::parse(V2, &[]).unwrap();
    let mut out = Vec::new();
    let error = v2.encode(br#"{"sku":"x","kind":"KIND_MAGAZINE"}"#, &mut out).unwrap_err();
    assert_eq!(error.path, "$.kind", "{error}");
    assert!(error.message.contains("KIND_MAGAZINE"), "{error}");
    assert!(out.is_empty());
}

#[test]
fn a_record_of_a_newer_version_read_with_an_older_schema_drops_the_new_fields() {
    let v1 = ProtoSchema::parse(V1, &[]).unwrap();
    let v2 = ProtoSchema::parse(V2, &[]).unwrap();
    let payload = encoded_json(&v2, r#"{"sku":"x","count":2,"kind":"KIND_BOOK"}"#);
    assert_eq!(decoded(&v1, &payload), r#"{"sku":"x"}"#);
}
