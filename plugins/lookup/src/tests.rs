//! Every rule of the crate's `//!` doc, natively, against the SDK's table
//! test double. A lookup in a table that was never filled panics, so a test
//! that leaves `customers` unfilled also proves no lookup happened.

use super::*;

fn lookup() -> Lookup {
    tables::clear();
    Lookup::init(Config::from_pairs([("table", "customers"), ("key_field", "customer_id"), ("as", "customer")])).unwrap()
}

fn join(plugin: &Lookup, value: &str) -> Result<String, String> {
    plugin.join(Some(value.as_bytes())).map_err(|r| r.reason)
}

#[test]
fn field_as_is_appended_after_the_input_fields() {
    let plugin = lookup();
    tables::insert("customers", b"c1", br#"{"name":"Ada","tier":2}"#);
    assert_eq!(
        join(&plugin, r#"{"order_id":"o1","customer_id":"c1","quantity":3}"#).unwrap(),
        r#"{"order_id":"o1","customer_id":"c1","quantity":3,"customer":{"name":"Ada","tier":2}}"#
    );
}

#[test]
fn field_as_already_present_is_replaced_in_place() {
    let plugin = lookup();
    tables::insert("customers", b"c1", b"\"Ada\"");
    assert_eq!(
        join(&plugin, r#"{"customer":{"stale":true},"customer_id":"c1","z":0}"#).unwrap(),
        r#"{"customer":"Ada","customer_id":"c1","z":0}"#
    );
}

#[test]
fn absent_key_gives_null() {
    let plugin = lookup();
    tables::create("customers");
    assert_eq!(join(&plugin, r#"{"customer_id":"nobody"}"#).unwrap(), r#"{"customer_id":"nobody","customer":null}"#);
}

#[test]
fn missing_or_non_string_key_field_gives_null_without_a_lookup() {
    let plugin = lookup(); // "customers" left unfilled: a lookup would panic
    for (value, expected) in [
        (r#"{}"#, r#"{"customer":null}"#),
        (r#"{"a":1}"#, r#"{"a":1,"customer":null}"#),
        (r#"{"customer_id":7}"#, r#"{"customer_id":7,"customer":null}"#),
        (r#"{"customer_id":null}"#, r#"{"customer_id":null,"customer":null}"#),
        (r#"{"customer_id":["c1"]}"#, r#"{"customer_id":["c1"],"customer":null}"#),
        (r#"{"customer_id":{"id":"c1"}}"#, r#"{"customer_id":{"id":"c1"},"customer":null}"#),
        (r#"{"nested":{"customer_id":"c1"}}"#, r#"{"nested":{"customer_id":"c1"},"customer":null}"#),
        (r#"{"customer_id":"c1","customer_id":false}"#, r#"{"customer_id":false,"customer":null}"#),
    ] {
        assert_eq!(join(&plugin, value).unwrap(), expected, "{value}");
    }
}

#[test]
fn repeated_field_keeps_its_first_position_and_its_last_value() {
    let plugin = lookup();
    tables::insert("customers", b"c2", b"2");
    assert_eq!(
        join(&plugin, r#"{"a":1,"customer_id":"c1","b":2,"a":3,"customer_id":"c2","customer":0,"customer":1}"#).unwrap(),
        r#"{"a":3,"customer_id":"c2","b":2,"customer":2}"#
    );
}

#[test]
fn keys_are_compared_and_looked_up_decoded() {
    let plugin = lookup();
    tables::insert("customers", "é😀/\"".as_bytes(), b"true");
    assert_eq!(
        join(&plugin, r#"{"\u0063ustomer_id":"\u00e9\ud83d\ude00\/\"","customer_\u0069d":"\u00e9\uD83D\uDE00/\u0022"}"#).unwrap(),
        r#"{"customer_id":"é😀/\"","customer":true}"#
    );
}

#[test]
fn numbers_are_copied_as_written() {
    let plugin = lookup();
    tables::insert("customers", b"c1", b"[1e5,1E+05,-0,-0.0,1.50,123456789012345678901234567890,2e-999999]");
    assert_eq!(
        join(&plugin, r#"{"n":1.0e-7,"big":-98765432109876543210987654321,"customer_id":"c1"}"#).unwrap(),
        r#"{"n":1.0e-7,"big":-98765432109876543210987654321,"customer_id":"c1","customer":[1e5,1E+05,-0,-0.0,1.50,123456789012345678901234567890,2e-999999]}"#
    );
}

#[test]
fn whitespace_outside_strings_is_dropped() {
    let plugin = lookup();
    tables::insert("customers", b"c1", b" \r\n{ \"a b\" : [ 1 , \" x \" ] , \"c\" : { } }\t");
    assert_eq!(
        join(&plugin, " {\n\t\"customer_id\" :\r \"c1\" , \"e\" : [ ] } ").unwrap(),
        r#"{"customer_id":"c1","e":[],"customer":{"a b":[1," x "],"c":{}}}"#
    );
}

#[test]
fn strings_escape_only_quote_backslash_and_controls() {
    let plugin = lookup();
    tables::insert("customers", b"c1", br#""\u0000\u001F\u007f\b\f\n\r\t\u000b""#);
    let value = r#"{"s":"a\"b\\c\/d<>&\u2028é😀","customer_id":"c1"}"#;
    assert_eq!(
        join(&plugin, value).unwrap(),
        "{\"s\":\"a\\\"b\\\\c/d<>&\u{2028}é😀\",\"customer_id\":\"c1\",\"customer\":\"\\u0000\\u001f\u{7f}\\b\\f\\n\\r\\t\\u000b\"}"
    );
}

#[test]
fn nested_objects_keep_every_member_as_written() {
    let plugin = lookup();
    tables::insert("customers", b"c1", br#"{"id":1,"id":2,"x":{"k":[],"k":{}}}"#);
    assert_eq!(
        join(&plugin, r#"{"meta":{"a":1,"a":2},"customer_id":"c1"}"#).unwrap(),
        r#"{"meta":{"a":1,"a":2},"customer_id":"c1","customer":{"id":1,"id":2,"x":{"k":[],"k":{}}}}"#
    );
}

#[test]
fn table_value_of_any_json_type_is_written_compact() {
    let plugin = lookup();
    for (table_value, written) in
        [("null", "null"), (" false ", "false"), ("\"\\u00e9\"", "\"é\""), ("[ ]", "[]"), ("-12.5E3", "-12.5E3")]
    {
        tables::insert("customers", b"c1", table_value.as_bytes());
        assert_eq!(
            join(&plugin, r#"{"customer_id":"c1"}"#).unwrap(),
            format!(r#"{{"customer_id":"c1","customer":{written}}}"#),
            "{table_value}"
        );
    }
}

#[test]
fn table_value_that_is_not_json_is_rejected_naming_table_and_key() {
    let plugin = lookup();
    for table_value in [&b"not json"[..], b"", b"{\"a\":1} x", b"\"\\ud800\"", b"\"\xff\"", b"NaN"] {
        tables::insert("customers", "c\"1\n".as_bytes(), table_value);
        assert_eq!(
            join(&plugin, r#"{"customer_id":"c\"1\n"}"#).unwrap_err(),
            r#"the value of key "c\"1\n" in table "customers" is not valid JSON"#,
            "{}",
            String::from_utf8_lossy(table_value)
        );
    }
}

#[test]
fn values_that_are_not_json_objects_are_rejected_with_their_reason() {
    let plugin = lookup();
    for (value, reason) in [
        ("not json", "value is not valid JSON"),
        ("", "value is not valid JSON"),
        (r#"{"a":1} x"#, "value is not valid JSON"),
        (r#"{"a":01}"#, "value is not valid JSON"),
        (r#"{"a":1,}"#, "value is not valid JSON"),
        (r#"{"a":NaN}"#, "value is not valid JSON"),
        (r#"{"a":.5}"#, "value is not valid JSON"),
        (r#"{"a":1.}"#, "value is not valid JSON"),
        (r#"{"a":1e}"#, "value is not valid JSON"),
        (r#"{"a":"\x41"}"#, "value is not valid JSON"),
        (r#"{"a":"\u12"}"#, "value is not valid JSON"),
        (r#"{"a":"\u+123"}"#, "value is not valid JSON"),
        ("{\"a\":\"tab\there\"}", "value is not valid JSON"),
        ("\u{feff}{}", "value is not valid JSON"),
        ("{\"a\":1}\u{a0}", "value is not valid JSON"),
        ("[1,2]", "value is not a JSON object"),
        ("\"{}\"", "value is not a JSON object"),
        (" 42 ", "value is not a JSON object"),
        ("null", "value is not a JSON object"),
    ] {
        assert_eq!(join(&plugin, value).unwrap_err(), reason, "{value}");
    }
    assert_eq!(plugin.join(Some(b"{\"a\":\"\xff\"}")).unwrap_err().reason, "value is not valid JSON");
    assert_eq!(plugin.join(None).unwrap_err().reason, "value is missing");
}

#[test]
fn lone_surrogate_escapes_are_rejected_even_in_an_overridden_member() {
    let plugin = lookup();
    for value in [
        r#"{"a":"\ud800"}"#,
        r#"{"a":"\udc00"}"#,
        r#"{"a":"\ud83d\u0041"}"#,
        r#"{"a":"\ud83d\n"}"#,
        r#"{"a":"\ud83d"}"#,
        r#"{"\ud800":1}"#,
        r#"{"a":"\ud800","a":"ok"}"#,
        r#"{"a":[{"b":"\udfff"}]}"#,
    ] {
        assert_eq!(join(&plugin, value).unwrap_err(), "value is not valid JSON", "{value}");
    }
}

#[test]
fn deep_nesting_is_copied_without_recursion() {
    let plugin = lookup();
    let deep = format!("{}{}", "[{\"a\":".repeat(100_000), "}]".repeat(100_000)).replace(":}", ":1}");
    tables::insert("customers", b"c1", deep.as_bytes());
    let value = format!(r#"{{"d": {deep} ,"customer_id":"c1"}}"#);
    assert_eq!(join(&plugin, &value).unwrap(), format!(r#"{{"d":{deep},"customer_id":"c1","customer":{deep}}}"#));
    assert_eq!(join(&plugin, &value[..value.len() - 1]).unwrap_err(), "value is not valid JSON");
}

#[test]
fn key_and_headers_pass_through_to_the_default_output() {
    let mut plugin = lookup();
    tables::insert("customers", b"c1", b"1");
    let input = InputRecord::with_value(r#"{"customer_id":"c1"}"#).key("k").header("h", "v").header("h", "w");
    let out = plugin.transform(input).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].topic, None);
    assert_eq!(out[0].key.as_deref(), Some(&b"k"[..]));
    let headers: Vec<(&str, &[u8])> = out[0].headers.iter().map(|h| (h.key.as_str(), h.value.as_slice())).collect();
    assert_eq!(headers, [("h", &b"v"[..]), ("h", b"w")]);
    assert_eq!(out[0].value.as_deref(), Some(&br#"{"customer_id":"c1","customer":1}"#[..]));
}

#[test]
fn config_needs_all_three_keys_and_refuses_others() {
    let init = |pairs: &[(&'static str, &'static str)]| Lookup::init(Config::from_pairs(pairs.iter().copied())).err();
    assert_eq!(init(&[("table", "t"), ("key_field", "k"), ("as", "a"), ("mode", "x")]).unwrap(), "unknown config key \"mode\"");
    assert_eq!(init(&[("tabel", "t")]).unwrap(), "unknown config key \"tabel\"");
    assert!(init(&[("key_field", "k"), ("as", "a")]).unwrap().starts_with("config key \"table\" is required"));
    assert!(init(&[("table", "t"), ("as", "a")]).unwrap().starts_with("config key \"key_field\" is required"));
    assert!(init(&[("table", "t"), ("key_field", "k")]).unwrap().starts_with("config key \"as\" is required"));
    assert!(init(&[("table", "t"), ("key_field", "k"), ("as", "a")]).is_none());
}
