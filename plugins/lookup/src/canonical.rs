//! The fast path's proof: one pass over a JSON text that accepts it only
//! when it is valid (RFC 8259, as strict as [`crate::compact`]) *and*
//! already in the form `compact()` writes, so the bytes can be copied
//! instead of rewritten. Already compact means: no whitespace outside
//! strings, and every escape in a string one that `compact()` writes back
//! the same (`\" \\ \b \f \n \r \t` and `\u00xx` in lowercase for the other
//! control characters); numbers and `true`/`false`/`null` are copied as
//! written by both. Anything else, valid or not, is refused here and left
//! to `compact()`, so rejections keep coming from one place.
//!
//! Two canonical strings are equal as bytes exactly when they are equal
//! decoded (each decoded string has one canonical spelling), which lets the
//! join compare member names without decoding them.

use std::borrow::Cow;
use std::ops::Range;

/// One member of a canonical top-level object, as ranges of its bytes.
pub struct Member {
    /// The name, quotes included, as written (canonical).
    pub key: Range<usize>,
    /// The value as written.
    pub value: Range<usize>,
}

/// The deepest nesting followed (one bit of a `u64` per level); a deeper
/// text is left to `compact()`, which has no depth limit.
const MAX_DEPTH: u32 = 64;

/// Whether `bytes` are one JSON value that `compact()` would write back
/// unchanged.
pub fn value(bytes: &[u8]) -> bool {
    scan(bytes, None).is_some()
}

/// Whether `bytes` are a JSON object that `compact()` would write back
/// unchanged; its top-level members, in order, go to `members`.
pub fn object(bytes: &[u8], members: &mut Vec<Member>) -> bool {
    members.clear();
    bytes.first() == Some(&b'{') && scan(bytes, Some(members)).is_some()
}

/// The decoded contents of `token` when it is a string: `token` is a value
/// [`scan`] accepted, so its only escapes are the canonical ones.
pub fn string(token: &[u8]) -> Option<Cow<'_, [u8]>> {
    let raw = token.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !raw.contains(&b'\\') {
        return Some(Cow::Borrowed(raw));
    }
    let mut decoded = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        if byte != b'\\' {
            decoded.push(byte);
            continue;
        }
        decoded.push(match *bytes.next()? {
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex = bytes.as_slice().get(..4)?;
                bytes.nth(3)?;
                u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?
            }
            quoted => quoted, // `"` or `\`
        });
    }
    Some(Cow::Owned(decoded))
}

/// The validating pass: `members` (when wanted) gets the members at depth 1.
fn scan(bytes: &[u8], mut members: Option<&mut Vec<Member>>) -> Option<()> {
    let mut at = 0;
    // Bit `d` is set when the container at depth `d + 1` is an object.
    let mut objects: u64 = 0;
    let mut depth = 0;
    // The depth-1 member being read: its name and where its value starts.
    let mut key = 0..0;
    let mut start = 0;
    loop {
        // A value starts here.
        if depth == 1 {
            start = at;
        }
        match *bytes.get(at)? {
            open @ (b'{' | b'[') => {
                if depth == MAX_DEPTH {
                    return None;
                }
                let close = if open == b'{' { b'}' } else { b']' };
                objects = objects & !(1 << depth) | u64::from(open == b'{') << depth;
                depth += 1;
                at += 1;
                if bytes.get(at) == Some(&close) {
                    depth -= 1;
                    at += 1;
                } else {
                    if open == b'{' {
                        let end = member_key(bytes, at)?;
                        if depth == 1 {
                            key = at..end;
                        }
                        at = end + 1;
                    }
                    continue;
                }
            }
            b'"' => at = string_end(bytes, at)?,
            b't' => at = literal(bytes, at, b"true")?,
            b'f' => at = literal(bytes, at, b"false")?,
            b'n' => at = literal(bytes, at, b"null")?,
            b'-' | b'0'..=b'9' => at = number(bytes, at)?,
            _ => return None,
        }
        // The value is complete, and maybe the containers it ends.
        loop {
            if depth == 1
                && let Some(members) = members.as_deref_mut()
            {
                members.push(Member { key: key.clone(), value: start..at });
            }
            if depth == 0 {
                return (at == bytes.len()).then_some(());
            }
            let in_object = objects >> (depth - 1) & 1 == 1;
            match bytes.get(at) {
                Some(b',') => {
                    at += 1;
                    if in_object {
                        let end = member_key(bytes, at)?;
                        if depth == 1 {
                            key = at..end;
                        }
                        at = end + 1;
                    }
                    break;
                }
                Some(b'}') if in_object => {}
                Some(b']') if !in_object => {}
                _ => return None,
            }
            at += 1;
            depth -= 1;
        }
    }
}

/// A member's name at `at` and the `:` after it; returns where the `:` is.
fn member_key(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let end = string_end(bytes, at)?;
    (bytes.get(end) == Some(&b':')).then_some(end)
}

/// A canonical string whose opening quote is at `at`; returns where it
/// ends (after the closing quote). Outside strings only ASCII is accepted,
/// so checking each string that has other bytes is checking all the text
/// is UTF-8.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let contents = at + 1;
    let mut at = contents;
    let mut ascii = true;
    loop {
        let (end, run_ascii) = plain_run_end(bytes, at);
        at = end;
        ascii &= run_ascii;
        match *bytes.get(at)? {
            b'"' => break,
            b'\\' => at = escape_end(bytes, at + 1)?,
            _ => return None, // a raw control character: invalid
        }
    }
    if !ascii {
        std::str::from_utf8(&bytes[contents..at]).ok()?;
    }
    Some(at + 1)
}

/// Where the run of bytes from `at` that need no escape ends (at the first
/// `"`, `\` or control character, or the end), and whether all of them
/// were ASCII. Eight bytes at a time while eight remain.
fn plain_run_end(bytes: &[u8], mut at: usize) -> (usize, bool) {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of the bytes of `word` below `n` (n ≤ 0x80) is set, and
    // maybe of some after the first of those, never of one before it.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let mut high = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let special = below(word, 0x20) | below(word ^ (ONES * 0x22), 1) | below(word ^ (ONES * 0x5C), 1);
        if special != 0 {
            let run = (special.trailing_zeros() / 8) as usize;
            // The bytes of the run only.
            high |= word & HIGHS & ((1 << (run * 8)) - 1);
            return (at + run, high == 0);
        }
        high |= word & HIGHS;
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        if byte < 0x20 || byte == b'"' || byte == b'\\' {
            break;
        }
        high |= u64::from(byte & 0x80);
        at += 1;
    }
    (at, high == 0)
}

/// An escape whose letter is at `at`, when `compact()` writes it back the
/// same; returns where it ends.
fn escape_end(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 1),
        // The control characters without a letter escape, lowercase hex.
        b'u' => match *bytes.get(at + 1..at + 5)? {
            [b'0', b'0', b'0', b'0'..=b'7' | b'b' | b'e' | b'f'] | [b'0', b'0', b'1', b'0'..=b'9' | b'a'..=b'f'] => Some(at + 5),
            _ => None,
        },
        _ => None,
    }
}

fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    bytes[at..].starts_with(word).then_some(at + word.len())
}

fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b'0'..=b'9')) {
        at += 1;
    }
    at
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at `at`; returns where
/// it ends.
fn number(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match *bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at = digits_end(bytes, at + 1),
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        let end = digits_end(bytes, at + 1);
        if end == at + 1 {
            return None;
        }
        at = end;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let end = digits_end(bytes, at);
        if end == at {
            return None;
        }
        at = end;
    }
    Some(at)
}

#[cfg(test)]
mod tests;
