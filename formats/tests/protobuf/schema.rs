//! Parsing `.proto` text: references, errors, the record name and the
//! canonical form.

use eoshost_formats::Reference;
use eoshost_formats::protobuf::ProtoSchema;

use crate::common::*;

const CUSTOMER: &str = r#"syntax = "proto3";
package shop.common;
message Customer { string name = 1; }"#;

const ORDER: &str = r#"syntax = "proto3";
package shop.v2;
import "shop/common/customer.proto";
message Order {
  string id = 1;
  shop.common.Customer customer = 2;
}"#;

fn customer_reference(text: &str) -> Reference {
    Reference { name: "shop/common/customer.proto".into(), schema: text.into() }
}

#[test]
fn an_imported_file_resolves_from_the_references() {
    let schema = ProtoSchema::parse(ORDER, &[customer_reference(CUSTOMER)]).unwrap();
    let json = r#"{"id":"o-1","customer":{"name":"Ada"}}"#;
    assert_eq!(round_trip(&schema, json), json);
}

#[test]
fn an_import_with_no_reference_is_a_schema_error_naming_it() {
    let error = ProtoSchema::parse(ORDER, &[]).unwrap_err();
    assert!(error.0.contains("shop/common/customer.proto"), "{error}");
}

#[test]
fn a_syntax_error_is_a_schema_error_with_its_line_and_column() {
    let error = ProtoSchema::parse("syntax = \"proto3\";\nmessage A {\n  string a = ;\n}", &[]).unwrap_err();
    assert!(error.0.contains("schema.proto:3:"), "{error}");
}

#[test]
fn a_syntax_error_in_a_reference_names_the_reference() {
    let error = ProtoSchema::parse(ORDER, &[customer_reference("message {")]).unwrap_err();
    assert!(error.0.contains("shop/common/customer.proto:1:"), "{error}");
}

#[test]
fn a_file_with_no_message_is_a_schema_error() {
    let error = ProtoSchema::parse("syntax = \"proto3\"; enum E { E_ZERO = 0; }", &[]).unwrap_err();
    assert!(error.0.contains("no message"), "{error}");
}

#[test]
fn the_record_name_is_the_full_name_of_the_first_message() {
    assert_eq!(shop().record_name().as_deref(), Some("shop.v1.Order"));
    let unpackaged = ProtoSchema::parse("syntax = \"proto3\"; message Bare {}", &[]).unwrap();
    assert_eq!(unpackaged.record_name().as_deref(), Some("Bare"));
}

#[test]
fn the_canonical_form_ignores_whitespace_and_comments() {
    let spaced = SHOP.replace("  ", "\t\t").replace("message Customer {", "// people\nmessage Customer   {");
    assert_eq!(ProtoSchema::parse(&spaced, &[]).unwrap().canonical(), shop().canonical());
}

#[test]
fn the_canonical_form_changes_with_a_field() {
    let renumbered = SHOP.replace("string sku = 1;", "string sku = 3;");
    assert_ne!(ProtoSchema::parse(&renumbered, &[]).unwrap().canonical(), shop().canonical());
}

#[test]
fn the_canonical_form_changes_when_an_imported_file_does() {
    let before = ProtoSchema::parse(ORDER, &[customer_reference(CUSTOMER)]).unwrap();
    let changed = CUSTOMER.replace("string name = 1;", "string name = 1; string email = 2;");
    let after = ProtoSchema::parse(ORDER, &[customer_reference(&changed)]).unwrap();
    assert_ne!(before.canonical(), after.canonical());
}

#[test]
fn a_parsed_schema_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + std::fmt::Debug>() {}
    shareable::<ProtoSchema>();
}
