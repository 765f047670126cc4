//! A strict RFC 8259 validator that never recurses (any nesting depth costs
//! one byte of heap per level) and that hands back the top-level members of
//! an object as slices, so `enrich` decodes only the five fields it needs.

/// What a valid JSON text is, at the top level.
pub enum TopLevel<'a> {
    /// An object's members, in order: (key literal with quotes, value text).
    Object(Vec<(&'a str, &'a str)>),
    NotObject,
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn literal(&mut self, word: &str) -> bool {
        let found = self.text[self.at..].starts_with(word);
        self.at += if found { word.len() } else { 0 };
        found
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> bool {
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return false,
        }
        if self.eat(b'.') && self.digits() == 0 {
            return false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return false;
            }
        }
        true
    }

    fn hex4(&mut self) -> Option<u16> {
        let digits = self.text.get(self.at..self.at + 4)?;
        let value = u16::from_str_radix(digits, 16).ok().filter(|_| digits.bytes().all(|b| b.is_ascii_hexdigit()))?;
        self.at += 4;
        Some(value)
    }

    /// A string literal; escaped surrogates must come in valid pairs.
    fn string(&mut self) -> bool {
        if !self.eat(b'"') {
            return false;
        }
        loop {
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    self.at += 1;
                    return true;
                }
                Some(0x00..=0x1f) => return false,
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.at += 1,
                        Some(b'u') => {
                            self.at += 1;
                            match self.hex4() {
                                Some(0xD800..=0xDBFF) => {
                                    if !(self.literal("\\u") && matches!(self.hex4(), Some(0xDC00..=0xDFFF))) {
                                        return false;
                                    }
                                }
                                Some(0xDC00..=0xDFFF) | None => return false,
                                Some(_) => {}
                            }
                        }
                        _ => return false,
                    }
                }
                Some(_) => self.at += 1,
            }
        }
    }

    /// A scalar value, or the opening of a container (pushed on `stack`).
    fn value_start(&mut self, stack: &mut Vec<u8>) -> bool {
        match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                self.at += 1;
                stack.push(open);
                true
            }
            Some(b'"') => self.string(),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }
}

/// Validates `bytes` as one JSON text; `None` when it is not valid UTF-8 or
/// not valid JSON.
pub fn scan(bytes: &[u8]) -> Option<TopLevel<'_>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut cursor = Cursor { text, at: 0 };
    cursor.skip_whitespace();
    let is_object = cursor.peek() == Some(b'{');
    // Open containers, innermost last; members of the top-level object.
    let mut stack: Vec<u8> = Vec::new();
    let mut members = Vec::new();
    let mut key: &str = "";
    let mut member_start = 0;
    let mut expect_value = true;
    loop {
        cursor.skip_whitespace();
        let in_top_object = is_object && stack.len() == 1;
        if expect_value {
            member_start = if in_top_object { cursor.at } else { member_start };
            let depth = stack.len();
            if !cursor.value_start(&mut stack) {
                return None;
            }
            if stack.len() > depth {
                cursor.skip_whitespace();
                let open = stack[depth];
                if !cursor.eat(closer(open)) {
                    if open == b'{' && !read_key(&mut cursor, is_object && stack.len() == 1, &mut key) {
                        return None;
                    }
                    continue;
                }
                stack.pop();
            }
            expect_value = false;
            if in_top_object {
                members.push((key, &text[member_start..cursor.at]));
            }
            continue;
        }
        let Some(&open) = stack.last() else {
            let top = if is_object { TopLevel::Object(members) } else { TopLevel::NotObject };
            return (cursor.at == text.len()).then_some(top);
        };
        if cursor.eat(b',') {
            cursor.skip_whitespace();
            if open == b'{' && !read_key(&mut cursor, in_top_object, &mut key) {
                return None;
            }
            expect_value = true;
        } else if cursor.eat(closer(open)) {
            stack.pop();
            if is_object && stack.len() == 1 {
                members.push((key, &text[member_start..cursor.at]));
            }
        } else {
            return None;
        }
    }
}

fn closer(open: u8) -> u8 {
    if open == b'{' { b'}' } else { b']' }
}

/// Reads `"key"` and `:`; keeps the key literal when it is a member of the
/// top-level object.
fn read_key<'a>(cursor: &mut Cursor<'a>, top: bool, key: &mut &'a str) -> bool {
    let from = cursor.at;
    if !cursor.string() {
        return false;
    }
    if top {
        *key = &cursor.text[from..cursor.at];
    }
    cursor.skip_whitespace();
    cursor.eat(b':')
}
