//! The JSON rewriter both `lookup` plugins agree on: validates one JSON text
//! strictly (RFC 8259) and writes it back compact, in one pass that never
//! recurses (any nesting depth costs one byte of heap per level). Whitespace
//! outside strings is dropped; number tokens and `true`/`false`/`null` are
//! copied as written; strings are decoded and written again with only `"`,
//! `\` and U+0000–U+001F escaped; objects keep every member in order, even
//! a repeated one. For a top-level object it also hands back the members,
//! so `lookup` can merge a repeated field and set its output field without
//! parsing twice.

use std::ops::Range;

/// A valid JSON text, written back compact.
pub struct Compact {
    /// The whole value, compact.
    pub text: String,
    /// The members of the top-level object, as written (repeats included);
    /// `None` when the value is not an object.
    pub members: Option<Vec<Member>>,
}

/// One member of the top-level object.
pub struct Member {
    /// The key, decoded.
    pub key: String,
    /// Where the member's compact value is in [`Compact::text`].
    pub value: Range<usize>,
    /// The value decoded, when it is a string.
    pub string: Option<String>,
}

/// Rewrites `bytes` compact; `None` when they are not UTF-8 or not one
/// valid JSON text (lone surrogate escapes included).
pub fn compact(bytes: &[u8]) -> Option<Compact> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut reader = Reader { text, at: 0, out: String::with_capacity(text.len()), decoded: String::new() };
    reader.skip_whitespace();
    let is_object = reader.peek() == Some(b'{');
    // Open containers, innermost last.
    let mut stack: Vec<u8> = Vec::new();
    let mut members = Vec::new();
    // The top-level member being read: its key and where its value starts.
    let mut key = String::new();
    let mut start = 0;
    loop {
        // A value starts here.
        reader.skip_whitespace();
        if is_object && stack.len() == 1 {
            start = reader.out.len();
        }
        let mut string = None;
        match reader.peek()? {
            open @ (b'{' | b'[') => {
                reader.copy(open);
                stack.push(open);
                reader.skip_whitespace();
                if !reader.copy_if(closer(open)) {
                    if open == b'{' {
                        let decoded = reader.member_key()?;
                        if is_object && stack.len() == 1 {
                            key = decoded;
                        }
                    }
                    continue;
                }
                stack.pop();
            }
            b'"' => {
                reader.string()?;
                if is_object && stack.len() == 1 {
                    string = Some(reader.decoded.clone());
                }
            }
            b't' => reader.literal("true")?,
            b'f' => reader.literal("false")?,
            b'n' => reader.literal("null")?,
            b'-' | b'0'..=b'9' => reader.number()?,
            _ => return None,
        }
        // The value is complete, and maybe the containers it ends.
        loop {
            if is_object && stack.len() == 1 {
                members.push(Member { key: std::mem::take(&mut key), value: start..reader.out.len(), string: string.take() });
            }
            reader.skip_whitespace();
            let Some(&open) = stack.last() else {
                return (reader.at == text.len()).then(|| Compact { text: reader.out, members: is_object.then_some(members) });
            };
            if reader.copy_if(b',') {
                reader.skip_whitespace();
                if open == b'{' {
                    let decoded = reader.member_key()?;
                    if is_object && stack.len() == 1 {
                        key = decoded;
                    }
                }
                break;
            }
            if !reader.copy_if(closer(open)) {
                return None;
            }
            stack.pop();
        }
    }
}

fn closer(open: u8) -> u8 {
    if open == b'{' { b'}' } else { b']' }
}

/// Reads `text` from `at`, writing the compact form to `out`.
struct Reader<'a> {
    text: &'a str,
    at: usize,
    out: String,
    /// The last string read, decoded.
    decoded: String,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Copies the ASCII byte `byte`, which is next.
    fn copy(&mut self, byte: u8) {
        self.out.push(char::from(byte));
        self.at += 1;
    }

    /// Copies the ASCII byte `byte` if it is next.
    fn copy_if(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.copy(byte);
        }
        found
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.text[self.at..].starts_with(word).then(|| {
            self.out.push_str(word);
            self.at += word.len();
        })
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, copied as written.
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        self.out.push_str(&self.text[start..self.at]);
        Some(())
    }

    /// Four hex digits after `\u`.
    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.as_bytes().get(self.at..self.at + 4)?;
        let mut value = 0;
        for &digit in digits {
            value = value * 16 + char::from(digit).to_digit(16)?;
        }
        self.at += 4;
        Some(value)
    }

    /// `\uXXXX`, or a surrogate pair of them; a lone surrogate is invalid.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text[self.at..].starts_with("\\u") {
                    return None;
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return None;
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return None,
            _ => first,
        };
        char::from_u32(code)
    }

    /// A string literal: decoded into `decoded`, written escaped to `out`.
    fn string(&mut self) -> Option<()> {
        self.at += 1; // the opening quote, seen by the caller
        self.decoded.clear();
        loop {
            let run = self.text.as_bytes()[self.at..].iter().take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20).count();
            self.decoded.push_str(&self.text[self.at..self.at + run]);
            self.at += run;
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    write_json_string(&mut self.out, &self.decoded);
                    return Some(());
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = match self.peek()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{08}',
                        b'f' => '\u{0C}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            self.at += 1;
                            let c = self.unicode_escape()?;
                            self.decoded.push(c);
                            continue;
                        }
                        _ => return None,
                    };
                    self.at += 1;
                    self.decoded.push(escaped);
                }
                _ => return None, // a raw control character
            }
        }
    }

    /// `"key"` and `:` of an object member; returns the key decoded.
    fn member_key(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.string()?;
        self.skip_whitespace();
        self.copy_if(b':').then(|| self.decoded.clone())
    }
}

/// Writes `text` as a JSON string: raw UTF-8, escaping only `"`, `\` and
/// U+0000–U+001F (`\b \f \n \r \t` where JSON has them, else `\u00xx`).
pub fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    let mut from = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0C => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[from..at]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        from = at + 1;
    }
    out.push_str(&text[from..]);
    out.push('"');
}
