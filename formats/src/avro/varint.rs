//! Avro's zigzag variable-length integers, both ways: `int` and `long`
//! share one encoding; reading checks the width each allows.

/// Appends `value` zigzag-encoded.
#[inline]
pub(crate) fn write_long(out: &mut Vec<u8>, value: i64) {
    let z = ((value << 1) ^ (value >> 63)) as u64;
    if z < 0x80 {
        out.push(z as u8);
    } else {
        let (bytes, len) = encode_long(value);
        out.extend_from_slice(&bytes[..len]);
    }
}

/// `value` zigzag-encoded: the bytes and how many of them are used.
#[inline]
pub(crate) fn encode_long(value: i64) -> ([u8; 10], usize) {
    let mut z = ((value << 1) ^ (value >> 63)) as u64;
    let mut bytes = [0u8; 10];
    let mut len = 0;
    while z >= 0x80 {
        bytes[len] = (z as u8) | 0x80;
        z >>= 7;
        len += 1;
    }
    bytes[len] = z as u8;
    (bytes, len + 1)
}

/// Appends a length (of bytes, a string, a block).
#[inline]
pub(crate) fn write_len(out: &mut Vec<u8>, len: usize) {
    write_long(out, len as i64);
}

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarintError {
    /// The input ended inside it.
    Truncated,
    /// Longer than the type allows, or a value wider than it.
    Overlong,
}

/// Reads a zigzag varint of at most `max_bits` bits (32 for `int`, 64 for
/// `long`) from `input` at `*pos`, advancing `*pos`.
#[inline]
pub(crate) fn read(input: &[u8], pos: &mut usize, max_bits: u32) -> Result<i64, VarintError> {
    let mut raw: u64 = 0;
    let mut shift = 0u32;
    loop {
        let Some(&byte) = input.get(*pos) else {
            return Err(VarintError::Truncated);
        };
        *pos += 1;
        let bits = u64::from(byte & 0x7f);
        raw |= bits << shift;
        if byte & 0x80 == 0 {
            let fits = shift + 7 <= max_bits || bits >> (max_bits - shift) == 0;
            if !fits {
                return Err(VarintError::Overlong);
            }
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
        shift += 7;
        if shift >= max_bits {
            return Err(VarintError::Overlong);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_long(&mut out, value);
        out
    }

    #[test]
    fn zigzag_puts_small_magnitudes_in_one_byte() {
        assert_eq!(encoded(0), [0x00]);
        assert_eq!(encoded(-1), [0x01]);
        assert_eq!(encoded(1), [0x02]);
        assert_eq!(encoded(-64), [0x7f]);
        assert_eq!(encoded(64), [0x80, 0x01]);
        assert_eq!(encoded(i64::MIN), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    }

    #[test]
    fn every_width_reads_back_what_was_written() {
        for value in [0, 1, -1, 63, -64, 64, 8191, -8192, i32::MAX as i64, i32::MIN as i64, i64::MAX, i64::MIN] {
            let bytes = encoded(value);
            let mut pos = 0;
            assert_eq!(read(&bytes, &mut pos, 64), Ok(value));
            assert_eq!(pos, bytes.len());
            if i32::try_from(value).is_ok() {
                let mut pos = 0;
                assert_eq!(read(&bytes, &mut pos, 32), Ok(value));
            }
        }
    }

    #[test]
    fn an_int_wider_than_32_bits_is_overlong() {
        let bytes = encoded(i64::from(i32::MAX) + 1);
        assert_eq!(read(&bytes, &mut 0, 32), Err(VarintError::Overlong));
        assert_eq!(read(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], &mut 0, 32), Err(VarintError::Overlong));
    }

    #[test]
    fn a_long_of_eleven_bytes_or_past_64_bits_is_overlong() {
        assert_eq!(read(&[0xff; 11], &mut 0, 64), Err(VarintError::Overlong));
        let too_wide = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read(&too_wide, &mut 0, 64), Err(VarintError::Overlong));
    }

    #[test]
    fn an_unfinished_varint_is_truncated() {
        assert_eq!(read(&[0x80, 0x80], &mut 0, 64), Err(VarintError::Truncated));
        assert_eq!(read(&[], &mut 0, 64), Err(VarintError::Truncated));
    }
}
