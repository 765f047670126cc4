//! The proof never lies: whatever [`value`] accepts, `compact()` accepts
//! and writes back unchanged; and whatever `compact()` writes (up to the
//! depth followed) [`value`] accepts, so compact input always takes the
//! fast path. Checked on generated texts and on mutations of them.

use super::*;
use crate::compact::compact;

/// xorshift64*: deterministic, no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Whitespace, sometimes.
fn space(random: &mut Random, out: &mut String) {
    if random.below(8) == 0 {
        out.push_str(random.pick(&[" ", "\t", "\r\n", "  \n "]));
    }
}

/// A string with every kind of character, each spelled one of the ways
/// JSON allows.
fn gen_string(random: &mut Random, out: &mut String) {
    out.push('"');
    for _ in 0..random.below(12) {
        let spelling = match random.below(14) {
            0 => random.pick(&["\\\"", "\\u0022"]),
            1 => random.pick(&["\\\\", "\\u005c", "\\u005C"]),
            2 => random.pick(&["/", "\\/", "\\u002f"]),
            3 => random.pick(&["\\n", "\\u000a", "\\u000A"]),
            4 => random.pick(&["\\b", "\\f", "\\r", "\\t", "\\u0008", "\\u0009"]),
            5 => random.pick(&["\\u0000", "\\u001f", "\\u001F", "\\u000b", "\\u000e", "\\u0010", "\\u001a"]),
            6 => random.pick(&["é", "\\u00e9", "\\u00E9", "😀", "\\ud83d\\ude00", "\\uD83D\\uDE00"]),
            7 => random.pick(&["\u{2028}", "\u{7f}", "<>&", "\\u0041", "\\u007f"]),
            _ => random.pick(&["a", "b", "customer", "id", " ", "x y", "1"]),
        };
        out.push_str(spelling);
    }
    out.push('"');
}

fn gen_value(random: &mut Random, out: &mut String, depth: usize) {
    space(random, out);
    match random.below(if depth > 5 { 4 } else { 7 }) {
        0 => gen_string(random, out),
        1 => out.push_str(random.pick(&["0", "-0", "1.50", "1e5", "1E+05", "-2.5e-7", "123456789012345678901234567890"])),
        2 => out.push_str(random.pick(&["true", "false", "null"])),
        3 => gen_string(random, out),
        4 | 5 => {
            out.push('{');
            for at in 0..random.below(5) {
                if at > 0 {
                    out.push(',');
                }
                space(random, out);
                gen_string(random, out);
                space(random, out);
                out.push(':');
                gen_value(random, out, depth + 1);
            }
            space(random, out);
            out.push('}');
        }
        _ => {
            out.push('[');
            for at in 0..random.below(5) {
                if at > 0 {
                    out.push(',');
                }
                gen_value(random, out, depth + 1);
            }
            space(random, out);
            out.push(']');
        }
    }
    space(random, out);
}

/// `text` with one byte changed, removed, doubled or inserted (maybe one
/// that breaks its UTF-8).
fn mutate(random: &mut Random, text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let at = random.below(bytes.len() + 1);
    const BYTES: &[u8] = b"\"\\,:{}[] 0e-.u\x01a\x80\xbf\xc3\xe2\xed\xf0\xff";
    let byte = BYTES[random.below(BYTES.len())];
    match random.below(4) {
        0 if at < bytes.len() => bytes[at] = byte,
        1 if at < bytes.len() => {
            bytes.remove(at);
        }
        2 if at < bytes.len() => bytes.insert(at, bytes[at]),
        _ => bytes.insert(at, byte),
    }
    bytes
}

/// What `value` accepts, `compact()` writes back unchanged.
fn assert_sound(bytes: &[u8]) {
    if value(bytes) {
        let rewritten = compact(bytes).map(|compact| compact.text.into_bytes());
        assert_eq!(rewritten.as_deref(), Some(bytes), "{}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn accepts_exactly_what_compact_writes_back_unchanged() {
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let mut accepted_mutations = 0;
    for _ in 0..20_000 {
        let mut text = String::new();
        gen_value(&mut random, &mut text, 0);
        assert_sound(text.as_bytes());
        let compact = compact(text.as_bytes()).unwrap_or_else(|| panic!("generated text is valid: {text}")).text;
        assert!(value(compact.as_bytes()), "{compact} from {text}");
        for source in [&text, &compact] {
            for _ in 0..4 {
                let mutated = mutate(&mut random, source);
                accepted_mutations += usize::from(value(&mutated));
                assert_sound(&mutated);
            }
        }
    }
    assert!(accepted_mutations > 1_000, "the mutations reach the fast path too: {accepted_mutations}");
}

#[test]
fn refuses_escapes_that_compact_rewrites() {
    for canonical in [r#""\"\\\b\f\n\r\t""#, r#""\u0000\u0007\u000b\u000e\u000f\u0010\u001f""#] {
        assert!(value(canonical.as_bytes()), "{canonical}");
    }
    for rewritten in [
        r#""\/""#,
        r#""\u0008""#,
        r#""\u0009""#,
        r#""\u000a""#,
        r#""\u000c""#,
        r#""\u000d""#,
        r#""\u001F""#,
        r#""\u0020""#,
        r#""\u0041""#,
        r#""\u00e9""#,
        r#""\ud83d\ude00""#,
        r#""\u0022""#,
        r#""\u005c""#,
    ] {
        assert!(!value(rewritten.as_bytes()), "{rewritten}");
        assert!(compact(rewritten.as_bytes()).is_some_and(|compact| compact.text != rewritten), "{rewritten}");
    }
}

#[test]
fn refuses_whitespace_and_invalid_text() {
    for text in [
        " {}",
        "{} ",
        "{ }",
        "[1, 2]",
        "{\"a\" :1}",
        "",
        "{",
        "}",
        "{\"a\":1,}",
        "[1,]",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "NaN",
        "tru",
        "nul",
        "truex",
        "\"a",
        "\"\t\"",
        "\"\\x\"",
        "\"\\u12\"",
        "{\"a\"}",
        "{1:2}",
        "[}",
        "{]",
        "\u{feff}{}",
    ] {
        assert!(!value(text.as_bytes()), "{text:?}");
    }
    for text in
        [&b"\"\xff\""[..], b"\"\xc3\"", b"\"a\xe2\x82\"", b"\"\xed\xa0\x80\"", b"\"\xc0\xaf\"", b"[\"\xc3\xa9\",\xc3\xa9]"]
    {
        assert!(!value(text), "{}", String::from_utf8_lossy(text));
    }
    // Non-ASCII in strings of any length, the eight-byte steps included.
    for text in ["\"é\"", "\"0123456é\"", "\"01234567😀\\n\"", "{\"ключ-😀\":\"Zoë Ærø – 東京 😀 𝄞\"}"] {
        assert!(value(text.as_bytes()), "{text}");
    }
}

#[test]
fn object_reports_its_top_level_members_as_written() {
    let text = r#"{"a":{"b":[1,{"c":2}]},"\n":"x\"y","e":[],"f":{}}"#;
    let mut members = Vec::new();
    assert!(object(text.as_bytes(), &mut members));
    let spans: Vec<(&str, &str)> = members.iter().map(|m| (&text[m.key.clone()], &text[m.value.clone()])).collect();
    assert_eq!(spans, [(r#""a""#, r#"{"b":[1,{"c":2}]}"#), (r#""\n""#, r#""x\"y""#), (r#""e""#, "[]"), (r#""f""#, "{}")]);
    assert!(object(b"{}", &mut members));
    assert!(members.is_empty());
    assert!(!object(b"[{\"a\":1}]", &mut members));
}

#[test]
fn nesting_deeper_than_followed_is_left_to_compact() {
    let at_most = format!("{}{}", "[".repeat(64), "]".repeat(64));
    assert!(value(at_most.as_bytes()));
    let deeper = format!("{}{}", "[".repeat(65), "]".repeat(65));
    assert!(!value(deeper.as_bytes()));
}

#[test]
fn strings_decode_their_canonical_escapes() {
    assert_eq!(string("\"plain é\"".as_bytes()).as_deref(), Some("plain é".as_bytes()));
    assert_eq!(string(br#""a\"b\\c\b\f\n\r\t\u0000\u001f""#).as_deref(), Some(&b"a\"b\\c\x08\x0c\n\r\t\x00\x1f"[..]));
    assert_eq!(string(b"1"), None);
    assert_eq!(string(b"{}"), None);
}
