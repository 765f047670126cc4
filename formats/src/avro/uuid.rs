//! UUIDs as their 36-character text (`8-4-4-4-12` hex digits), read in
//! either case and written in lower case.

const HYPHENS: [usize; 4] = [8, 13, 18, 23];

/// The 16 bytes of a UUID's text, if it is one.
pub(crate) fn parse(text: &str) -> Option<[u8; 16]> {
    let text = text.as_bytes();
    if text.len() != 36 || HYPHENS.iter().any(|&at| text[at] != b'-') {
        return None;
    }
    let mut nibbles = text.iter().enumerate().filter(|(at, _)| !HYPHENS.contains(at)).map(|(_, c)| hex(*c));
    let mut bytes = [0u8; 16];
    for byte in bytes.iter_mut() {
        *byte = (nibbles.next()?? << 4) | nibbles.next()??;
    }
    Some(bytes)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Writes the UUID text of 16 bytes as a JSON string.
pub(crate) fn write(out: &mut Vec<u8>, bytes: &[u8; 16]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 0xf) as usize]);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_and_bytes_round_trip_in_lower_case() {
        let bytes = parse("123E4567-e89b-12d3-A456-426614174000").unwrap();
        assert_eq!(bytes[0], 0x12);
        assert_eq!(bytes[15], 0x00);
        let mut out = Vec::new();
        write(&mut out, &bytes);
        assert_eq!(out, b"\"123e4567-e89b-12d3-a456-426614174000\"");
    }

    #[test]
    fn text_that_is_not_a_uuid_is_refused() {
        assert_eq!(parse("123e4567e89b12d3a456426614174000"), None);
        assert_eq!(parse("123e4567-e89b-12d3-a456-42661417400g"), None);
        assert_eq!(parse("123e4567-e89b-12d3-a456_426614174000"), None);
        assert_eq!(parse(""), None);
    }
}
