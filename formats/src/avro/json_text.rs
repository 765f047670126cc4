//! Writing JSON text straight into the output buffer: escaped strings,
//! integers, shortest round-trip floats (with `"NaN"`, `"Infinity"` and
//! `"-Infinity"` for the values JSON has no number for) and base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// For each byte: 0 if it stands for itself inside a JSON string, else the
/// letter after the backslash (`u` for a `\u00XX` escape).
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each zero byte of `v` set — and maybe of bytes above
/// the first zero one, through the borrow, so only the lowest set bit is
/// exact (it is all `scan` needs).
#[inline]
fn any_zero(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// The index of the first byte at or after `from` that a JSON string must
/// escape (a quote, a backslash, a control character) — or, with
/// `non_ascii`, that is not ASCII — or `bytes.len()`. Eight bytes at a time.
#[inline]
pub(crate) fn scan(bytes: &[u8], from: usize, non_ascii: bool) -> usize {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
        let v = u64::from_le_bytes(*chunk);
        let control = v.wrapping_sub(ONES * 0x20) & !v & HIGHS;
        let mut flags = any_zero(v ^ (ONES * u64::from(b'"'))) | any_zero(v ^ (ONES * u64::from(b'\\'))) | control;
        if non_ascii {
            flags |= v & HIGHS;
        }
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if ESCAPE[b as usize] != 0 || (non_ascii && b >= 0x80) {
            return i;
        }
        i += 1;
    }
    i
}

/// Appends `text` as a JSON string, quotes included.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut at = scan(bytes, 0, false);
    while let Some(&b) = bytes.get(at) {
        out.extend_from_slice(&bytes[start..at]);
        let escape = ESCAPE[b as usize];
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        start = at + 1;
        at = scan(bytes, start, false);
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `bytes` as a JSON string if they are UTF-8: plain ASCII with
/// nothing to escape (most text) is one scan and one copy.
#[inline]
pub(crate) fn write_utf8(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
    if scan(bytes, 0, true) == bytes.len() {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    } else {
        write_str(out, std::str::from_utf8(bytes)?);
    }
    Ok(())
}

#[inline]
pub(crate) fn write_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

#[inline]
pub(crate) fn write_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(non_finite(value.is_nan(), value > 0.0));
    }
}

#[inline]
pub(crate) fn write_f32(out: &mut Vec<u8>, value: f32) {
    if value.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(non_finite(value.is_nan(), value > 0.0));
    }
}

fn non_finite(nan: bool, positive: bool) -> &'static [u8] {
    match (nan, positive) {
        (true, _) => b"\"NaN\"",
        (false, true) => b"\"Infinity\"",
        (false, false) => b"\"-Infinity\"",
    }
}

/// The float a JSON string stands for, if it is one of the names of the
/// values JSON numbers cannot hold.
pub(crate) fn non_finite_named(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Appends `bytes` as a JSON string of their base64 (standard alphabet,
/// padded).
#[inline]
pub(crate) fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len().div_ceil(3) * 4;
    out.push(b'"');
    let at = out.len();
    out.resize(at + len, 0);
    let written = STANDARD.encode_slice(bytes, &mut out[at..]).unwrap_or(0);
    out.truncate(at + written);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters_only() {
        let written = text(|out| write_str(out, "a\"b\\c\nd\u{1}é\u{7f}"));
        assert_eq!(written, "\"a\\\"b\\\\c\\nd\\u0001é\u{7f}\"");
        let parsed: String = serde_json::from_str(&written).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é\u{7f}");
    }

    #[test]
    fn the_scan_finds_the_first_byte_to_escape_in_any_position() {
        for at in 0..40 {
            for special in [b'"', b'\\', b'\n', 0x1f, 0xc3] {
                let mut bytes = vec![b'a'; 40];
                bytes[at] = special;
                assert_eq!(scan(&bytes, 0, true), at);
                assert_eq!(scan(&bytes, 0, false), if special == 0xc3 { 40 } else { at });
                assert_eq!(scan(&bytes, at + 1, true), 40);
            }
        }
        assert_eq!(scan(b"~\x7f abc", 0, true), 6);
    }

    #[test]
    fn utf8_bytes_are_checked_and_escaped() {
        assert_eq!(text(|out| write_utf8(out, b"plain").unwrap()), "\"plain\"");
        assert_eq!(text(|out| write_utf8(out, "é\"".as_bytes()).unwrap()), "\"é\\\"\"");
        assert!(write_utf8(&mut Vec::new(), b"a\xff").is_err());
    }

    #[test]
    fn floats_print_their_shortest_round_trip_text() {
        assert_eq!(text(|out| write_f64(out, 0.1)), "0.1");
        assert_eq!(text(|out| write_f64(out, 100.0)), "100.0");
        assert_eq!(text(|out| write_f32(out, 0.1)), "0.1");
        assert_eq!(text(|out| write_f64(out, -0.0)), "-0.0");
        assert_eq!(text(|out| write_f64(out, 1e300)), "1e+300");
    }

    #[test]
    fn non_finite_floats_print_as_their_names() {
        assert_eq!(text(|out| write_f64(out, f64::NAN)), "\"NaN\"");
        assert_eq!(text(|out| write_f64(out, f64::INFINITY)), "\"Infinity\"");
        assert_eq!(text(|out| write_f32(out, f32::NEG_INFINITY)), "\"-Infinity\"");
        assert!(non_finite_named("NaN").unwrap().is_nan());
        assert_eq!(non_finite_named("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(non_finite_named("nan"), None);
    }

    #[test]
    fn bytes_print_as_padded_standard_base64() {
        assert_eq!(text(|out| write_base64(out, b"")), "\"\"");
        assert_eq!(text(|out| write_base64(out, b"\xfb\xff")), "\"+/8=\"");
        assert_eq!(text(|out| write_base64(out, b"abcd")), "\"YWJjZA==\"");
    }
}
