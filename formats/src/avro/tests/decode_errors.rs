//! Datums that do not fit the writer's schema: each way is a `FitError`
//! naming where and what, never a panic — including every truncation and
//! random corruption of a valid datum.

use super::independent_encoder::{ORDER_SCHEMA, order_datum};
use super::{cat, decode_error, schema, sized, zz};

const ORDER: &str = r#"{"type":"record","name":"Order","fields":[
    {"name":"id","type":"long"},
    {"name":"customer","type":{"type":"record","name":"Customer","fields":[{"name":"name","type":"string"}]}},
    {"name":"items","type":{"type":"array","items":{"type":"record","name":"Item","fields":[{"name":"price","type":"int"}]}}},
    {"name":"attrs","type":{"type":"map","values":"boolean"}},
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
    {"name":"note","type":["null","string"]}]}"#;

fn order_prefix() -> Vec<u8> {
    cat(&[&zz(1), &sized(b"Ada")])
}

#[test]
fn a_truncated_datum_names_the_field_it_ends_in() {
    let error = decode_error(&schema(ORDER), &zz(1));
    assert_eq!(error.to_string(), "$.customer.name: datum ends inside a string");
    let error = decode_error(&schema(ORDER), &cat(&[&zz(1), &zz(3), b"Ad"]));
    assert_eq!(error.to_string(), "$.customer.name: datum ends inside a string (3 bytes needed, 2 left)");
    let error = decode_error(&schema("\"double\""), &[0; 7]);
    assert_eq!(error.to_string(), "$: datum ends inside a double (8 bytes needed, 7 left)");
}

#[test]
fn a_bad_varint_is_named() {
    let error = decode_error(&schema("\"long\""), &[0xff; 11]);
    assert_eq!(error.to_string(), "$: bad varint for a long: longer than 64 bits");
    let error = decode_error(&schema("\"int\""), &zz(1 << 31));
    assert_eq!(error.to_string(), "$: bad varint for a int: longer than 32 bits");
}

#[test]
fn an_element_error_names_its_index() {
    let datum = cat(&[&order_prefix(), &zz(3), &zz(1), &zz(2), &[0xff; 11]]);
    let error = decode_error(&schema(ORDER), &datum);
    assert_eq!(error.to_string(), "$.items[2].price: bad varint for a int: longer than 32 bits");
}

#[test]
fn a_map_value_error_names_its_key() {
    let datum = cat(&[&order_prefix(), &[0], &zz(1), &sized(b"gift"), &[7]]);
    let error = decode_error(&schema(ORDER), &datum);
    assert_eq!(error.to_string(), r#"$.attrs["gift"]: boolean byte is 7, not 0 or 1"#);
}

#[test]
fn an_enum_index_out_of_range_is_named() {
    let datum = cat(&[&order_prefix(), &[0], &[0], &zz(2)]);
    let error = decode_error(&schema(ORDER), &datum);
    assert_eq!(error.to_string(), "$.status: enum index 2 is out of range: Status has 2 symbols");
    let negative = cat(&[&order_prefix(), &[0], &[0], &zz(-1)]);
    assert!(decode_error(&schema(ORDER), &negative).message.contains("enum index -1"));
}

#[test]
fn a_union_branch_index_out_of_range_is_named() {
    let datum = cat(&[&order_prefix(), &[0], &[0], &zz(0), &zz(2)]);
    let error = decode_error(&schema(ORDER), &datum);
    assert_eq!(error.to_string(), "$.note: union branch index 2 is out of range: the union has 2 branches");
}

#[test]
fn invalid_utf8_in_a_string_or_map_key_is_named() {
    let datum = cat(&[&zz(1), &sized(b"A\xffa")]);
    let error = decode_error(&schema(ORDER), &datum);
    assert_eq!(error.to_string(), "$.customer.name: string is not valid UTF-8 (at byte 1)");
    let map = schema(r#"{"type":"map","values":"null"}"#);
    let error = decode_error(&map, &cat(&[&zz(1), &sized(b"\xc3"), &[0]]));
    assert_eq!(error.to_string(), "$: map key is not valid UTF-8 (at byte 0)");
}

#[test]
fn a_negative_length_is_named() {
    let error = decode_error(&schema(ORDER), &cat(&[&zz(1), &zz(-4)]));
    assert_eq!(error.to_string(), "$.customer.name: string has a negative length -4");
    let error = decode_error(&schema("\"bytes\""), &zz(-1));
    assert_eq!(error.to_string(), "$: bytes has a negative length -1");
}

#[test]
fn trailing_bytes_after_the_datum_are_refused() {
    let error = decode_error(&schema("\"long\""), &[0x02, 0x00, 0x00]);
    assert_eq!(error.to_string(), "$: 2 bytes left after the datum");
}

#[test]
fn a_block_count_the_datum_cannot_hold_is_refused_before_looping() {
    let longs = schema(r#"{"type":"array","items":"long"}"#);
    let error = decode_error(&longs, &cat(&[&zz(i64::MAX), &[0; 3]]));
    assert_eq!(error.to_string(), format!("$: array block of {} elements does not fit in the 3 bytes left", i64::MAX));
    let nulls = schema(r#"{"type":"array","items":"null"}"#);
    let error = decode_error(&nulls, &cat(&[&zz(i64::MIN), &zz(0)]));
    assert_eq!(error.message, format!("array block of {} elements of no bytes passes the limit of 65536 per datum", 1u64 << 63));
    let ok = super::decoded(&nulls, &cat(&[&zz(3), &[0]]));
    assert_eq!(ok, "[null,null,null]");
    // Each inner array takes bytes, but the nulls in all of them count.
    let nested = schema(r#"{"type":"array","items":{"type":"array","items":"null"}}"#);
    let mut datum = zz(100);
    (0..100).for_each(|_| datum.extend(cat(&[&zz(1000), &[0]])));
    datum.push(0);
    assert!(decode_error(&nested, &datum).message.contains("passes the limit"));
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_without_exhausting_the_stack() {
    let list = schema(r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#);
    let datum = vec![2u8; 100_000];
    let error = decode_error(&list, &datum);
    assert_eq!(error.message, "values nest deeper than 128 levels");
    assert!(error.path.starts_with("$.next.next."));
}

#[test]
fn a_decimal_too_long_to_print_is_refused() {
    let decimal = schema(r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":0}"#);
    let mut huge = vec![0x7f];
    huge.extend(vec![0xff; 2000]);
    assert_eq!(decode_error(&decimal, &sized(&huge)).message, "decimal of 2001 bytes is too long to print");
}

#[test]
fn every_truncation_of_a_valid_datum_fails_cleanly() {
    let schema = schema(ORDER_SCHEMA);
    let datum = order_datum();
    for len in 0..datum.len() {
        let mut out = Vec::new();
        assert!(schema.decode(&datum[..len], &mut out).is_err(), "a datum cut at {len} of {} decoded", datum.len());
        assert!(out.is_empty());
    }
}

#[test]
fn random_corruption_of_a_valid_datum_never_panics() {
    let schema = schema(ORDER_SCHEMA);
    let datum = order_datum();
    // A small xorshift generator: the same corruptions on every run.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::new();
    let mut failed = 0;
    for round in 0..20_000 {
        let mut corrupt = datum.clone();
        for _ in 0..1 + round % 4 {
            let at = (next() as usize) % corrupt.len();
            corrupt[at] = next() as u8;
        }
        out.clear();
        if schema.decode(&corrupt, &mut out).is_err() {
            failed += 1;
            assert!(out.is_empty());
        } else {
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok(), "decoded to invalid JSON");
        }
    }
    for _ in 0..2_000 {
        let garbage: Vec<u8> = (0..next() % 2048).map(|_| next() as u8).collect();
        out.clear();
        let _ = schema.decode(&garbage, &mut out);
    }
    assert!(failed > 1_000, "only {failed} corruptions were noticed");
}
