//! Every Avro type and logical type, decoded from hand-written bytes to its
//! exact JSON text and encoded back to the same bytes.

use super::{both_ways, cat, decoded, encoded, schema, sized, zz};

#[test]
fn null_and_booleans() {
    both_ways(&schema("\"null\""), &[], "null");
    both_ways(&schema("\"boolean\""), &[1], "true");
    both_ways(&schema("\"boolean\""), &[0], "false");
}

#[test]
fn ints_and_longs_are_exact_json_integers() {
    let int = schema("\"int\"");
    for value in [0, -1, 1, 63, -64, 64, i64::from(i32::MAX), i64::from(i32::MIN)] {
        both_ways(&int, &zz(value), &value.to_string());
    }
    let long = schema("\"long\"");
    for value in [0, 1 << 53, (1 << 53) + 1, i64::MAX, i64::MIN] {
        both_ways(&long, &zz(value), &value.to_string());
    }
}

#[test]
fn floats_and_doubles_use_their_shortest_round_trip_text() {
    let double = schema("\"double\"");
    both_ways(&double, &0.1f64.to_le_bytes(), "0.1");
    both_ways(&double, &(-2.5e-300f64).to_le_bytes(), "-2.5e-300");
    both_ways(&double, &100.0f64.to_le_bytes(), "100.0");
    let float = schema("\"float\"");
    both_ways(&float, &0.1f32.to_le_bytes(), "0.1");
    both_ways(&float, &3.4028235e38f32.to_le_bytes(), "3.4028235e+38");
    assert_eq!(encoded(&double, "7"), 7.0f64.to_le_bytes());
    assert_eq!(encoded(&float, "1e-3"), 0.001f32.to_le_bytes());
}

#[test]
fn nan_and_infinities_are_named_strings() {
    let double = schema("\"double\"");
    both_ways(&double, &f64::INFINITY.to_le_bytes(), "\"Infinity\"");
    both_ways(&double, &f64::NEG_INFINITY.to_le_bytes(), "\"-Infinity\"");
    assert_eq!(decoded(&double, &f64::NAN.to_le_bytes()), "\"NaN\"");
    assert!(f64::from_le_bytes(encoded(&double, "\"NaN\"").try_into().unwrap()).is_nan());
    let float = schema("\"float\"");
    both_ways(&float, &f32::NEG_INFINITY.to_le_bytes(), "\"-Infinity\"");
    assert!(f32::from_le_bytes(encoded(&float, "\"NaN\"").try_into().unwrap()).is_nan());
}

#[test]
fn strings_are_json_strings_with_escapes() {
    let string = schema("\"string\"");
    both_ways(&string, &sized(b"hello"), "\"hello\"");
    both_ways(&string, &sized("é\"\\\n\u{1}".as_bytes()), "\"é\\\"\\\\\\n\\u0001\"");
    both_ways(&string, &sized(b""), "\"\"");
    assert_eq!(encoded(&string, r#""\u00e9\ud83d\ude00""#), sized("é😀".as_bytes()));
}

#[test]
fn bytes_and_fixed_are_padded_standard_base64() {
    both_ways(&schema("\"bytes\""), &sized(&[0xfb, 0xff]), "\"+/8=\"");
    both_ways(&schema("\"bytes\""), &sized(&[]), "\"\"");
    let fixed = schema(r#"{"type":"fixed","name":"F","size":4}"#);
    both_ways(&fixed, b"abcd", "\"YWJjZA==\"");
}

#[test]
fn enums_are_their_symbols() {
    let status = schema(r#"{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED"]}"#);
    both_ways(&status, &zz(0), "\"NEW\"");
    both_ways(&status, &zz(2), "\"SHIPPED\"");
}

#[test]
fn arrays_are_json_arrays_in_one_block() {
    let longs = schema(r#"{"type":"array","items":"long"}"#);
    both_ways(&longs, &cat(&[&zz(3), &zz(1), &zz(-2), &zz(300), &[0]]), "[1,-2,300]");
    both_ways(&longs, &[0], "[]");
    let many: Vec<i64> = (0..100).collect();
    let mut datum = zz(100);
    many.iter().for_each(|v| datum.extend(zz(*v)));
    datum.push(0);
    both_ways(&longs, &datum, &serde_json::to_string(&many).unwrap());
}

#[test]
fn arrays_written_in_several_blocks_or_with_byte_sizes_decode_whole() {
    let longs = schema(r#"{"type":"array","items":"long"}"#);
    let two_blocks = cat(&[&zz(1), &zz(5), &zz(2), &zz(6), &zz(7), &[0]]);
    assert_eq!(decoded(&longs, &two_blocks), "[5,6,7]");
    // A negative count is followed by the block's size in bytes.
    let sized_block = cat(&[&zz(-2), &zz(2), &zz(8), &zz(9), &[0]]);
    assert_eq!(decoded(&longs, &sized_block), "[8,9]");
}

#[test]
fn maps_are_json_objects_in_datum_order() {
    let map = schema(r#"{"type":"map","values":"int"}"#);
    let datum = cat(&[&zz(2), &sized(b"b"), &zz(1), &sized(b"a\""), &zz(-1), &[0]]);
    both_ways(&map, &datum, r#"{"b":1,"a\"":-1}"#);
    both_ways(&map, &[0], "{}");
}

#[test]
fn records_are_json_objects_with_fields_in_schema_order() {
    let record = schema(
        r#"{"type":"record","name":"R","fields":[
            {"name":"id","type":"long"},{"name":"name","type":"string"},
            {"name":"inner","type":{"type":"record","name":"In","fields":[{"name":"ok","type":"boolean"}]}}]}"#,
    );
    let datum = cat(&[&zz(42), &sized(b"x"), &[1]]);
    both_ways(&record, &datum, r#"{"id":42,"name":"x","inner":{"ok":true}}"#);
    assert_eq!(encoded(&record, r#" { "inner" : {"ok":true}, "name":"x", "id":42 } "#), datum);
    both_ways(&schema(r#"{"type":"record","name":"Empty","fields":[]}"#), &[], "{}");
}

#[test]
fn decimals_in_bytes_are_exact_text_with_scale_digits() {
    let decimal = schema(r#"{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}"#);
    both_ways(&decimal, &sized(&[0xfb, 0x32]), "\"-12.30\"");
    both_ways(&decimal, &sized(&[0x00]), "\"0.00\"");
    both_ways(&decimal, &sized(&[0x00, 0x80]), "\"1.28\"");
    assert_eq!(encoded(&decimal, "-12.3"), sized(&[0xfb, 0x32]));
    assert_eq!(encoded(&decimal, "\"7\""), sized(&[0x02, 0xbc]));
    assert_eq!(decoded(&decimal, &sized(&[])), "\"0.00\"");
}

#[test]
fn decimals_in_fixed_are_sign_extended_to_the_size() {
    let decimal = schema(r#"{"type":"fixed","name":"Money","size":4,"logicalType":"decimal","precision":9,"scale":3}"#);
    both_ways(&decimal, &[0xff, 0xff, 0xfb, 0x32], "\"-1.230\"");
    both_ways(&decimal, &[0x3b, 0x9a, 0xc9, 0xff], "\"999999.999\"");
}

#[test]
fn uuids_are_text_in_strings_and_in_fixed() {
    let text = "123e4567-e89b-12d3-a456-426614174000";
    let string = schema(r#"{"type":"string","logicalType":"uuid"}"#);
    both_ways(&string, &sized(text.as_bytes()), &format!("\"{text}\""));
    let fixed = schema(r#"{"type":"fixed","name":"Id","size":16,"logicalType":"uuid"}"#);
    let bytes = [0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00];
    both_ways(&fixed, &bytes, &format!("\"{text}\""));
    assert_eq!(encoded(&fixed, &format!("\"{}\"", text.to_uppercase())), bytes);
}

#[test]
fn dates_are_year_month_day() {
    let date = schema(r#"{"type":"int","logicalType":"date"}"#);
    both_ways(&date, &zz(20_794), "\"2026-12-07\"");
    both_ways(&date, &zz(-719_528), "\"0000-01-01\"");
    both_ways(&date, &zz(-1), "\"1969-12-31\"");
    assert_eq!(encoded(&date, "20794"), zz(20_794));
}

#[test]
fn times_of_day_have_the_units_fractional_digits() {
    let millis = schema(r#"{"type":"int","logicalType":"time-millis"}"#);
    both_ways(&millis, &zz(63_588_123), "\"17:39:48.123\"");
    assert_eq!(encoded(&millis, "\"17:39:48\""), zz(63_588_000));
    assert_eq!(encoded(&millis, "63588123"), zz(63_588_123));
    let micros = schema(r#"{"type":"long","logicalType":"time-micros"}"#);
    both_ways(&micros, &zz(63_588_123_456), "\"17:39:48.123456\"");
    both_ways(&micros, &zz(0), "\"00:00:00.000000\"");
}

#[test]
fn timestamps_are_rfc_3339_in_utc_and_local_ones_have_no_zone() {
    let cases = [
        ("timestamp-millis", 1_796_665_188_123, "\"2026-12-07T17:39:48.123Z\""),
        ("timestamp-micros", 1_796_665_188_123_456, "\"2026-12-07T17:39:48.123456Z\""),
        ("timestamp-nanos", 1_796_665_188_123_456_789, "\"2026-12-07T17:39:48.123456789Z\""),
        ("local-timestamp-millis", 1_796_665_188_123, "\"2026-12-07T17:39:48.123\""),
        ("local-timestamp-micros", -1, "\"1969-12-31T23:59:59.999999\""),
        ("local-timestamp-nanos", 0, "\"1970-01-01T00:00:00.000000000\""),
    ];
    for (logical, value, json) in cases {
        let timestamp = schema(&format!(r#"{{"type":"long","logicalType":"{logical}"}}"#));
        both_ways(&timestamp, &zz(value), json);
        assert_eq!(encoded(&timestamp, &value.to_string()), zz(value), "{logical} as a raw number");
    }
    let millis = schema(r#"{"type":"long","logicalType":"timestamp-millis"}"#);
    assert_eq!(encoded(&millis, "\"2026-12-07T19:39:48.1+02:00\""), zz(1_796_665_188_100));
}

#[test]
fn values_the_text_forms_cannot_hold_are_raw_numbers() {
    let millis = schema(r#"{"type":"long","logicalType":"timestamp-millis"}"#);
    both_ways(&millis, &zz(i64::MAX), &i64::MAX.to_string());
    let date = schema(r#"{"type":"int","logicalType":"date"}"#);
    both_ways(&date, &zz(i64::from(i32::MIN)), &i32::MIN.to_string());
    let time = schema(r#"{"type":"int","logicalType":"time-millis"}"#);
    both_ways(&time, &zz(-5), "-5");
}

#[test]
fn unknown_logical_types_map_as_their_underlying_type() {
    both_ways(&schema(r#"{"type":"string","logicalType":"color"}"#), &sized(b"red"), "\"red\"");
    let duration = schema(r#"{"type":"fixed","name":"D","size":12,"logicalType":"duration"}"#);
    both_ways(&duration, &[0; 12], "\"AAAAAAAAAAAAAAAA\"");
    let bad_decimal = schema(r#"{"type":"bytes","logicalType":"decimal","precision":2,"scale":3}"#);
    both_ways(&bad_decimal, &sized(&[1]), "\"AQ==\"");
}

#[test]
fn recursive_records_nest() {
    let list = schema(r#"{"type":"record","name":"L","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","L"]}]}"#);
    let datum = cat(&[&zz(1), &zz(1), &zz(2), &zz(0)]);
    both_ways(&list, &datum, r#"{"v":1,"next":{"v":2,"next":null}}"#);
}
