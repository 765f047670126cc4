//! The Confluent wire format's frame: a zero byte, the schema id (4 bytes,
//! big-endian), then the encoded record.

/// Bytes before the record.
pub const HEADER_LEN: usize = 5;

/// Why bytes are not a framed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer than 5 bytes.
    TooShort(usize),
    /// The first byte is not 0.
    NoMagicByte(u8),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooShort(len) => write!(
                f,
                "not in the Confluent wire format: {len} bytes, fewer than the 5 of its header (a zero byte and the schema id)"
            ),
            FrameError::NoMagicByte(byte) => write!(
                f,
                "not in the Confluent wire format: the first byte is {byte:#04x}, not the magic byte 0 (was it written by a \
                 Schema Registry serializer?)"
            ),
        }
    }
}

/// The schema id and the encoded record of framed `bytes`.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8]), FrameError> {
    if bytes.len() < HEADER_LEN {
        return Err(FrameError::TooShort(bytes.len()));
    }
    if bytes[0] != 0 {
        return Err(FrameError::NoMagicByte(bytes[0]));
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[HEADER_LEN..]))
}

/// Appends the header of schema `id` to `out`.
pub fn frame_header(id: u32, out: &mut Vec<u8>) {
    out.push(0);
    out.extend_from_slice(&id.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_bad_frames_say_why() {
        let mut framed = Vec::new();
        frame_header(0x0102_0304, &mut framed);
        framed.extend_from_slice(b"rec");
        assert_eq!(unframe(&framed), Ok((0x0102_0304, &b"rec"[..])));
        assert_eq!(unframe(b"\0\0\0"), Err(FrameError::TooShort(3)));
        assert_eq!(unframe(b"{\"a\":1}"), Err(FrameError::NoMagicByte(b'{')));
    }
}
