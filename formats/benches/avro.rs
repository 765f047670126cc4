//! Per-record cost of the Avro codec on an order of about 1 KiB of Avro
//! binary (strings, longs, a double, a nullable string, an enum, a nested
//! record, an array of records, a map, a timestamp-millis, decimals):
//! decode (binary to JSON text), encode (JSON text to binary) and both in
//! turn (what an identity plugin costs the host). An `Instant` loop; prints
//! ns/record and MB/s of Avro binary.
//!
//! `cargo bench -p eoshost-formats --bench avro`

use std::hint::black_box;
use std::time::{Duration, Instant};

use eoshost_formats::avro::AvroSchema;

const SCHEMA: &str = r#"{
  "type": "record", "name": "Order", "namespace": "com.acme.shop",
  "fields": [
    {"name": "order_id", "type": "string"},
    {"name": "sequence", "type": "long"},
    {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
      {"name": "id", "type": "long"},
      {"name": "name", "type": "string"},
      {"name": "email", "type": ["null", "string"]},
      {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
        {"name": "street", "type": "string"}, {"name": "city", "type": "string"},
        {"name": "postcode", "type": "string"}, {"name": "country", "type": "string"}]}}]}},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED", "CANCELLED"]}},
    {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
    {"name": "weight_kg", "type": "double"},
    {"name": "coupon", "type": ["null", "string"], "default": null},
    {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [
      {"name": "sku", "type": "string"},
      {"name": "title", "type": "string"},
      {"name": "quantity", "type": "int"},
      {"name": "unit_price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
      {"name": "discount", "type": ["null", "double"]}]}}},
    {"name": "attributes", "type": {"type": "map", "values": "string"}},
    {"name": "notes", "type": "string"}
  ]}"#;

fn order_json() -> String {
    let titles = [
        "Stainless steel water bottle, 750 ml, blue",
        "Organic cotton t-shirt, size M, heather grey",
        "Wireless ergonomic mouse with USB-C receiver",
        "Hardcover notebook, dotted, 192 pages, A5",
        "Ceramic pour-over coffee dripper, white",
        "LED desk lamp with adjustable colour temperature",
        "Bamboo cutting board set (3 pieces)",
        "Noise-cancelling in-ear headphones",
        "Merino wool hiking socks, 2 pairs, size 42-45",
        "Cast iron skillet, 26 cm, pre-seasoned",
    ];
    let items: Vec<String> = titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let discount = if i % 3 == 0 { "0.15".to_string() } else { "null".to_string() };
            format!(
                r#"{{"sku":"SKU-{:05}","title":"{title}","quantity":{},"unit_price":"{}.{:02}","discount":{discount}}}"#,
                10_000 + i * 7,
                1 + i % 4,
                5 + i * 13,
                (i * 37) % 100
            )
        })
        .collect();
    format!(
        concat!(
            r#"{{"order_id":"ord-2026-12-07-000123456","sequence":1796665188123456,"#,
            r#""customer":{{"id":88412,"name":"Zoë Alvarez-Okafor","email":"zoe.alvarez@example.com","#,
            r#""address":{{"street":"221B Baker Street, Flat 3","city":"London","postcode":"NW1 6XE","country":"GB"}}}},"#,
            r#""status":"PAID","created_at":"2026-12-07T17:39:48.123Z","total":"1234.56","weight_kg":4.875,"#,
            r#""coupon":null,"items":[{}],"#,
            r#""attributes":{{"channel":"web","campaign":"winter-sale","locale":"en-GB","gift_wrap":"no"}},"#,
            r#""notes":"Leave at the front desk if nobody answers; the concierge signs for parcels. Ring twice, the bell is quiet."}}"#
        ),
        items.join(",")
    )
}

/// Runs `work` for about `budget`, five times, and returns the best mean
/// time per call.
fn time_per_call(budget: Duration, mut work: impl FnMut()) -> Duration {
    for _ in 0..1_000 {
        work();
    }
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let mut calls = 0u32;
        let start = Instant::now();
        while start.elapsed() < budget / 5 {
            for _ in 0..256 {
                work();
            }
            calls += 256;
        }
        best = best.min(start.elapsed() / calls);
    }
    best
}

fn report(name: &str, per_record: Duration, datum_len: usize) {
    let ns = per_record.as_secs_f64() * 1e9;
    let mb_per_s = datum_len as f64 / per_record.as_secs_f64() / 1e6;
    let records_per_s = 1.0 / per_record.as_secs_f64();
    println!("avro {name:<16} {ns:8.0} ns/record  {mb_per_s:7.1} MB/s  {records_per_s:10.0} records/s");
}

fn main() {
    let schema = AvroSchema::parse(SCHEMA, &[]).expect("the bench schema parses");
    let json = order_json();
    let mut datum = Vec::new();
    schema.encode(json.as_bytes(), &mut datum).expect("the bench record encodes");
    let mut text = Vec::new();
    schema.decode(&datum, &mut text).expect("the bench record decodes");
    assert_eq!(String::from_utf8_lossy(&text), json, "decode(encode(json)) is the same JSON");
    println!("avro record: {} bytes of Avro binary, {} bytes of JSON", datum.len(), json.len());

    let budget = Duration::from_secs(2);
    let mut out = Vec::with_capacity(4096);
    let decode = time_per_call(budget, || {
        out.clear();
        schema.decode(black_box(&datum), &mut out).unwrap();
        black_box(&out);
    });
    let mut bytes = Vec::with_capacity(4096);
    let encode = time_per_call(budget, || {
        bytes.clear();
        schema.encode(black_box(json.as_bytes()), &mut bytes).unwrap();
        black_box(&bytes);
    });
    let identity = time_per_call(budget, || {
        out.clear();
        bytes.clear();
        schema.decode(black_box(&datum), &mut out).unwrap();
        schema.encode(&out, &mut bytes).unwrap();
        black_box(&bytes);
    });
    report("decode", decode, datum.len());
    report("encode", encode, datum.len());
    report("decode+encode", identity, datum.len());
}
