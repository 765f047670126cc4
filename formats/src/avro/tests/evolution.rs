//! Encoding with an output schema that differs from the one the JSON came
//! from: missing fields take their defaults, unknown members are dropped,
//! members may come in any order.

use super::{cat, decoded, encode_error, encoded, schema, sized, zz};

const V2: &str = r#"{"type":"record","name":"Customer","fields":[
    {"name":"id","type":"long"},
    {"name":"name","type":"string"},
    {"name":"email","type":["null","string"],"default":null},
    {"name":"tier","type":{"type":"enum","name":"Tier","symbols":["FREE","PRO"]},"default":"FREE"},
    {"name":"tags","type":{"type":"array","items":"string"},"default":["new"]},
    {"name":"score","type":"double","default":1.5}]}"#;

#[test]
fn a_missing_field_takes_the_output_schemas_default() {
    let datum = encoded(&schema(V2), r#"{"id":7,"name":"Ada"}"#);
    let expected = cat(&[&zz(7), &sized(b"Ada"), &zz(0), &zz(0), &zz(1), &sized(b"new"), &[0], &1.5f64.to_le_bytes()]);
    assert_eq!(datum, expected);
    assert_eq!(decoded(&schema(V2), &datum), r#"{"id":7,"name":"Ada","email":null,"tier":"FREE","tags":["new"],"score":1.5}"#);
}

#[test]
fn a_missing_field_between_present_ones_keeps_schema_order() {
    let datum = encoded(&schema(V2), r#"{"id":7,"name":"Ada","tier":"PRO","tags":[],"score":2.0}"#);
    assert_eq!(datum, cat(&[&zz(7), &sized(b"Ada"), &zz(0), &zz(1), &[0], &2.0f64.to_le_bytes()]));
}

#[test]
fn a_missing_field_without_a_default_is_refused() {
    let error = encode_error(&schema(V2), r#"{"id":7}"#);
    assert_eq!(error.to_string(), "$.name: missing, and the output schema gives it no default");
}

#[test]
fn a_missing_field_whose_default_does_not_fit_is_refused_with_the_reason() {
    let text = r#"{"type":"record","name":"R","fields":[{"name":"n","type":"int","default":"zero"}]}"#;
    let error = encode_error(&schema(text), "{}");
    assert_eq!(error.path, "$.n");
    assert_eq!(error.message, r#"missing, and the output schema's default for it does not fit: default "zero" is not a int"#);
    assert_eq!(encoded(&schema(text), r#"{"n":3}"#), zz(3));
}

#[test]
fn members_the_output_schema_does_not_know_are_dropped() {
    let v1 =
        schema(r#"{"type":"record","name":"Customer","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}"#);
    let from_v2 = r#"{"id":7,"loyalty":{"points":[1,2,{"deep":null}]},"name":"Ada","email":"a@b.c"}"#;
    assert_eq!(encoded(&v1, from_v2), cat(&[&zz(7), &sized(b"Ada")]));
}

#[test]
fn members_in_any_order_encode_in_schema_order() {
    let json = r#"{"score":0.5,"tags":["a"],"tier":"PRO","email":"e","name":"N","id":1}"#;
    let expected = cat(&[&zz(1), &sized(b"N"), &zz(1), &sized(b"e"), &zz(1), &zz(1), &sized(b"a"), &[0], &0.5f64.to_le_bytes()]);
    assert_eq!(encoded(&schema(V2), json), expected);
}

#[test]
fn a_member_given_twice_is_refused() {
    let error = encode_error(&schema(V2), r#"{"id":1,"id":2,"name":"N"}"#);
    assert_eq!(error.to_string(), "$.id: appears twice in the object");
    let error = encode_error(&schema(V2), r#"{"name":"N","name":"M","id":1}"#);
    assert_eq!(error.to_string(), "$.name: appears twice in the object");
}

#[test]
fn a_nested_record_default_fills_a_missing_nested_record() {
    let text = r#"{"type":"record","name":"R","fields":[
        {"name":"a","type":"int"},
        {"name":"where","type":{"type":"record","name":"Geo","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double","default":0}]},
         "default":{"lat":1}}]}"#;
    let expected = cat(&[&zz(4), &1.0f64.to_le_bytes(), &0.0f64.to_le_bytes()]);
    assert_eq!(encoded(&schema(text), r#"{"a":4}"#), expected);
    let partial = cat(&[&zz(4), &2.0f64.to_le_bytes(), &0.0f64.to_le_bytes()]);
    assert_eq!(encoded(&schema(text), r#"{"a":4,"where":{"lat":2}}"#), partial);
}

/// The example of docs/typed-records.md, as the guide states it.
#[test]
fn the_guides_example_behaves_as_the_guide_says() {
    let order = schema(
        r#"{"type": "record", "name": "Order", "namespace": "com.acme.shop", "fields": [
  {"name": "order_id", "type": "string"},
  {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
    {"name": "id", "type": "long"},
    {"name": "email", "type": ["null", "string"], "default": null}]}},
  {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
  {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
  {"name": "weight_kg", "type": "double"},
  {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [
    {"name": "sku", "type": "string"},
    {"name": "quantity", "type": "int"}]}}},
  {"name": "attributes", "type": {"type": "map", "values": "string"}},
  {"name": "payment", "type": ["null",
    {"type": "record", "name": "Card", "fields": [{"name": "last4", "type": "string"}]},
    {"type": "record", "name": "Transfer", "fields": [{"name": "iban", "type": "string"}]}]},
  {"name": "checksum", "type": {"type": "fixed", "name": "Crc", "size": 4}}
]}"#,
    );
    let seen = concat!(
        r#"{"order_id":"o-1001","customer":{"id":42,"email":null},"status":"PAID","#,
        r#""created_at":"2026-12-07T17:39:48.123Z","total":"1234.56","weight_kg":12.75,"#,
        r#""items":[{"sku":"A-1","quantity":2},{"sku":"B-2","quantity":1}],"attributes":{"gift":"yes"},"#,
        r#""payment":{"com.acme.shop.Card":{"last4":"4242"}},"checksum":"3q2+7w=="}"#
    );
    let datum = encoded(&order, seen);
    assert_eq!(decoded(&order, &datum), seen);
    let returned = concat!(
        r#"{"order_id":"o-1001","customer":{"id":42},"status":"PAID","created_at":1796665188123,"#,
        r#""total":1234.56,"weight_kg":12.75,"items":[{"sku":"A-1","quantity":2},{"sku":"B-2","quantity":1}],"#,
        r#""attributes":{"gift":"yes"},"payment":{"com.acme.shop.Card":{"last4":"4242"}},"checksum":"3q2+7w==","extra":[1]}"#
    );
    assert_eq!(encoded(&order, returned), datum);
    let unwrapped = returned.replace(r#"{"com.acme.shop.Card":{"last4":"4242"}}"#, r#"{"last4":"4242"}"#);
    let error = encode_error(&order, &unwrapped);
    assert_eq!(error.path, "$.payment");
    assert!(
        error.message.starts_with(
            r#"found an object, which fits more than one of the union's branches ["com.acme.shop.Card","com.acme.shop.Transfer"]"#
        ),
        "{}",
        error.message
    );
}
