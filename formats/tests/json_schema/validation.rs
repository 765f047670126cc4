//! Records checked against a schema: passed through byte for byte, or
//! refused with the path of what is wrong.

use eoshost_formats::json_schema::JsonSchema;

const ORDER: &str = r#"{
  "title": "Order",
  "type": "object",
  "required": ["id", "items"],
  "properties": {
    "id": {"type": "string"},
    "items": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {"price": {"type": "number", "minimum": 0}, "unit price": {"type": "number"}}
      }
    }
  }
}"#;

fn order() -> JsonSchema {
    JsonSchema::parse(ORDER, &[]).unwrap()
}

#[test]
fn a_valid_record_decodes_to_its_bytes_unchanged() {
    let payload = b"{ \"id\" : \"o-1\",\n \"items\": [ {\"price\": 1.50} ], \"extra\": 1e2 }";
    let mut out = b"prefix".to_vec();
    order().decode(payload, &mut out).unwrap();
    assert_eq!(&out[6..], payload);
}

#[test]
fn valid_plugin_json_encodes_to_its_bytes_unchanged() {
    let json = br#"{"items":[],"id":"\u00e9"}"#;
    let mut out = Vec::new();
    order().encode(json, &mut out).unwrap();
    assert_eq!(out, json);
}

#[test]
fn an_invalid_value_is_a_fit_error_at_its_instance_path() {
    let json = br#"{"id":"o","items":[{"price":1},{"price":2},{"price":-3}]}"#;
    let error = order().decode(json, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.items[2].price");
    assert_eq!(error.message, "-3 is less than the minimum of 0");
}

#[test]
fn a_key_that_is_not_an_identifier_is_quoted_in_the_path() {
    let json = br#"{"id":"o","items":[{"unit price":"x"}]}"#;
    let error = order().encode(json, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, r#"$.items[0]["unit price"]"#);
}

#[test]
fn a_missing_required_member_is_a_fit_error_at_its_object() {
    let error = order().encode(br#"{"items":[]}"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$");
    assert_eq!(error.message, r#""id" is a required property"#);
}

#[test]
fn text_that_is_not_json_is_a_fit_error() {
    let error = order().decode(b"{\"id\": ", &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$");
    assert!(error.message.starts_with("not JSON: "), "{error}");
}

#[test]
fn bytes_that_are_not_utf8_are_a_fit_error() {
    let error = order().decode(b"{\"id\":\"\xff\",\"items\":[]}", &mut Vec::new()).unwrap_err();
    assert!(error.message.starts_with("not JSON: "), "{error}");
}

#[test]
fn a_refused_record_leaves_the_output_as_it_was() {
    let mut out = b"kept".to_vec();
    order().encode(b"[]", &mut out).unwrap_err();
    assert_eq!(out, b"kept");
}
