//! Schemas that use named types defined in other registered schemas.

use super::{both_ways, cat, sized, zz};
use crate::Reference;
use crate::avro::AvroSchema;

fn money() -> Reference {
    Reference {
        name: "com.acme.Money".into(),
        schema: r#"{"type":"record","name":"Money","namespace":"com.acme","fields":[
            {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
            {"name":"currency","type":"com.acme.Currency"}]}"#
            .into(),
    }
}

fn currency() -> Reference {
    Reference {
        name: "com.acme.Currency".into(),
        schema: r#"{"type":"enum","name":"Currency","namespace":"com.acme","symbols":["EUR","USD"]}"#.into(),
    }
}

const INVOICE: &str = r#"{"type":"record","name":"Invoice","namespace":"com.acme","fields":[
    {"name":"total","type":"Money"},
    {"name":"paid","type":["null","com.acme.Money"]}]}"#;

#[test]
fn types_from_references_decode_and_encode_like_inline_ones() {
    let invoice = AvroSchema::parse(INVOICE, &[currency(), money()]).unwrap();
    let datum = cat(&[&sized(&[0x04, 0xd2]), &zz(1), &zz(1), &sized(&[0x01]), &zz(0)]);
    both_ways(&invoice, &datum, r#"{"total":{"amount":"12.34","currency":"USD"},"paid":{"amount":"0.01","currency":"EUR"}}"#);
    assert_eq!(invoice.record_name().as_deref(), Some("com.acme.Invoice"));
}

#[test]
fn the_canonical_form_spells_out_referenced_types() {
    let invoice = AvroSchema::parse(INVOICE, &[currency(), money()]).unwrap();
    assert_eq!(
        invoice.canonical(),
        concat!(
            r#"{"name":"com.acme.Invoice","type":"record","fields":[{"name":"total","type":{"name":"com.acme.Money","type":"record","fields":["#,
            r#"{"name":"amount","type":"bytes"},{"name":"currency","type":{"name":"com.acme.Currency","type":"enum","symbols":["EUR","USD"]}}]}},"#,
            r#"{"name":"paid","type":["null","com.acme.Money"]}]}"#
        )
    );
}

#[test]
fn a_missing_reference_is_a_schema_error_naming_the_type() {
    let error = AvroSchema::parse(INVOICE, &[currency()]).unwrap_err();
    assert_eq!(error.0, "Avro schema: unknown type com.acme.Money (not defined in the schema nor in its references)");
}

#[test]
fn a_reference_that_does_not_parse_is_named_in_the_error() {
    let broken = Reference { name: "com.acme.Currency".into(), schema: "{".into() };
    let error = AvroSchema::parse(INVOICE, &[broken]).unwrap_err();
    assert!(error.0.starts_with("Avro schema reference \"com.acme.Currency\": not JSON"), "{}", error.0);
}
