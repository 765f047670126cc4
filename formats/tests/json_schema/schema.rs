//! Parsing schema text: errors, the record name and the canonical form.

use eoshost_formats::Reference;
use eoshost_formats::json_schema::JsonSchema;

#[test]
fn schema_text_that_is_not_json_is_a_schema_error() {
    assert!(JsonSchema::parse("{", &[]).unwrap_err().0.contains("not JSON"));
}

#[test]
fn a_schema_its_draft_refuses_is_a_schema_error() {
    assert!(JsonSchema::parse(r#"{"type":"integer-ish"}"#, &[]).is_err());
}

#[test]
fn the_record_name_is_the_title() {
    let titled = JsonSchema::parse(r#"{"title":"shop.Order","type":"object"}"#, &[]).unwrap();
    assert_eq!(titled.record_name().as_deref(), Some("shop.Order"));
    let untitled = JsonSchema::parse(r#"{"type":"object"}"#, &[]).unwrap();
    assert_eq!(untitled.record_name(), None);
}

#[test]
fn the_canonical_form_is_compact_with_sorted_keys() {
    let schema = JsonSchema::parse("{ \"type\": \"object\",\n  \"title\": \"A\" }", &[]).unwrap();
    assert_eq!(schema.canonical(), r#"{"title":"A","type":"object"}"#);
}

#[test]
fn the_canonical_form_changes_when_a_reference_does() {
    let main = r#"{"$ref":"a.json"}"#;
    let with =
        |text: &str| JsonSchema::parse(main, &[Reference { name: "a.json".into(), schema: text.into() }]).unwrap().canonical();
    assert_eq!(with(r#"{"type":"string"}"#), "{\"$ref\":\"a.json\"}\na.json\n{\"type\":\"string\"}");
    assert_ne!(with(r#"{"type":"string"}"#), with(r#"{"type":"number"}"#));
}

#[test]
fn a_parsed_schema_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + std::fmt::Debug>() {}
    shareable::<JsonSchema>();
}
