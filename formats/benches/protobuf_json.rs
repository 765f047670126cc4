//! Per-record cost of the Protobuf and JSON Schema codecs on a record of
//! about 1 KiB of JSON: protobuf decode (bytes to JSON) and encode (JSON to
//! bytes), and JSON Schema validation (parse and validate, bytes passed
//! through), with parsing the same JSON into a `serde_json::Value` as the
//! baseline validation cannot go below. An `Instant` loop; prints ns/record
//! and records/s.
//!
//! `cargo bench -p eoshost-formats --bench protobuf_json`

use std::hint::black_box;
use std::time::{Duration, Instant};

use eoshost_formats::json_schema::JsonSchema;
use eoshost_formats::protobuf::ProtoSchema;

const PROTO: &str = r#"
syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";

message Order {
  string id = 1;
  int32 quantity = 2;
  int64 total_cents = 3;
  double price = 4;
  bool paid = 5;
  Status status = 6;
  repeated string tags = 7;
  repeated Line lines = 8;
  map<string, int32> stock = 9;
  Customer customer = 10;
  google.protobuf.Timestamp created_at = 11;
  bytes token = 12;

  message Line {
    string sku = 1;
    string title = 2;
    int32 count = 3;
    int64 price_cents = 4;
  }
}

message Customer {
  string name = 1;
  string email = 2;
  string city = 3;
}

enum Status {
  STATUS_UNKNOWN = 0;
  STATUS_OPEN = 1;
}
"#;

const JSON_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "shop.v1.Order",
  "type": "object",
  "required": ["id", "lines", "customer"],
  "properties": {
    "id": {"type": "string", "minLength": 1},
    "quantity": {"type": "integer", "minimum": 0},
    "total_cents": {"type": "string", "pattern": "^-?[0-9]+$"},
    "price": {"type": "number"},
    "paid": {"type": "boolean"},
    "status": {"enum": ["STATUS_UNKNOWN", "STATUS_OPEN"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "lines": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["sku", "count"],
        "properties": {
          "sku": {"type": "string"},
          "title": {"type": "string"},
          "count": {"type": "integer", "minimum": 1},
          "price_cents": {"type": "string"}
        }
      }
    },
    "stock": {"type": "object", "additionalProperties": {"type": "integer"}},
    "customer": {
      "type": "object",
      "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "city": {"type": "string"}}
    },
    "created_at": {"type": "string"},
    "token": {"type": "string"}
  }
}"#;

fn record() -> String {
    let lines: Vec<String> = (0..8)
        .map(|i| {
            format!(
                r#"{{"sku":"SKU-{i:05}","title":"Line item number {i} of the order","count":{},"price_cents":"{}"}}"#,
                i + 1,
                1999 + i * 100
            )
        })
        .collect();
    format!(
        concat!(
            r#"{{"id":"order-2024-000123","quantity":8,"total_cents":"123456","price":1234.56,"paid":true,"#,
            r#""status":"STATUS_OPEN","tags":["gift","express","eu"],"lines":[{}],"#,
            r#""stock":{{"warehouse-a":12,"warehouse-b":3}},"#,
            r#""customer":{{"name":"Ada Lovelace","email":"ada@example.com","city":"London"}},"#,
            r#""created_at":"2024-02-29T12:00:00.250Z","token":"3q2+7w=="}}"#
        ),
        lines.join(",")
    )
}

/// Runs `work` for about a second (after a short warm-up) and prints its cost.
fn measure(name: &str, mut work: impl FnMut()) {
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_millis(200) {
        work();
    }
    let mut records = 0u64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..1000 {
            work();
        }
        records += 1000;
    }
    let elapsed = start.elapsed();
    let per_record = elapsed.as_nanos() as f64 / records as f64;
    println!("{name:<40} {per_record:>8.0} ns/record {:>10.0} records/s", 1e9 / per_record);
}

fn main() {
    let proto = ProtoSchema::parse(PROTO, &[]).expect("the bench schema compiles");
    let json_schema = JsonSchema::parse(JSON_SCHEMA, &[]).expect("the bench schema compiles");
    let json = record();
    let mut payload = Vec::new();
    proto.encode(json.as_bytes(), &mut payload).expect("the bench record encodes");
    let mut decoded = Vec::new();
    proto.decode(&payload, &mut decoded).expect("the bench record decodes");
    println!(
        "record: {} B of plugin JSON, {} B of protobuf payload, {} B of decoded JSON",
        json.len(),
        payload.len(),
        decoded.len()
    );

    let started = Instant::now();
    let parses = 100;
    for _ in 0..parses {
        black_box(ProtoSchema::parse(PROTO, &[]).expect("compiles"));
    }
    println!("protobuf schema parse: {:.0} µs", started.elapsed().as_micros() as f64 / parses as f64);

    let mut out = Vec::with_capacity(4096);
    measure("protobuf decode (payload to JSON)", || {
        out.clear();
        proto.decode(black_box(&payload), &mut out).expect("decodes");
    });
    measure("protobuf encode (JSON to payload)", || {
        out.clear();
        proto.encode(black_box(json.as_bytes()), &mut out).expect("encodes");
    });
    measure("baseline: serde_json parse to a Value", || {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&decoded)).expect("JSON"));
    });
    measure("json-schema validate (parse + check)", || {
        out.clear();
        json_schema.decode(black_box(&decoded), &mut out).expect("valid");
    });
}
