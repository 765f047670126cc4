//! JSON that does not fit the output schema: a `FitError` with the JSON path
//! and what was expected and found.

use super::{encode_error, encoded, schema, zz};

const ORDER: &str = r#"{"type":"record","name":"Order","fields":[
    {"name":"id","type":"long"},
    {"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","fields":[{"name":"price","type":"int"}]}}},
    {"name":"attrs","type":{"type":"map","values":"int"}},
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}}]}"#;

#[test]
fn a_wrong_json_type_names_the_path_the_expected_type_and_the_value() {
    let error = encode_error(&schema(ORDER), r#"{"id":"abc"}"#);
    assert_eq!(error.to_string(), r#"$.id: expected long, found string "abc""#);
    let json = r#"{"id":1,"items":[{"price":1},{"price":2},{"price":[3]}]}"#;
    assert_eq!(encode_error(&schema(ORDER), json).to_string(), "$.items[2].price: expected int, found an array");
    let json = r#"{"id":1,"items":[],"attrs":{"k\"":true}}"#;
    assert_eq!(encode_error(&schema(ORDER), json).to_string(), r#"$.attrs["k\""]: expected int, found boolean true"#);
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(100);
    let error = encode_error(&schema(ORDER), &format!(r#"{{"id":"{long}"}}"#));
    assert_eq!(error.message, format!(r#"expected long, found string "{}…""#, "x".repeat(40)));
}

#[test]
fn null_for_a_field_that_is_not_nullable_names_the_field_and_its_type() {
    let error = encode_error(&schema(ORDER), r#"{"id":null}"#);
    assert_eq!(error.to_string(), "$.id: expected long, found null");
}

#[test]
fn integers_out_of_range_are_refused() {
    let int = schema("\"int\"");
    assert_eq!(encode_error(&int, "2147483648").message, "number 2147483648 is out of range for int");
    assert_eq!(encoded(&int, "-2147483648"), zz(i64::from(i32::MIN)));
    let long = schema("\"long\"");
    assert_eq!(encode_error(&long, "9223372036854775808").message, "number 9223372036854775808 is out of range for long");
    assert_eq!(encode_error(&long, "1.5").message, "expected long, found number 1.5");
    assert_eq!(encode_error(&long, "1e3").message, "expected long, found number 1e3");
    assert_eq!(encode_error(&schema("\"float\""), "1e39").message, "number 1e39 is out of range for float");
    assert_eq!(encode_error(&schema("\"double\""), "\"nan\"").message, r#"expected double, found string "nan""#);
}

#[test]
fn an_unknown_enum_symbol_is_refused_naming_the_allowed_ones() {
    let error = encode_error(&schema(ORDER), r#"{"id":1,"items":[],"attrs":{},"status":"LOST"}"#);
    assert_eq!(error.to_string(), r#"$.status: unknown symbol "LOST" of enum Status; allowed: ["NEW","PAID"]"#);
}

#[test]
fn decimals_that_lose_digits_or_exceed_the_precision_are_refused() {
    let decimal = schema(r#"{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}"#);
    assert_eq!(encode_error(&decimal, "\"1.234\"").message, r#"string "1.234" has more than 2 digits after the point"#);
    assert_eq!(encode_error(&decimal, "1234.5").message, "number 1234.5 has more than 5 digits");
    assert_eq!(encode_error(&decimal, "\"12,5\"").message, r#"string "12,5" is not a decimal number"#);
    assert_eq!(encoded(&decimal, "\"1.230\""), encoded(&decimal, "1.23"));
}

#[test]
fn texts_of_logical_types_are_checked() {
    let uuid = schema(r#"{"type":"string","logicalType":"uuid"}"#);
    assert_eq!(encode_error(&uuid, "\"not-a-uuid\"").message, r#"string "not-a-uuid" is not a UUID"#);
    let date = schema(r#"{"type":"int","logicalType":"date"}"#);
    assert_eq!(encode_error(&date, "\"2026-02-30\"").message, r#"string "2026-02-30" is not a date as YYYY-MM-DD"#);
    let millis = schema(r#"{"type":"long","logicalType":"timestamp-millis"}"#);
    let error = encode_error(&millis, "\"2026-12-07T17:39:48.123\"");
    assert!(error.message.contains("(or with an offset such as +02:00)"), "{}", error.message);
    assert_eq!(
        encode_error(&millis, "true").message,
        "expected timestamp-millis (RFC 3339 text or millis since the epoch), found boolean true"
    );
}

#[test]
fn base64_that_is_not_padded_standard_or_of_the_wrong_size_is_refused() {
    let bytes = schema("\"bytes\"");
    assert!(encode_error(&bytes, "\"YWJjZA\"").message.starts_with(r#"string "YWJjZA" is not base64"#));
    assert!(encode_error(&bytes, "\"-_8=\"").message.contains("is not base64"));
    let fixed = schema(r#"{"type":"fixed","name":"F","size":4}"#);
    assert_eq!(encode_error(&fixed, "\"YWI=\"").message, "expected 4 bytes for fixed F, found 2");
}

#[test]
fn text_that_is_not_json_is_refused_with_the_byte_offset() {
    let error = encode_error(&schema(ORDER), r#"{"id":1,}"#);
    assert_eq!(error.message, "invalid JSON at byte 8: expected a string, found '}'");
    let error = encode_error(&schema("\"long\""), "1 2");
    assert_eq!(error.message, "invalid JSON at byte 2: expected the end of the JSON text, found '2'");
    assert_eq!(encode_error(&schema("\"string\""), "").message, "invalid JSON at byte 0: expected a value, found the end");
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let list = schema(r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#);
    let json = format!("{}null{}", r#"{"next":"#.repeat(200), "}".repeat(200));
    assert_eq!(encode_error(&list, &json).message, "values nest deeper than 128 levels");
}

#[test]
fn every_truncation_and_random_corruption_of_valid_json_fails_cleanly() {
    use super::independent_encoder::{ORDER_JSON, ORDER_SCHEMA};
    let order = schema(ORDER_SCHEMA);
    let json = ORDER_JSON.as_bytes();
    let mut out = Vec::new();
    for len in 0..json.len() {
        out.clear();
        assert!(order.encode(&json[..len], &mut out).is_err(), "JSON cut at {len} encoded");
        assert!(out.is_empty());
    }
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"{}[]\",:\\ 0123456789.eE-+nultrfase\xc3\xa9\x00";
    for round in 0..20_000 {
        let mut corrupt = json.to_vec();
        for _ in 0..1 + round % 3 {
            let at = (next() as usize) % corrupt.len();
            corrupt[at] = alphabet[(next() as usize) % alphabet.len()];
        }
        out.clear();
        if order.encode(&corrupt, &mut out).is_err() {
            assert!(out.is_empty());
        }
    }
}
