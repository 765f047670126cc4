//! Every rule of the crate's `//!` doc, natively, against the SDK's table
//! test double. A lookup in a table that was never filled panics, so a test
//! that leaves `customers` unfilled also proves no lookup happened. The
//! last tests prove the fast path for compact input writes what the general
//! path writes, and leaves to it whatever it cannot prove compact.

use super::*;

fn lookup() -> Lookup {
    tables::clear();
    Lookup::init(Config::from_pairs([("table", "customers"), ("key_field", "customer_id"), ("as", "customer")])).unwrap()
}

fn join(plugin: &Lookup, value: &str) -> Result<String, String> {
    text(plugin.join(Some(value.as_bytes())))
}

fn text(joined: Result<Vec<u8>, Rejection>) -> Result<String, String> {
    joined.map(|bytes| String::from_utf8(bytes).expect("output is UTF-8")).map_err(|r| r.reason)
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

/// `value` through `join` and through the general path alone: the same
/// result, and whether the fast path took it.
fn both_paths(plugin: &Lookup, value: &str) -> (Result<String, String>, bool) {
    let joined = join(plugin, value);
    assert_eq!(joined, text(plugin.join_rewriting(value.as_bytes())), "{value}");
    let mut members = Vec::new();
    let fast = canonical::object(value.as_bytes(), &mut members) && distinct(value.as_bytes(), &members);
    (joined, fast)
}

#[test]
fn compact_input_is_spliced_without_rewriting() {
    let plugin = lookup();
    tables::insert("customers", b"c1", br#"{"name":"Ada","tags":["a\"b",{}],"n":-1.50e+3}"#);
    tables::insert("customers", "c\"1\n\u{1}".as_bytes(), b"[true,false,null]");
    let ada = r#"{"name":"Ada","tags":["a\"b",{}],"n":-1.50e+3}"#;
    for (value, expected) in [
        ("{}".to_owned(), r#"{"customer":null}"#.to_owned()),
        (r#"{"customer":1}"#.to_owned(), r#"{"customer":null}"#.to_owned()),
        (r#"{"customer_id":"c1"}"#.to_owned(), format!(r#"{{"customer_id":"c1","customer":{ada}}}"#)),
        (r#"{"customer":[1,{"a":2}],"customer_id":"c1"}"#.to_owned(), format!(r#"{{"customer":{ada},"customer_id":"c1"}}"#)),
        (r#"{"a":{},"customer":"x","b":[]}"#.to_owned(), r#"{"a":{},"customer":null,"b":[]}"#.to_owned()),
        (r#"{"customer_id":"c1","customer":{}}"#.to_owned(), format!(r#"{{"customer_id":"c1","customer":{ada}}}"#)),
        (
            r#"{"customer_id":"nobody","x":"\u001f\t"}"#.to_owned(),
            r#"{"customer_id":"nobody","x":"\u001f\t","customer":null}"#.to_owned(),
        ),
        (
            r#"{"customer_id":"c\"1\n\u0001"}"#.to_owned(),
            r#"{"customer_id":"c\"1\n\u0001","customer":[true,false,null]}"#.to_owned(),
        ),
        (
            r#"{"customer_id":7,"n":[0,-0,1e999999]}"#.to_owned(),
            r#"{"customer_id":7,"n":[0,-0,1e999999],"customer":null}"#.to_owned(),
        ),
        (
            r#"{"customer_id":{"customer_id":"c1"}}"#.to_owned(),
            r#"{"customer_id":{"customer_id":"c1"},"customer":null}"#.to_owned(),
        ),
        (r#"{"customer\u0000":1,"é😀":"/<>&"}"#.to_owned(), r#"{"customer\u0000":1,"é😀":"/<>&","customer":null}"#.to_owned()),
    ] {
        assert_eq!(both_paths(&plugin, &value), (Ok(expected), true), "{value}");
    }
}

#[test]
fn a_table_value_not_yet_compact_is_rewritten_on_the_fast_path() {
    let plugin = lookup();
    for (table_value, joined) in [
        (&b" { \"a\" : [ 1 ] } "[..], Ok(r#"{"customer_id":"c1","customer":{"a":[1]}}"#)),
        (br#""\u00e9\/""#, Ok(r#"{"customer_id":"c1","customer":"é/"}"#)),
        (b"[1,]", Err(r#"the value of key "c1" in table "customers" is not valid JSON"#)),
        (b"{\"a\":\"\xff\"}", Err(r#"the value of key "c1" in table "customers" is not valid JSON"#)),
    ] {
        tables::insert("customers", b"c1", table_value);
        let expected = joined.map(str::to_owned).map_err(str::to_owned);
        assert_eq!(both_paths(&plugin, r#"{"customer_id":"c1"}"#), (expected, true), "{}", String::from_utf8_lossy(table_value));
    }
}

#[test]
fn input_the_fast_path_cannot_prove_compact_takes_the_general_path() {
    let plugin = lookup();
    tables::insert("customers", b"c1", b"1");
    let many: String = (0..40).map(|i| format!(r#""f{i}":{i},"#)).collect();
    for (value, expected) in [
        // repeated members, among few and among many
        (r#"{"a":1,"a":2}"#.to_owned(), r#"{"a":2,"customer":null}"#.to_owned()),
        (r#"{"customer":0,"customer_id":"c1","customer":2}"#.to_owned(), r#"{"customer":1,"customer_id":"c1"}"#.to_owned()),
        (format!(r#"{{{many}"f7":"again"}}"#), format!(r#"{{{}"customer":null}}"#, many.replace(r#""f7":7"#, r#""f7":"again""#))),
        // whitespace
        (r#"{"customer_id": "c1"}"#.to_owned(), r#"{"customer_id":"c1","customer":1}"#.to_owned()),
        ("{\"a\":[1,\n2]}".to_owned(), r#"{"a":[1,2],"customer":null}"#.to_owned()),
        // escapes compact() rewrites, in names and in values
        (r#"{"\u0063ustomer_id":"c1"}"#.to_owned(), r#"{"customer_id":"c1","customer":1}"#.to_owned()),
        (r#"{"customer_id":"\u0063\u0031"}"#.to_owned(), r#"{"customer_id":"c1","customer":1}"#.to_owned()),
        (r#"{"a":"\/\u001F"}"#.to_owned(), r#"{"a":"/\u001f","customer":null}"#.to_owned()),
        // nesting deeper than the proof follows
        (
            format!(r#"{{"d":{}1{}}}"#, "[".repeat(70), "]".repeat(70)),
            format!(r#"{{"d":{}1{},"customer":null}}"#, "[".repeat(70), "]".repeat(70)),
        ),
    ] {
        assert_eq!(both_paths(&plugin, &value), (Ok(expected), false), "{value}");
    }
    let distinct_many = format!(r#"{{{many}"customer_id":"c1"}}"#);
    assert_eq!(both_paths(&plugin, &distinct_many), (Ok(format!(r#"{{{many}"customer_id":"c1","customer":1}}"#)), true));
}

#[test]
fn invalid_input_that_looks_compact_gets_the_same_rejection() {
    let plugin = lookup();
    tables::insert("customers", b"c1", b"1");
    let valid = r#"{"customer_id":"c1","q":[-1.5e3,true,null,{"k":"v\n"}]}"#;
    // Every prefix, and every single-byte change to a byte that matters.
    let mut cases: Vec<Vec<u8>> = (0..valid.len()).map(|end| valid.as_bytes()[..end].to_vec()).collect();
    for at in 0..valid.len() {
        for byte in *b"\"\\,:{}[]0-.eu\x01 x" {
            let mut changed = valid.as_bytes().to_vec();
            changed[at] = byte;
            cases.push(changed);
        }
    }
    cases.extend(
        [&b"{\"a\":1}x"[..], b"{\"a\":01}", b"{\"a\":\"\\ud800\"}", b"{\"a\":\"\xff\"}", b"{\"a\":tru}"].map(<[u8]>::to_vec),
    );
    let mut rejected = 0;
    for case in &cases {
        let joined = plugin.join(Some(case)).map_err(|r| r.reason);
        assert_eq!(joined, plugin.join_rewriting(case).map_err(|r| r.reason), "{}", String::from_utf8_lossy(case));
        rejected += usize::from(joined.is_err());
    }
    assert!(rejected > cases.len() / 2, "{rejected} of {}", cases.len());
}
