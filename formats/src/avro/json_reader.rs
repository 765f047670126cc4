//! A pull reader over JSON text, for an encoder that knows from the schema
//! what comes next: it hands out numbers as their exact text, strings
//! borrowed from the input when they have no escapes, and object members
//! one key at a time. It checks the JSON grammar as it goes (RFC 8259).

use super::json_text::scan;
use super::path::{Step, fail};

/// What the next value is, from its first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// Nesting skipped values may reach.
const MAX_SKIP_DEPTH: u32 = 128;

pub(crate) struct JsonReader<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> JsonReader<'a> {
    /// A reader over `json`, which must be UTF-8.
    pub(crate) fn new(json: &'a [u8]) -> Step<JsonReader<'a>> {
        match std::str::from_utf8(json) {
            Ok(src) => Ok(JsonReader { src, pos: 0 }),
            Err(e) => fail(format!("the JSON is not valid UTF-8 (at byte {})", e.valid_up_to())),
        }
    }

    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves back (or on) to a position this reader gave out.
    #[inline]
    pub(crate) fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        let bytes = self.bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn syntax<T>(&self, expected: &str) -> Step<T> {
        let found = match self.bytes().get(self.pos) {
            Some(b) if b.is_ascii_graphic() => format!("'{}'", *b as char),
            Some(b) => format!("byte 0x{b:02x}"),
            None => "the end".into(),
        };
        fail(format!("invalid JSON at byte {}: expected {expected}, found {found}", self.pos))
    }

    /// The kind of the next value, without consuming it.
    #[inline]
    pub(crate) fn peek(&mut self) -> Step<Kind> {
        self.skip_whitespace();
        Ok(match self.bytes().get(self.pos) {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            _ => return self.syntax("a value"),
        })
    }

    #[inline]
    fn literal(&mut self, word: &str) -> Step<()> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.syntax(word)
        }
    }

    #[inline]
    pub(crate) fn null(&mut self) -> Step<()> {
        self.skip_whitespace();
        self.literal("null")
    }

    #[inline]
    pub(crate) fn boolean(&mut self) -> Step<bool> {
        self.skip_whitespace();
        if self.bytes().get(self.pos) == Some(&b't') {
            self.literal("true").map(|()| true)
        } else {
            self.literal("false").map(|()| false)
        }
    }

    /// A number's text, and whether it is an integer (no fraction, no
    /// exponent).
    #[inline]
    pub(crate) fn number(&mut self) -> Step<(&'a str, bool)> {
        self.skip_whitespace();
        let bytes = self.bytes();
        let start = self.pos;
        let digits = |pos: &mut usize| {
            let from = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - from
        };
        let mut pos = start;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        let whole = digits(&mut pos);
        if whole == 0 || (whole > 1 && bytes[pos - whole] == b'0') {
            self.pos = pos;
            return self.syntax("a number");
        }
        let mut integer = true;
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            integer = false;
            if digits(&mut pos) == 0 {
                self.pos = pos;
                return self.syntax("a digit after the point");
            }
        }
        if let Some(b'e' | b'E') = bytes.get(pos) {
            pos += 1;
            integer = false;
            if let Some(b'+' | b'-') = bytes.get(pos) {
                pos += 1;
            }
            if digits(&mut pos) == 0 {
                self.pos = pos;
                return self.syntax("a digit in the exponent");
            }
        }
        self.pos = pos;
        Ok((&self.src[start..pos], integer))
    }

    /// A string's content: borrowed from the input if it has no escapes,
    /// else unescaped into `scratch`.
    #[inline]
    pub(crate) fn string<'s>(&mut self, scratch: &'s mut String) -> Step<&'s str>
    where
        'a: 's,
    {
        self.skip_whitespace();
        if self.bytes().get(self.pos) != Some(&b'"') {
            return self.syntax("a string");
        }
        self.pos += 1;
        let bytes = self.bytes();
        let start = self.pos;
        let pos = scan(bytes, start, false);
        match bytes.get(pos) {
            Some(b'"') => {
                self.pos = pos + 1;
                return Ok(&self.src[start..pos]);
            }
            Some(b'\\') => {}
            Some(_) => {
                self.pos = pos;
                return self.syntax("no control character inside a string");
            }
            None => {
                self.pos = pos;
                return self.syntax("the end of the string");
            }
        }
        scratch.clear();
        scratch.push_str(&self.src[start..pos]);
        self.pos = pos;
        self.unescape_rest(scratch)?;
        Ok(scratch.as_str())
    }

    /// Continues a string that has escapes, from the first backslash.
    fn unescape_rest(&mut self, scratch: &mut String) -> Step<()> {
        let bytes = self.bytes();
        loop {
            let run_start = self.pos;
            self.pos = scan(bytes, run_start, false);
            scratch.push_str(&self.src[run_start..self.pos]);
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let letter = bytes.get(self.pos + 1).copied();
                    self.pos += 2;
                    let escaped = match letter {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => {
                            self.pos -= 1;
                            return self.syntax("an escape");
                        }
                    };
                    scratch.push(escaped);
                }
                Some(_) => return self.syntax("no control character inside a string"),
                None => return self.syntax("the end of the string"),
            }
        }
    }

    /// The character of a `\uXXXX` escape (a surrogate pair takes two),
    /// with `pos` on the first hex digit; leaves `pos` after the escape.
    fn unicode_escape(&mut self) -> Step<char> {
        let first = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&first) {
            if !self.src[self.pos..].starts_with("\\u") {
                return self.syntax("the low half of a surrogate pair");
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xdc00..0xe000).contains(&second) {
                return self.syntax("the low half of a surrogate pair");
            }
            0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
        } else {
            first
        };
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => self.syntax("a Unicode scalar value"),
        }
    }

    fn hex4(&mut self) -> Step<u32> {
        let digits = self.bytes().get(self.pos..self.pos + 4);
        let value = digits.and_then(|d| d.iter().try_fold(0u32, |v, c| Some(v * 16 + (*c as char).to_digit(16)?)));
        match value {
            Some(value) => {
                self.pos += 4;
                Ok(value)
            }
            None => self.syntax("four hex digits"),
        }
    }

    #[inline]
    fn punctuation(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        if self.bytes().get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    pub(crate) fn begin_object(&mut self) -> Step<()> {
        if self.punctuation(b'{') { Ok(()) } else { self.syntax("'{'") }
    }

    #[inline]
    pub(crate) fn begin_array(&mut self) -> Step<()> {
        if self.punctuation(b'[') { Ok(()) } else { self.syntax("'['") }
    }

    /// The next member's key (the reader is then on its value), or `None`
    /// at the closing brace. `first` tracks whether a comma is due.
    #[inline]
    pub(crate) fn next_key<'s>(&mut self, first: &mut bool, scratch: &'s mut String) -> Step<Option<&'s str>>
    where
        'a: 's,
    {
        if self.punctuation(b'}') {
            return Ok(None);
        }
        if !std::mem::take(first) && !self.punctuation(b',') {
            return self.syntax("',' or '}'");
        }
        let key = self.string(scratch)?;
        if !self.punctuation(b':') {
            return self.syntax("':'");
        }
        Ok(Some(key))
    }

    /// Whether another element follows (the reader is then on it), or the
    /// array closed.
    #[inline]
    pub(crate) fn next_element(&mut self, first: &mut bool) -> Step<bool> {
        if self.punctuation(b']') {
            return Ok(false);
        }
        if !std::mem::take(first) && !self.punctuation(b',') {
            return self.syntax("',' or ']'");
        }
        Ok(true)
    }

    /// Passes over the next value, checking its grammar.
    pub(crate) fn skip(&mut self) -> Step<()> {
        self.skip_nested(0)
    }

    fn skip_nested(&mut self, depth: u32) -> Step<()> {
        if depth > MAX_SKIP_DEPTH {
            return fail(format!("the JSON nests deeper than {MAX_SKIP_DEPTH} levels"));
        }
        let mut scratch = String::new();
        match self.peek()? {
            Kind::Null => self.null(),
            Kind::Bool => self.boolean().map(drop),
            Kind::Number => self.number().map(drop),
            Kind::String => self.string(&mut scratch).map(drop),
            Kind::Array => {
                self.begin_array()?;
                let mut first = true;
                while self.next_element(&mut first)? {
                    self.skip_nested(depth + 1)?;
                }
                Ok(())
            }
            Kind::Object => {
                self.begin_object()?;
                let mut first = true;
                while self.next_key(&mut first, &mut scratch)?.is_some() {
                    self.skip_nested(depth + 1)?;
                }
                Ok(())
            }
        }
    }

    /// Checks that nothing but whitespace follows the value.
    pub(crate) fn end(&mut self) -> Step<()> {
        self.skip_whitespace();
        if self.pos == self.src.len() { Ok(()) } else { self.syntax("the end of the JSON text") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &str) -> JsonReader<'_> {
        JsonReader::new(text.as_bytes()).unwrap()
    }

    fn message<T: std::fmt::Debug>(step: Step<T>) -> String {
        step.unwrap_err().into_fit_error().message
    }

    #[test]
    fn numbers_come_out_as_their_exact_text() {
        assert_eq!(reader(" -12").number().unwrap(), ("-12", true));
        assert_eq!(reader("12.50e-3,").number().unwrap(), ("12.50e-3", false));
        assert_eq!(reader("123456789012345678901234567890").number().unwrap().0, "123456789012345678901234567890");
        assert!(message(reader("01").number()).contains("expected a number"));
        assert!(message(reader("1.").number()).contains("digit after the point"));
        assert!(message(reader("-").number()).contains("expected a number"));
    }

    #[test]
    fn strings_without_escapes_are_borrowed_and_escapes_are_decoded() {
        let mut scratch = String::new();
        assert_eq!(reader("\"plain é\"").string(&mut scratch).unwrap(), "plain é");
        assert!(scratch.is_empty());
        let text = r#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#;
        assert_eq!(reader(text).string(&mut scratch).unwrap(), "a\"b\\c/d\né😀");
    }

    #[test]
    fn broken_strings_are_refused() {
        let mut scratch = String::new();
        assert!(message(reader("\"abc").string(&mut scratch)).contains("end of the string"));
        assert!(message(reader("\"a\nb\"").string(&mut scratch)).contains("control character"));
        assert!(message(reader(r#""\x""#).string(&mut scratch)).contains("an escape"));
        assert!(message(reader(r#""\ud800x""#).string(&mut scratch)).contains("surrogate"));
        assert!(message(reader(r#""\u12""#).string(&mut scratch)).contains("four hex digits"));
    }

    #[test]
    fn objects_and_arrays_are_walked_member_by_member() {
        let mut r = reader(r#" { "a" : [1, 2], "b":{} } "#);
        let mut scratch = String::new();
        let mut first = true;
        r.begin_object().unwrap();
        assert_eq!(r.next_key(&mut first, &mut scratch).unwrap(), Some("a"));
        r.begin_array().unwrap();
        let mut element = true;
        assert!(r.next_element(&mut element).unwrap());
        assert_eq!(r.number().unwrap().0, "1");
        assert!(r.next_element(&mut element).unwrap());
        assert_eq!(r.number().unwrap().0, "2");
        assert!(!r.next_element(&mut element).unwrap());
        assert_eq!(r.next_key(&mut first, &mut scratch).unwrap(), Some("b"));
        r.skip().unwrap();
        assert_eq!(r.next_key(&mut first, &mut scratch).unwrap(), None);
        r.end().unwrap();
    }

    #[test]
    fn skipping_checks_the_grammar_and_the_depth() {
        assert!(reader(r#"{"a":[1,{"b":null}],"c":"d"}"#).skip().is_ok());
        assert!(message(reader("[1,,2]").skip()).contains("expected a value"));
        assert!(message(reader(r#"{"a" 1}"#).skip()).contains("expected ':'"));
        assert!(message(reader(&"[".repeat(200)).skip()).contains("deeper than 128"));
    }

    #[test]
    fn anything_after_the_value_is_refused() {
        let mut r = reader("null x");
        r.null().unwrap();
        assert!(message(r.end()).contains("expected the end of the JSON text, found 'x'"));
    }

    #[test]
    fn text_that_is_not_utf8_is_refused() {
        assert!(JsonReader::new(b"\"\xff\"").is_err());
    }
}
