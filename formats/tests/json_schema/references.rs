//! `$ref` to the schemas a registry lists as references, resolved from
//! memory and never fetched.

use eoshost_formats::Reference;
use eoshost_formats::json_schema::JsonSchema;

const CUSTOMER: &str = r#"{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}"#;

fn reference(name: &str) -> Reference {
    Reference { name: name.into(), schema: CUSTOMER.into() }
}

#[test]
fn a_ref_by_file_name_resolves_to_the_reference_of_that_name() {
    let schema = r#"{"type":"object","properties":{"customer":{"$ref":"customer.json"}}}"#;
    let schema = JsonSchema::parse(schema, &[reference("customer.json")]).unwrap();
    schema.decode(br#"{"customer":{"name":"Ada"}}"#, &mut Vec::new()).unwrap();
    let error = schema.decode(br#"{"customer":{"name":7}}"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.customer.name");
}

#[test]
fn a_relative_ref_resolves_against_the_schema_id() {
    let schema = r#"{"$id":"https://example.com/schemas/order.json","properties":{"customer":{"$ref":"customer.json"}}}"#;
    let schema = JsonSchema::parse(schema, &[reference("customer.json")]).unwrap();
    let error = schema.decode(br#"{"customer":{}}"#, &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$.customer");
}

#[test]
fn a_reference_named_by_absolute_url_resolves() {
    let schema = r#"{"properties":{"customer":{"$ref":"https://example.com/customer.json"}}}"#;
    let schema = JsonSchema::parse(schema, &[reference("https://example.com/customer.json")]).unwrap();
    assert!(schema.decode(br#"{"customer":{"name":1}}"#, &mut Vec::new()).is_err());
}

#[test]
fn a_ref_into_a_reference_resolves_its_fragment() {
    let definitions = r#"{"definitions":{"sku":{"type":"string","pattern":"^[A-Z]+$"}}}"#;
    let schema = r#"{"properties":{"sku":{"$ref":"common.json#/definitions/sku"}}}"#;
    let schema = JsonSchema::parse(schema, &[Reference { name: "common.json".into(), schema: definitions.into() }]).unwrap();
    schema.decode(br#"{"sku":"ABC"}"#, &mut Vec::new()).unwrap();
    assert_eq!(schema.decode(br#"{"sku":"abc"}"#, &mut Vec::new()).unwrap_err().path, "$.sku");
}

#[test]
fn a_ref_with_no_reference_is_a_schema_error_not_a_fetch() {
    let schema = r#"{"properties":{"customer":{"$ref":"https://example.com/customer.json"}}}"#;
    let error = JsonSchema::parse(schema, &[]).unwrap_err();
    assert!(error.0.contains("https://example.com/customer.json"), "{error}");
}

#[test]
fn a_reference_that_is_not_json_is_a_schema_error_naming_it() {
    let broken = Reference { name: "customer.json".into(), schema: "{".into() };
    let error = JsonSchema::parse(r#"{"$ref":"customer.json"}"#, &[broken]).unwrap_err();
    assert!(error.0.contains("customer.json"), "{error}");
}
