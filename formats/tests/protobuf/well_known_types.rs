//! The google/protobuf well-known types, which need no reference and map to
//! their own JSON forms.

use eoshost_formats::protobuf::ProtoSchema;

use crate::common::*;

const EVENT: &str = r#"
syntax = "proto3";
package ops;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/empty.proto";

message Event {
  google.protobuf.Timestamp at = 1;
  google.protobuf.Duration took = 2;
  google.protobuf.Int64Value retries = 3;
  google.protobuf.StringValue note = 4;
  google.protobuf.Struct attributes = 5;
  google.protobuf.Value extra = 6;
  google.protobuf.FieldMask changed = 7;
  google.protobuf.Empty nothing = 8;
}
"#;

fn event() -> ProtoSchema {
    ProtoSchema::parse(EVENT, &[]).expect("well-known imports resolve without references")
}

#[test]
fn a_timestamp_decodes_to_rfc3339_in_utc() {
    // created_at (field 14) = Timestamp { seconds: 1_700_000_000, nanos: 5_000_000 }
    let payload = [0x00, 0x72, 0x0b, 0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x10, 0xc0, 0x96, 0xb1, 0x02];
    let json = decoded(&shop(), &payload);
    assert!(json.contains(r#""created_at":"2023-11-14T22:13:20.005Z""#), "{json}");
}

#[test]
fn a_timestamp_round_trips_and_accepts_an_offset() {
    let payload = encoded_json(&event(), r#"{"at":"2024-02-29T12:00:00+01:00"}"#);
    assert!(decoded(&event(), &payload).starts_with(r#"{"at":"2024-02-29T11:00:00Z""#));
}

#[test]
fn every_well_known_type_round_trips_in_its_json_form() {
    let json = concat!(
        r#"{"at":"2024-02-29T11:00:00.250Z","took":"1.500s","retries":"3","note":"hi","#,
        r#""attributes":{"a":1.0,"b":[true,null,"s"]},"extra":"text","changed":"fooBar,baz","nothing":{}}"#
    );
    assert_eq!(round_trip(&event(), json), json);
}

#[test]
fn unset_well_known_type_fields_are_left_out() {
    assert_eq!(round_trip(&event(), "{}"), "{}");
}

#[test]
fn a_timestamp_that_is_not_rfc3339_is_a_fit_error_naming_the_field() {
    let error = event().encode(br#"{"at":"yesterday"}"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.at");
}
