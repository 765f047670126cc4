//! The example in docs/typed-records.md, which plugin authors read, holds.

use eoshost_formats::protobuf::ProtoSchema;

use crate::common::*;

const ORDER: &str = r#"
syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";

message Order {
  string id = 1;
  int64 total_cents = 2;
  Status status = 3;
  repeated Line lines = 4;
  google.protobuf.Timestamp created_at = 5;
  Customer customer = 6;

  message Line { string sku = 1; int32 count = 2; }
}
message Customer { string name = 1; }
enum Status { STATUS_UNKNOWN = 0; STATUS_OPEN = 1; }
"#;

#[test]
fn the_documented_order_reaches_the_plugin_as_documented() {
    let schema = ProtoSchema::parse(ORDER, &[]).unwrap();
    // Order { id: "o-1", total_cents: 1999, lines: [{ sku: "A-1", count: 2 }],
    // created_at: 2024-02-29T11:00:00Z }, written by hand.
    let mut payload = vec![0x00];
    payload.extend([0x0a, 0x03, b'o', b'-', b'1']);
    payload.extend([0x10, 0xcf, 0x0f]);
    payload.extend([0x22, 0x07, 0x0a, 0x03, b'A', b'-', b'1', 0x10, 0x02]);
    payload.extend([0x2a, 0x06, 0x08, 0xb0, 0xc7, 0x81, 0xaf, 0x06]);
    let expected = r#"{"id":"o-1","total_cents":"1999","status":"STATUS_UNKNOWN","lines":[{"sku":"A-1","count":2}],"created_at":"2024-02-29T11:00:00Z"}"#;
    assert_eq!(decoded(&schema, &payload), expected);
}

#[test]
fn the_documented_plugin_answer_is_accepted_as_documented() {
    let schema = ProtoSchema::parse(ORDER, &[]).unwrap();
    let payload = encoded_json(&schema, r#"{"id":"o-1","totalCents":2500,"lines":[]}"#);
    assert_eq!(decoded(&schema, &payload), r#"{"id":"o-1","total_cents":"2500","status":"STATUS_UNKNOWN","lines":[]}"#);
}
