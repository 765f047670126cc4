//! Encoding: a plugin's JSON to the message bytes, and back again.

use prost_reflect::{DynamicMessage, Value};

use crate::common::*;

#[test]
fn encoding_writes_the_single_zero_index_byte_then_the_message() {
    let payload = encoded_json(&shop(), r#"{"id":"o-1","quantity":2}"#);
    assert_eq!(payload, order_payload(&[("id", Value::String("o-1".into())), ("quantity", Value::I32(2))]));
    assert_eq!(payload[0], 0);
}

#[test]
fn scalars_round_trip() {
    let json = order_json(&[
        ("id", r#""o-1""#),
        ("quantity", "-3"),
        ("total_cents", r#""-9007199254740993""#),
        ("sequence", r#""18446744073709551615""#),
        ("price", "12.5"),
        ("ratio", "0.25"),
        ("paid", "true"),
        ("token", r#""AP9oaQ==""#),
        ("status", r#""STATUS_OPEN""#),
        ("delta", "-7"),
        ("checksum", r#""42""#),
    ]);
    assert_eq!(round_trip(&shop(), &json), json);
}

#[test]
fn repeated_nested_and_map_fields_round_trip() {
    let json = concat!(
        r#"{"id":"","quantity":0,"total_cents":"0","sequence":"0","price":0.0,"ratio":0.0,"paid":false,"#,
        r#""token":"","status":"STATUS_UNKNOWN","tags":["a","b"],"lines":[{"sku":"x","count":1}],"#,
        r#""stock":{"apples":3},"customer":{"name":"Ada","address":{"city":"Oslo"}},"delta":0,"checksum":"0"}"#
    );
    assert_eq!(round_trip(&shop(), json), json);
}

#[test]
fn a_oneof_member_round_trips() {
    let json = concat!(
        r#"{"id":"","quantity":0,"total_cents":"0","sequence":"0","price":0.0,"ratio":0.0,"paid":false,"#,
        r#""token":"","status":"STATUS_UNKNOWN","tags":[],"lines":[],"stock":{},"#,
        r#""card":"4111","delta":0,"checksum":"0"}"#
    );
    assert_eq!(round_trip(&shop(), json), json);
}

#[test]
fn two_members_of_one_oneof_are_a_fit_error() {
    let error = shop().encode(br#"{"card":"4111","iban":"NO93"}"#, &mut Vec::new()).unwrap_err();
    assert!(error.message.contains("oneof"), "{error}");
}

#[test]
fn lower_camel_case_json_names_are_accepted_as_well_as_proto_names() {
    let payload = encoded_json(&shop(), r#"{"totalCents":"5","createdAt":"1970-01-01T00:00:01Z"}"#);
    let decoded = decoded(&shop(), &payload);
    assert!(decoded.contains(r#""total_cents":"5""#), "{decoded}");
    assert!(decoded.contains(r#""created_at":"1970-01-01T00:00:01Z""#), "{decoded}");
}

#[test]
fn sixty_four_bit_integers_are_accepted_as_strings_or_numbers() {
    let from_string = encoded_json(&shop(), r#"{"total_cents":"12"}"#);
    let from_number = encoded_json(&shop(), r#"{"total_cents":12}"#);
    assert_eq!(from_string, from_number);
}

#[test]
fn enums_are_accepted_by_name_or_number() {
    let by_name = encoded_json(&shop(), r#"{"status":"STATUS_OPEN"}"#);
    let by_number = encoded_json(&shop(), r#"{"status":1}"#);
    assert_eq!(by_name, by_number);
}

#[test]
fn null_stands_for_the_default_value() {
    let payload = encoded_json(&shop(), r#"{"id":null,"customer":null,"tags":null}"#);
    assert_eq!(payload, vec![0]);
}

#[test]
fn a_wrong_json_type_is_a_fit_error_naming_the_field() {
    let error = shop().encode(br#"{"quantity":"three"}"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.quantity");
}

#[test]
fn a_wrong_json_type_deep_in_the_record_is_named_by_its_full_path() {
    let json = br#"{"lines":[{"sku":"x"},{"sku":"y","count":true}]}"#;
    let error = shop().encode(json, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.lines[1].count");
    let error = shop().encode(br#"{"stock":{"apples":"many"}}"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.stock.apples");
}

#[test]
fn an_int32_out_of_range_is_a_fit_error() {
    let error = shop().encode(br#"{"quantity":3000000000}"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.quantity");
}

#[test]
fn text_that_is_not_json_is_a_fit_error() {
    let error = shop().encode(b"{\"id\":", &mut Vec::new()).unwrap_err();
    assert!(error.message.contains("EOF"), "{error}");
}

#[test]
fn json_that_is_not_an_object_is_a_fit_error_at_the_root() {
    let error = shop().encode(b"[1]", &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$");
}

#[test]
fn text_after_the_json_value_is_a_fit_error_at_the_root() {
    let error = shop().encode(br#"{"id":"a"} x"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$");
    assert!(error.message.contains("trailing"), "{error}");
}

#[test]
fn a_failed_encode_leaves_the_output_as_it_was() {
    let mut out = b"kept".to_vec();
    shop().encode(br#"{"quantity":"x"}"#, &mut out).unwrap_err();
    assert_eq!(out, b"kept");
}

#[test]
fn the_encoding_decodes_with_an_independent_decoder() {
    let payload = encoded_json(&shop(), r#"{"id":"o-9","lines":[{"sku":"x","count":4}]}"#);
    let descriptor = shop_pool().get_message_by_name("shop.v1.Order").unwrap();
    let message = DynamicMessage::decode(descriptor, &payload[1..]).unwrap();
    assert_eq!(message.get_field_by_name("id").unwrap().as_str(), Some("o-9"));
    let lines = message.get_field_by_name("lines").unwrap();
    let line = lines.as_list().unwrap()[0].as_message().unwrap().clone();
    assert_eq!(line.get_field_by_name("count").unwrap().as_i32(), Some(4));
}
