//! A realistic order checked against apache-avro, an Avro implementation
//! this crate did not write: its datum decodes to the exact JSON below, that
//! JSON encodes back to its bytes, and both agree on the canonical form.

use std::collections::HashMap;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::{Decimal, Uuid};

use super::{decoded, encoded, schema};

pub(crate) const ORDER_SCHEMA: &str = r#"{
  "type": "record", "name": "Order", "namespace": "com.acme.shop",
  "fields": [
    {"name": "order_id", "type": "string"},
    {"name": "sequence", "type": "long"},
    {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
      {"name": "id", "type": "long"},
      {"name": "name", "type": "string"},
      {"name": "email", "type": ["null", "string"]}]}},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]}},
    {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
    {"name": "weight_kg", "type": "double"},
    {"name": "coupon", "type": ["null", "string"], "default": null},
    {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [
      {"name": "sku", "type": "string"},
      {"name": "quantity", "type": "int"},
      {"name": "unit_price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
      {"name": "discount", "type": ["null", "float"]}]}}},
    {"name": "attributes", "type": {"type": "map", "values": "string"}},
    {"name": "payment", "type": ["null",
      {"type": "record", "name": "Card", "fields": [{"name": "last4", "type": "string"}]},
      {"type": "record", "name": "Transfer", "fields": [{"name": "iban", "type": "string"}]}]},
    {"name": "request_id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "delivery", "type": {"type": "int", "logicalType": "date"}},
    {"name": "packed_at", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "checksum", "type": {"type": "fixed", "name": "Crc", "size": 4}}
  ]}"#;

/// What the plugin sees for [`order_value`].
pub(crate) const ORDER_JSON: &str = concat!(
    r#"{"order_id":"o-1001","sequence":9007199254740993,"#,
    r#""customer":{"id":42,"name":"Zoë \"Z\" O'Neil","email":null},"#,
    r#""status":"PAID","created_at":"2026-12-07T17:39:48.123Z","total":"1234.56","weight_kg":12.75,"#,
    r#""coupon":"WINTER","#,
    r#""items":[{"sku":"A-1","quantity":2,"unit_price":"19.99","discount":null},"#,
    r#"{"sku":"B-2","quantity":1,"unit_price":"-3.50","discount":0.1}],"#,
    r#""attributes":{"gift":"yes"},"#,
    r#""payment":{"com.acme.shop.Card":{"last4":"4242"}},"#,
    r#""request_id":"123e4567-e89b-12d3-a456-426614174000","delivery":"2026-12-09","#,
    r#""packed_at":"08:30:00.000250","checksum":"3q2+7w=="}"#
);

fn record(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(fields.into_iter().map(|(name, value)| (name.to_string(), value)).collect())
}

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

/// The order as apache-avro values; decimals as hand-computed
/// two's-complement bytes.
pub(crate) fn order_value() -> Value {
    let item = |sku, quantity, price: Vec<u8>, discount| {
        record(vec![
            ("sku", text(sku)),
            ("quantity", Value::Int(quantity)),
            ("unit_price", Value::Decimal(Decimal::from(price))),
            ("discount", discount),
        ])
    };
    record(vec![
        ("order_id", text("o-1001")),
        ("sequence", Value::Long(9_007_199_254_740_993)),
        (
            "customer",
            record(vec![
                ("id", Value::Long(42)),
                ("name", text("Zoë \"Z\" O'Neil")),
                ("email", Value::Union(0, Box::new(Value::Null))),
            ]),
        ),
        ("status", Value::Enum(1, "PAID".into())),
        ("created_at", Value::TimestampMillis(1_796_665_188_123)),
        // 123456 = 0x01e240
        ("total", Value::Decimal(Decimal::from(vec![0x01, 0xe2, 0x40]))),
        ("weight_kg", Value::Double(12.75)),
        ("coupon", Value::Union(1, Box::new(text("WINTER")))),
        (
            "items",
            Value::Array(vec![
                // 1999 = 0x07cf; -350 = 0xfea2
                item("A-1", 2, vec![0x07, 0xcf], Value::Union(0, Box::new(Value::Null))),
                item("B-2", 1, vec![0xfe, 0xa2], Value::Union(1, Box::new(Value::Float(0.1)))),
            ]),
        ),
        ("attributes", Value::Map(HashMap::from([("gift".to_string(), text("yes"))]))),
        ("payment", Value::Union(1, Box::new(record(vec![("last4", text("4242"))])))),
        ("request_id", Value::Uuid(Uuid::parse_str("123e4567-e89b-12d3-a456-426614174000").unwrap())),
        ("delivery", Value::Date(20_796)),
        ("packed_at", Value::TimeMicros(30_600_000_250)),
        ("checksum", Value::Fixed(4, vec![0xde, 0xad, 0xbe, 0xef])),
    ])
}

/// The datum apache-avro writes for `value` of the schema `text`.
fn apache_write(text: &str, value: Value) -> Vec<u8> {
    let reference = apache_avro::Schema::parse_str(text).unwrap();
    GenericDatumWriter::builder(&reference).build().unwrap().write_value_to_vec(value).unwrap()
}

/// The value apache-avro reads from `datum` of the schema `text`.
fn apache_read(text: &str, datum: &[u8]) -> Value {
    let reference = apache_avro::Schema::parse_str(text).unwrap();
    GenericDatumReader::builder(&reference).build().unwrap().read_value(&mut &datum[..]).unwrap()
}

/// The order's datum, written by apache-avro.
pub(crate) fn order_datum() -> Vec<u8> {
    apache_write(ORDER_SCHEMA, order_value())
}

#[test]
fn a_datum_written_by_apache_avro_decodes_to_the_exact_json() {
    assert_eq!(decoded(&schema(ORDER_SCHEMA), &order_datum()), ORDER_JSON);
}

#[test]
fn the_json_encodes_to_the_bytes_apache_avro_writes() {
    assert_eq!(encoded(&schema(ORDER_SCHEMA), ORDER_JSON), order_datum());
}

#[test]
fn apache_avro_reads_what_this_codec_writes() {
    let datum = encoded(&schema(ORDER_SCHEMA), ORDER_JSON);
    assert_eq!(apache_read(ORDER_SCHEMA, &datum), order_value());
}

#[test]
fn the_canonical_form_matches_apache_avros_for_plain_types() {
    let text = r#"{"type":"record","name":"Shipment","namespace":"com.acme","doc":"d","aliases":["S"],"fields":[
        {"name":"id","type":{"type":"string"},"default":"x"},
        {"name":"kind","type":{"type":"enum","name":"Kind","namespace":"other","symbols":["A","B"]}},
        {"name":"again","type":["null","other.Kind"]},
        {"name":"crc","type":{"type":"fixed","name":"Crc","size":4}},
        {"name":"legs","type":{"type":"array","items":{"type":"record","name":"Leg","fields":[
            {"name":"to","type":"string"},{"name":"next","type":["null","Leg"]}]}}},
        {"name":"tags","type":{"type":"map","values":["int","string","Crc"]}}]}"#;
    let reference = apache_avro::Schema::parse_str(text).unwrap();
    assert_eq!(schema(text).canonical(), reference.canonical_form());
}

/// apache-avro 0.22 keeps `{"type":"long"}` and a decimal's precision and
/// scale; the specification strips every attribute but name, type, fields,
/// symbols, items, values and size, and writes primitives by name.
#[test]
fn logical_types_leave_only_their_underlying_type_in_the_canonical_form() {
    let canonical = schema(ORDER_SCHEMA).canonical();
    assert!(canonical.contains(r#"{"name":"created_at","type":"long"}"#), "{canonical}");
    assert!(canonical.contains(r#"{"name":"total","type":"bytes"}"#), "{canonical}");
    assert!(canonical.contains(r#"{"name":"request_id","type":"string"}"#), "{canonical}");
    assert!(!canonical.contains("precision") && !canonical.contains("logicalType"));
}

#[test]
fn every_primitive_written_by_apache_avro_decodes_and_re_encodes_byte_for_byte() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("\"int\"", Value::Int(i32::MIN), "-2147483648"),
        ("\"long\"", Value::Long(i64::MAX), "9223372036854775807"),
        ("\"float\"", Value::Float(-1.5e-7), "-1.5e-7"),
        ("\"double\"", Value::Double(6.02214076e23), "6.02214076e+23"),
        ("\"bytes\"", Value::Bytes(vec![0, 1, 254, 255]), "\"AAH+/w==\""),
        ("\"string\"", text("tab\there"), "\"tab\\there\""),
        (
            r#"{"type":"long","logicalType":"timestamp-micros"}"#,
            Value::TimestampMicros(-86_400_000_001),
            "\"1969-12-30T23:59:59.999999Z\"",
        ),
        (
            r#"{"type":"long","logicalType":"local-timestamp-millis"}"#,
            Value::LocalTimestampMillis(0),
            "\"1970-01-01T00:00:00.000\"",
        ),
        (r#"{"type":"int","logicalType":"time-millis"}"#, Value::TimeMillis(86_399_999), "\"23:59:59.999\""),
    ];
    for (text, value, json) in cases {
        let datum = apache_write(text, value);
        let ours = schema(text);
        assert_eq!(decoded(&ours, &datum), json, "{text}");
        assert_eq!(encoded(&ours, json), datum, "{text}");
    }
}
