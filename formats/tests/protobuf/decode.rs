//! Decoding: message bytes to the JSON a plugin reads.

use prost_reflect::{DynamicMessage, MapKey, Value};

use crate::common::*;

#[test]
fn unset_fields_are_written_with_their_default_values() {
    assert_eq!(decoded(&shop(), &order_payload(&[])), EMPTY_ORDER);
}

#[test]
fn scalars_decode_to_canonical_json_under_proto_field_names() {
    let payload = order_payload(&[
        ("id", Value::String("o-1".into())),
        ("quantity", Value::I32(-3)),
        ("total_cents", Value::I64(9_007_199_254_740_993)),
        ("sequence", Value::U64(u64::MAX)),
        ("price", Value::F64(12.5)),
        ("ratio", Value::F32(0.25)),
        ("paid", Value::Bool(true)),
        ("token", Value::Bytes(b"\x00\xffhi".to_vec().into())),
        ("status", Value::EnumNumber(2)),
        ("delta", Value::I32(-7)),
        ("checksum", Value::U64(42)),
    ]);
    let expected = order_json(&[
        ("id", r#""o-1""#),
        ("quantity", "-3"),
        ("total_cents", r#""9007199254740993""#),
        ("sequence", r#""18446744073709551615""#),
        ("price", "12.5"),
        ("ratio", "0.25"),
        ("paid", "true"),
        ("token", r#""AP9oaQ==""#),
        ("status", r#""STATUS_SHIPPED""#),
        ("delta", "-7"),
        ("checksum", r#""42""#),
    ]);
    assert_eq!(decoded(&shop(), &payload), expected);
}

#[test]
fn an_enum_number_the_schema_does_not_name_decodes_to_the_number() {
    let payload = order_payload(&[("status", Value::EnumNumber(7))]);
    assert_eq!(decoded(&shop(), &payload), order_json(&[("status", "7")]));
}

#[test]
fn repeated_fields_decode_to_arrays_of_values_and_objects() {
    let line = |sku: &str, count: i32| {
        let pool = shop_pool();
        let mut line = DynamicMessage::new(pool.get_message_by_name("shop.v1.Order.Line").unwrap());
        line.set_field_by_name("sku", Value::String(sku.into()));
        line.set_field_by_name("count", Value::I32(count));
        Value::Message(line)
    };
    let payload = order_payload(&[
        ("tags", Value::List(vec![Value::String("a".into()), Value::String("b".into())])),
        ("lines", Value::List(vec![line("x", 1), line("y", 0)])),
    ]);
    let expected = order_json(&[("tags", r#"["a","b"]"#), ("lines", r#"[{"sku":"x","count":1},{"sku":"y","count":0}]"#)]);
    assert_eq!(decoded(&shop(), &payload), expected);
}

#[test]
fn a_map_decodes_to_an_object_keyed_by_the_map_keys() {
    let payload =
        order_payload(&[("stock", Value::Map([(MapKey::String("apples".into()), Value::I32(3))].into_iter().collect()))]);
    assert_eq!(decoded(&shop(), &payload), order_json(&[("stock", r#"{"apples":3}"#)]));
}

#[test]
fn a_set_message_field_decodes_to_an_object_in_field_number_order() {
    let pool = shop_pool();
    let mut address = DynamicMessage::new(pool.get_message_by_name("shop.v1.Customer.Address").unwrap());
    address.set_field_by_name("city", Value::String("Oslo".into()));
    let mut customer = DynamicMessage::new(pool.get_message_by_name("shop.v1.Customer").unwrap());
    customer.set_field_by_name("name", Value::String("Ada".into()));
    customer.set_field_by_name("address", Value::Message(address));
    let payload = order_payload(&[("customer", Value::Message(customer))]);
    let expected = concat!(
        r#"{"id":"","quantity":0,"total_cents":"0","sequence":"0","price":0.0,"ratio":0.0,"paid":false,"#,
        r#""token":"","status":"STATUS_UNKNOWN","tags":[],"lines":[],"stock":{},"#,
        r#""customer":{"name":"Ada","address":{"city":"Oslo"}},"delta":0,"checksum":"0"}"#
    );
    assert_eq!(decoded(&shop(), &payload), expected);
}

#[test]
fn a_oneof_decodes_to_only_the_member_that_is_set() {
    let payload = order_payload(&[("iban", Value::String("NO93".into()))]);
    let expected = concat!(
        r#"{"id":"","quantity":0,"total_cents":"0","sequence":"0","price":0.0,"ratio":0.0,"paid":false,"#,
        r#""token":"","status":"STATUS_UNKNOWN","tags":[],"lines":[],"stock":{},"#,
        r#""iban":"NO93","delta":0,"checksum":"0"}"#
    );
    assert_eq!(decoded(&shop(), &payload), expected);
}

#[test]
fn hand_written_bytes_of_a_nested_message_decode() {
    // Index list [1, 0] (count 2, then 1 and 0, zigzag), then
    // Customer.Address { city: "Oslo" }: field 1, wire type 2, length 4.
    let payload = [0x04, 0x02, 0x00, 0x0a, 0x04, b'O', b's', b'l', b'o'];
    assert_eq!(decoded(&shop(), &payload), r#"{"city":"Oslo"}"#);
}

#[test]
fn truncated_bytes_are_a_fit_error_naming_the_field_they_end_in() {
    // lines (field 11) holds 4 bytes: a Line whose sku claims 5 bytes but has 2.
    let payload = [0x00, 0x5a, 0x04, 0x0a, 0x05, b'a', b'b'];
    let error = shop().decode(&payload, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.lines[0].sku");
    assert!(error.message.contains("buffer underflow"), "{error}");
}

#[test]
fn a_field_sent_with_the_wrong_wire_type_is_a_fit_error_naming_it() {
    // quantity (field 2, an int32) sent length-delimited.
    let payload = [0x00, 0x12, 0x01, b'x'];
    let error = shop().decode(&payload, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.quantity");
    assert!(error.message.contains("wire type"), "{error}");
}

#[test]
fn a_broken_map_value_is_a_fit_error_naming_the_map() {
    // stock (field 12) entry { key: "a", value: sent length-delimited }
    let payload = [0x00, 0x62, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, b'x'];
    let error = shop().decode(&payload, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.stock");
}

#[test]
fn a_string_that_is_not_utf8_is_a_fit_error_naming_it() {
    let payload = [0x00, 0x0a, 0x02, 0xff, 0xfe];
    let error = shop().decode(&payload, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.id");
}

#[test]
fn a_failed_decode_leaves_the_output_as_it_was() {
    let mut out = b"kept".to_vec();
    shop().decode(&[0x00, 0x12, 0x01], &mut out).unwrap_err();
    assert_eq!(out, b"kept");
}

#[test]
fn decoding_appends_to_the_output() {
    let mut out = b"[".to_vec();
    shop().decode(&[0x04, 0x02, 0x00], &mut out).unwrap();
    assert_eq!(out, br#"[{"city":""}"#);
}
