//! Which draft validates a schema: the one its `$schema` names, draft 7
//! when it names none.

use eoshost_formats::json_schema::{JsonSchema, JsonSchemaDraft};

fn draft_of(schema_uri: &str) -> JsonSchemaDraft {
    JsonSchema::parse(&format!(r#"{{"$schema":"{schema_uri}","type":"object"}}"#), &[]).unwrap().draft()
}

fn accepts(schema: &JsonSchema, json: &str) -> bool {
    schema.decode(json.as_bytes(), &mut Vec::new()).is_ok()
}

#[test]
fn each_supported_draft_is_detected_from_its_schema_uri() {
    assert_eq!(draft_of("http://json-schema.org/draft-04/schema#"), JsonSchemaDraft::Draft4);
    assert_eq!(draft_of("http://json-schema.org/draft-06/schema#"), JsonSchemaDraft::Draft6);
    assert_eq!(draft_of("http://json-schema.org/draft-07/schema#"), JsonSchemaDraft::Draft7);
    assert_eq!(draft_of("https://json-schema.org/draft/2019-09/schema"), JsonSchemaDraft::Draft201909);
    assert_eq!(draft_of("https://json-schema.org/draft/2020-12/schema"), JsonSchemaDraft::Draft202012);
}

#[test]
fn a_schema_without_schema_uri_is_draft_7() {
    let schema = JsonSchema::parse(r#"{"items":[{"type":"string"},{"type":"number"}]}"#, &[]).unwrap();
    assert_eq!(schema.draft(), JsonSchemaDraft::Draft7);
    // Draft 7's tuple form of `items`.
    assert!(accepts(&schema, r#"["a",1]"#));
    assert!(!accepts(&schema, r#"["a","b"]"#));
}

#[test]
fn draft_4_reads_exclusive_maximum_as_a_boolean() {
    let schema = r#"{"$schema":"http://json-schema.org/draft-04/schema#","maximum":5,"exclusiveMaximum":true}"#;
    let schema = JsonSchema::parse(schema, &[]).unwrap();
    assert!(accepts(&schema, "4"));
    assert!(!accepts(&schema, "5"));
}

#[test]
fn draft_2020_12_reads_prefix_items() {
    let schema = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}]}"#;
    let schema = JsonSchema::parse(schema, &[]).unwrap();
    assert!(accepts(&schema, r#"["a",1]"#));
    assert!(!accepts(&schema, "[1]"));
}

#[test]
fn draft_2019_09_reads_dependent_required() {
    let schema = r#"{"$schema":"https://json-schema.org/draft/2019-09/schema","dependentRequired":{"card":["cvv"]}}"#;
    let schema = JsonSchema::parse(schema, &[]).unwrap();
    assert!(accepts(&schema, r#"{"card":"4111","cvv":"123"}"#));
    assert!(!accepts(&schema, r#"{"card":"4111"}"#));
}

#[test]
fn an_unknown_schema_uri_is_a_schema_error() {
    let error = JsonSchema::parse(r#"{"$schema":"https://example.com/my-meta"}"#, &[]).unwrap_err();
    assert!(error.0.contains("unsupported $schema"), "{error}");
}

#[test]
fn formats_are_checked_up_to_draft_7_and_only_annotate_after() {
    let email = |schema_uri: &str| {
        let schema = format!(r#"{{"$schema":"{schema_uri}","format":"email"}}"#);
        accepts(&JsonSchema::parse(&schema, &[]).unwrap(), r#""not an address""#)
    };
    assert!(!email("http://json-schema.org/draft-07/schema#"));
    assert!(email("https://json-schema.org/draft/2020-12/schema"));
}
