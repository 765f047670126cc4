//! Unions: a nullable one is `null` or the plain value, whichever side the
//! null is on; one with two or more non-null branches is wrapped as
//! `{"<branch>": value}`, and encoding also takes a plain value that only
//! one branch fits.

use super::{both_ways, cat, decoded, encode_error, encoded, schema, sized, zz};

#[test]
fn a_nullable_union_is_null_or_the_plain_value_with_null_first() {
    let nullable = schema(r#"["null","string"]"#);
    both_ways(&nullable, &zz(0), "null");
    both_ways(&nullable, &cat(&[&zz(1), &sized(b"x")]), "\"x\"");
}

#[test]
fn a_nullable_union_is_null_or_the_plain_value_with_null_last() {
    let nullable = schema(r#"["long","null"]"#);
    both_ways(&nullable, &zz(1), "null");
    both_ways(&nullable, &cat(&[&zz(0), &zz(7)]), "7");
}

#[test]
fn a_nullable_record_is_its_object() {
    let nullable = schema(r#"["null",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]"#);
    both_ways(&nullable, &cat(&[&zz(1), &zz(3)]), r#"{"x":3}"#);
}

#[test]
fn a_union_of_one_branch_is_the_plain_value() {
    both_ways(&schema(r#"["string"]"#), &cat(&[&zz(0), &sized(b"x")]), "\"x\"");
}

#[test]
fn multi_branch_unions_wrap_values_in_the_branch_name_and_leave_null_plain() {
    let union = schema(
        r#"["null","string","long",{"type":"record","name":"com.acme.Card","fields":[{"name":"last4","type":"string"}]},
            {"type":"array","items":"int"},{"type":"map","values":"int"},
            {"type":"enum","name":"com.acme.Kind","symbols":["A"]},{"type":"fixed","name":"Two","size":2}]"#,
    );
    both_ways(&union, &zz(0), "null");
    both_ways(&union, &cat(&[&zz(1), &sized(b"x")]), r#"{"string":"x"}"#);
    both_ways(&union, &cat(&[&zz(2), &zz(-3)]), r#"{"long":-3}"#);
    both_ways(&union, &cat(&[&zz(3), &sized(b"4242")]), r#"{"com.acme.Card":{"last4":"4242"}}"#);
    both_ways(&union, &cat(&[&zz(4), &zz(1), &zz(5), &[0]]), r#"{"array":[5]}"#);
    both_ways(&union, &cat(&[&zz(5), &[0]]), r#"{"map":{}}"#);
    both_ways(&union, &cat(&[&zz(6), &zz(0)]), r#"{"com.acme.Kind":"A"}"#);
    both_ways(&union, &cat(&[&zz(7), b"hi"]), r#"{"Two":"aGk="}"#);
}

#[test]
fn logical_types_in_a_wrapped_union_are_labelled_by_their_underlying_type() {
    let union = schema(r#"["null","string",{"type":"long","logicalType":"timestamp-millis"}]"#);
    both_ways(&union, &cat(&[&zz(2), &zz(0)]), r#"{"long":"1970-01-01T00:00:00.000Z"}"#);
}

#[test]
fn a_plain_value_that_only_one_branch_fits_encodes_as_that_branch() {
    let union = schema(r#"["null","string","long"]"#);
    assert_eq!(encoded(&union, "\"abc\""), cat(&[&zz(1), &sized(b"abc")]));
    assert_eq!(encoded(&union, "12"), cat(&[&zz(2), &zz(12)]));
    let with_record = schema(r#"["string",{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}]"#);
    assert_eq!(encoded(&with_record, r#"{"a":1}"#), cat(&[&zz(1), &zz(1)]));
    let with_double = schema(r#"["string","double"]"#);
    assert_eq!(encoded(&with_double, "1.5"), cat(&[&zz(1), &1.5f64.to_le_bytes()]));
}

#[test]
fn a_one_key_object_naming_no_branch_is_a_plain_value() {
    let union = schema(r#"["string",{"type":"map","values":"long"}]"#);
    let datum = cat(&[&zz(1), &zz(1), &sized(b"k"), &zz(1), &[0]]);
    assert_eq!(encoded(&union, r#"{"k":1}"#), datum);
    assert_eq!(decoded(&union, &datum), r#"{"map":{"k":1}}"#);
}

#[test]
fn a_plain_value_that_several_branches_fit_is_refused_naming_them() {
    let union = schema(r#"["null","int","long","string"]"#);
    let error = encode_error(&union, "5");
    assert_eq!(error.path, "$");
    assert_eq!(
        error.message,
        r#"found number 5, which fits more than one of the union's branches ["int","long"]: write it as {"<branch>": value}"#
    );
    assert_eq!(encoded(&union, r#"{"int":5}"#), cat(&[&zz(1), &zz(5)]));
}

#[test]
fn a_value_no_branch_fits_is_refused_naming_the_branches() {
    let union = schema(r#"["null","string","long"]"#);
    let error = encode_error(&union, "true");
    assert_eq!(
        error.message,
        r#"expected one of the union's branches ["null","string","long"] (a plain value of one of them, or {"<branch>": value}), found boolean true"#
    );
    let nullable = schema(r#"{"type":"record","name":"R","fields":[{"name":"n","type":["null","long"]}]}"#);
    let error = encode_error(&nullable, r#"{"n":"abc"}"#);
    assert_eq!(error.to_string(), r#"$.n: expected long, found string "abc""#);
}

#[test]
fn a_wrapper_naming_a_branch_must_hold_a_value_of_it() {
    let union = schema(r#"["null","string","long"]"#);
    let error = encode_error(&union, r#"{"long":"x"}"#);
    assert_eq!(error.message, r#"expected long, found string "x""#);
}
