//! Every rule of DESIGN §1.5, natively.

use super::*;

fn enrich(value: &str) -> Result<String, String> {
    let mut plugin = Enrich::init(Config::default()).unwrap();
    plugin
        .transform(InputRecord::with_value(value))
        .map(|out| String::from_utf8(out[0].value.clone().unwrap()).unwrap())
        .map_err(|r| r.reason)
}

fn order(country: &str, quantity: &str, price: &str) -> String {
    format!(r#"{{"order_id":"o1","customer_id":"c1","country":"{country}","quantity":{quantity},"unit_price_cents":{price}}}"#)
}

#[test]
fn keys_are_written_in_the_pinned_order_with_exact_total() {
    assert_eq!(
        enrich(&order("DE", "3", "250")).unwrap(),
        r#"{"order_id":"o1","customer_id":"c1","country":"DE","region":"EU","quantity":3,"unit_price_cents":250,"total_cents":750}"#
    );
}

#[test]
fn every_country_maps_to_its_region() {
    for (countries, expected) in
        [("DE FR NL ES IT PL SE", "EU"), ("US CA MX", "NA"), ("JP CN IN SG AU KR", "APAC"), ("BR de ZA  Us", "OTHER")]
    {
        for country in countries.split(' ') {
            assert_eq!(region(country), expected, "{country:?}");
        }
    }
}

#[test]
fn totals_above_two_to_the_53_are_exact() {
    let out = enrich(&order("US", "1000000000", "1000000000")).unwrap();
    assert!(out.ends_with(r#""total_cents":1000000000000000000}"#), "{out}");
    let out = enrich(&order("US", "999999937", "999999929")).unwrap();
    assert!(out.ends_with(r#""total_cents":999999866000004473}"#), "{out}");
}

#[test]
fn strings_escape_only_quote_backslash_and_controls() {
    let value = r#"{"order_id":"a\"b\\c\/d<>&\u2028é😀","customer_id":"\b\f\n\r\t\u0001\u001f\u007f","country":"FR","quantity":1,"unit_price_cents":1}"#;
    let out = enrich(value).unwrap();
    assert!(
        out.starts_with("{\"order_id\":\"a\\\"b\\\\c/d<>&\u{2028}é😀\",\"customer_id\":\"\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}\""),
        "{out}"
    );
}

#[test]
fn extra_fields_are_dropped_and_duplicates_keep_the_last() {
    let value = r#"{"x":{"deep":[1.5e300]},"order_id":"first","order_id":"last","customer_id":"c","country":"JP","quantity":0,"unit_price_cents":-0}"#;
    assert_eq!(
        enrich(value).unwrap(),
        r#"{"order_id":"last","customer_id":"c","country":"JP","region":"APAC","quantity":0,"unit_price_cents":0,"total_cents":0}"#
    );
}

#[test]
fn key_and_headers_pass_through_and_region_header_is_replaced() {
    let mut plugin = Enrich::init(Config::default()).unwrap();
    let input = InputRecord::with_value(order("MX", "1", "2")).key("k").header("region", "stale").header("trace", "t1");
    let out = plugin.transform(input).unwrap().remove(0);
    assert_eq!(out.key.as_deref(), Some(&b"k"[..]));
    let headers: Vec<(String, Vec<u8>)> = out.headers.into_iter().map(|h| (h.key, h.value)).collect();
    assert_eq!(headers, [("trace".into(), b"t1".to_vec()), ("region".into(), b"NA".to_vec())]);
}

#[test]
fn malformed_values_are_rejected_with_their_reason() {
    for (value, reason) in [
        ("not json", "value is not valid JSON"),
        (r#"{"a":1} x"#, "value is not valid JSON"),
        (r#"{"a":01}"#, "value is not valid JSON"),
        (r#"{"a":"\ud800"}"#, "value is not valid JSON"),
        ("[1,2]", "value is not a JSON object"),
        ("\"order\"", "value is not a JSON object"),
        ("{}", "missing field \"order_id\""),
        (r#"{"order_id":1}"#, "field \"order_id\" must be a string"),
        (r#"{"order_id":"o","customer_id":null}"#, "field \"customer_id\" must be a string"),
        (r#"{"order_id":"o","customer_id":"c"}"#, "missing field \"country\""),
        (&order("DE", "3.0", "1"), "field \"quantity\" must be an integer"),
        (&order("DE", "3e2", "1"), "field \"quantity\" must be an integer"),
        (&order("DE", "\"3\"", "1"), "field \"quantity\" must be an integer"),
        (&order("DE", "true", "1"), "field \"quantity\" must be an integer"),
        (&order("DE", "-1", "1"), "field \"quantity\" must be between 0 and 1000000000"),
        (&order("DE", "1000000001", "1"), "field \"quantity\" must be between 0 and 1000000000"),
        (&order("DE", "99999999999999999999999", "1"), "field \"quantity\" must be between 0 and 1000000000"),
        (&order("DE", "1", "1E3"), "field \"unit_price_cents\" must be an integer"),
        (&order("DE", "1", "10000000000"), "field \"unit_price_cents\" must be between 0 and 1000000000"),
    ] {
        assert_eq!(enrich(value).unwrap_err(), reason, "{value}");
    }
}

#[test]
fn invalid_utf8_and_tombstones_are_rejected() {
    assert_eq!(parse_order(Some(b"{\"order_id\":\"\xff\"}")).unwrap_err().reason, "value is not valid JSON");
    assert_eq!(parse_order(None).unwrap_err().reason, "value is missing");
}

#[test]
fn unknown_config_key_is_refused() {
    assert_eq!(Enrich::init(Config::from_pairs([("mode", "x")])).err().unwrap(), "unknown config key \"mode\"");
}
