//! The schema the tests share, and messages built without the codec.

use eoshost_formats::protobuf::ProtoSchema;
use prost_reflect::{DescriptorPool, DynamicMessage, Value};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

/// `Order` is message [0], `Order.Line` [0, 0] (the `stock` map's entry
/// type, which protoc puts before it, has no index), `Customer` [1] and
/// `Customer.Address` [1, 0].
pub const SHOP: &str = r#"
syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";

message Order {
  string id = 1;
  int32 quantity = 2;
  int64 total_cents = 3;
  uint64 sequence = 4;
  double price = 5;
  float ratio = 6;
  bool paid = 7;
  bytes token = 8;
  Status status = 9;
  repeated string tags = 10;
  repeated Line lines = 11;
  map<string, int32> stock = 12;
  Customer customer = 13;
  google.protobuf.Timestamp created_at = 14;
  oneof payment {
    string card = 15;
    string iban = 16;
  }
  sint32 delta = 17;
  fixed64 checksum = 18;

  message Line {
    string sku = 1;
    int32 count = 2;
  }
}

message Customer {
  string name = 1;
  Address address = 2;

  message Address {
    string city = 1;
  }
}

enum Status {
  STATUS_UNKNOWN = 0;
  STATUS_OPEN = 1;
  STATUS_SHIPPED = 2;
}
"#;

/// The JSON of an `Order` with every field at its default.
pub const EMPTY_ORDER: &str = r#"{"id":"","quantity":0,"total_cents":"0","sequence":"0","price":0.0,"ratio":0.0,"paid":false,"token":"","status":"STATUS_UNKNOWN","tags":[],"lines":[],"stock":{},"delta":0,"checksum":"0"}"#;

pub fn shop() -> ProtoSchema {
    ProtoSchema::parse(SHOP, &[]).expect("the shop schema compiles")
}

/// `SHOP` compiled straight with protox, for building messages by hand.
pub fn shop_pool() -> DescriptorPool {
    struct OneFile;
    impl FileResolver for OneFile {
        fn open_file(&self, name: &str) -> Result<File, protox::Error> {
            match name {
                "shop.proto" => File::from_source(name, SHOP),
                _ => Err(protox::Error::file_not_found(name)),
            }
        }
    }
    let mut resolver = ChainFileResolver::new();
    resolver.add(OneFile);
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.open_file("shop.proto").expect("the shop schema compiles");
    compiler.descriptor_pool()
}

/// A message of type `name` with the given fields set, encoded.
pub fn encoded(name: &str, fields: &[(&str, Value)]) -> Vec<u8> {
    let descriptor = shop_pool().get_message_by_name(name).expect("a message of the shop schema");
    let mut message = DynamicMessage::new(descriptor);
    for (field, value) in fields {
        message.set_field_by_name(field, value.clone());
    }
    prost_reflect::prost::Message::encode_to_vec(&message)
}

/// The payload of a message the schema writes: index list `[0]`, message.
pub fn order_payload(fields: &[(&str, Value)]) -> Vec<u8> {
    let mut payload = vec![0];
    payload.extend(encoded("shop.v1.Order", fields));
    payload
}

/// The JSON text `schema` decodes `payload` to.
pub fn decoded(schema: &ProtoSchema, payload: &[u8]) -> String {
    let mut out = Vec::new();
    schema.decode(payload, &mut out).expect("the payload decodes");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// The payload `schema` encodes `json` to.
pub fn encoded_json(schema: &ProtoSchema, json: &str) -> Vec<u8> {
    let mut out = Vec::new();
    schema.encode(json.as_bytes(), &mut out).expect("the JSON encodes");
    out
}

/// `json` encoded then decoded again.
pub fn round_trip(schema: &ProtoSchema, json: &str) -> String {
    decoded(schema, &encoded_json(schema, json))
}

/// `EMPTY_ORDER` with some of its members' values replaced (members it
/// lacks, the unset message and oneof fields, belong in a literal instead,
/// where their place in field-number order shows).
pub fn order_json(replacements: &[(&str, &str)]) -> String {
    let mut order: serde_json::Map<String, serde_json::Value> = serde_json::from_str(EMPTY_ORDER).expect("EMPTY_ORDER is JSON");
    for (key, value) in replacements {
        let slot = order.get_mut(*key).expect("a member of EMPTY_ORDER");
        *slot = serde_json::from_str(value).expect("a JSON value");
    }
    serde_json::Value::Object(order).to_string()
}
