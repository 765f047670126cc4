//! Decimals between their Avro form — the unscaled value as big-endian
//! two's-complement bytes — and exact text such as `-12.30`, with no
//! floating point on the way: up to 38 digits in an `i128`, more in a
//! small base-10⁹ big number.

use super::node::Decimal;

/// Unscaled values longer than this (about 2,400 digits) are refused on
/// decode rather than converted in quadratic time.
const MAX_DECODED_BYTES: usize = 1024;

/// Writes the value of `bytes` (big-endian two's complement, empty for 0)
/// scaled by `scale`, as a JSON string with exactly `scale` fractional
/// digits.
pub(crate) fn write_text(out: &mut Vec<u8>, bytes: &[u8], scale: u32) -> Result<(), String> {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut buffer = itoa::Buffer::new();
    let long_digits;
    let digits: &[u8] = if bytes.len() <= 8 {
        let value = bytes.iter().fold(if negative { -1i64 } else { 0 }, |v, &b| (v << 8) | i64::from(b));
        buffer.format(value.unsigned_abs()).as_bytes()
    } else if bytes.len() <= 16 {
        let value = bytes.iter().fold(if negative { -1i128 } else { 0 }, |v, &b| (v << 8) | i128::from(b));
        buffer.format(value.unsigned_abs()).as_bytes()
    } else {
        long_digits = big_digits(&magnitude(bytes, negative))?;
        &long_digits
    };
    out.push(b'"');
    if negative {
        out.push(b'-');
    }
    let scale = scale as usize;
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(whole);
        out.push(b'.');
        out.extend_from_slice(fraction);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
    out.push(b'"');
    Ok(())
}

/// The magnitude of a two's-complement value, big-endian, no leading zeros.
fn magnitude(bytes: &[u8], negative: bool) -> Vec<u8> {
    let mut mag: Vec<u8> = if negative { bytes.iter().map(|b| !b).collect() } else { bytes.to_vec() };
    if negative {
        for b in mag.iter_mut().rev() {
            let (sum, carry) = b.overflowing_add(1);
            *b = sum;
            if !carry {
                break;
            }
        }
    }
    let zeros = mag.iter().take_while(|b| **b == 0).count();
    mag.drain(..zeros);
    mag
}

/// The decimal digits of a big-endian magnitude.
fn big_digits(mag: &[u8]) -> Result<Vec<u8>, String> {
    if mag.len() > MAX_DECODED_BYTES {
        return Err(format!("decimal of {} bytes is too long to print", mag.len()));
    }
    // Base-2³² limbs, most significant first; divide by 10⁹ until zero.
    let mut limbs: Vec<u32> = Vec::with_capacity(mag.len() / 4 + 1);
    let head = mag.len() % 4;
    if head > 0 {
        limbs.push(mag[..head].iter().fold(0, |v, &b| (v << 8) | u32::from(b)));
    }
    limbs.extend(mag[head..].chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])));
    let mut chunks = Vec::new();
    while limbs.iter().any(|l| *l != 0) {
        let mut rest = 0u64;
        for limb in limbs.iter_mut() {
            let value = (rest << 32) | u64::from(*limb);
            *limb = (value / 1_000_000_000) as u32;
            rest = value % 1_000_000_000;
        }
        chunks.push(rest as u32);
        let zeros = limbs.iter().take_while(|l| **l == 0).count();
        limbs.drain(..zeros);
    }
    let mut digits = Vec::with_capacity(chunks.len() * 9);
    for (i, chunk) in chunks.iter().rev().enumerate() {
        let text = format!("{chunk}");
        if i > 0 {
            digits.resize(digits.len() + 9 - text.len(), b'0');
        }
        digits.extend_from_slice(text.as_bytes());
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    Ok(digits)
}

/// Reads a decimal's text (`-12.30`, `1.5e3`; a JSON number's grammar,
/// leading zeros allowed) and appends the minimal big-endian
/// two's-complement bytes of its unscaled value to `out` (at least one
/// byte, as Java's `BigInteger.toByteArray`). Refuses a value that would
/// lose a non-zero digit at `scale`, or needs more than `precision` digits.
pub(crate) fn parse_text(text: &str, decimal: Decimal, out: &mut Vec<u8>) -> Result<(), String> {
    let Some(number) = Number::split(text.as_bytes()) else {
        return Err("is not a decimal number".into());
    };
    let count = number.whole.len() + number.fraction.len();
    // The value is digits × 10^exponent; the unscaled one digits × 10^shift.
    let exponent = number.exponent.saturating_sub(number.fraction.len() as i64);
    let shift = exponent.saturating_add(i64::from(decimal.scale));
    let mut end = count;
    if shift < 0 {
        let dropped = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX).min(count);
        if (count - dropped..count).any(|i| number.digit(i) != 0) {
            return Err(format!("has more than {} digits after the point", decimal.scale));
        }
        end = count - dropped;
    }
    let start = (0..end).take_while(|i| number.digit(*i) == 0).count();
    let significant = end - start;
    let zeros = if significant > 0 { shift.max(0) } else { 0 };
    let total = (significant as i64).saturating_add(zeros);
    if total > i64::from(decimal.precision) {
        return Err(format!("has more than {} digits", decimal.precision));
    }
    let digits = (start..end).map(|i| number.digit(i)).chain((0..zeros).map(|_| 0));
    if total <= 38 {
        let magnitude = digits.fold(0u128, |v, d| v * 10 + u128::from(d));
        let value = if number.negative { -(magnitude as i128) } else { magnitude as i128 };
        out.extend_from_slice(minimal(&value.to_be_bytes()));
    } else {
        out.extend_from_slice(minimal(&big_twos_complement(digits, number.negative)));
    }
    Ok(())
}

/// A number's text split into its parts.
struct Number<'t> {
    negative: bool,
    whole: &'t [u8],
    fraction: &'t [u8],
    exponent: i64,
}

impl<'t> Number<'t> {
    fn split(text: &'t [u8]) -> Option<Number<'t>> {
        let (negative, rest) = match text {
            [b'-', rest @ ..] => (true, rest),
            rest => (false, rest),
        };
        let whole_len = rest.iter().take_while(|d| d.is_ascii_digit()).count();
        if whole_len == 0 {
            return None;
        }
        let (whole, mut rest) = rest.split_at(whole_len);
        let mut fraction: &[u8] = &[];
        if let [b'.', tail @ ..] = rest {
            let len = tail.iter().take_while(|d| d.is_ascii_digit()).count();
            if len == 0 {
                return None;
            }
            (fraction, rest) = tail.split_at(len);
        }
        let mut exponent = 0i64;
        if let [b'e' | b'E', tail @ ..] = rest {
            let (sign, digits) = match tail {
                [b'-', t @ ..] => (-1, t),
                [b'+', t @ ..] => (1, t),
                t => (1, t),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let power = digits.iter().fold(0i64, |acc, d| acc.saturating_mul(10).saturating_add(i64::from(d - b'0')));
            exponent = sign * power;
            rest = &[];
        }
        rest.is_empty().then_some(Number { negative, whole, fraction, exponent })
    }

    /// The `i`th digit of whole and fraction together.
    fn digit(&self, i: usize) -> u8 {
        let d = if i < self.whole.len() { self.whole[i] } else { self.fraction[i - self.whole.len()] };
        d - b'0'
    }
}

/// Two's-complement bytes of ±digits past 38 digits: base-2³² limbs, least
/// significant first, then negated if need be.
fn big_twos_complement(digits: impl Iterator<Item = u8>, negative: bool) -> Vec<u8> {
    let mut limbs = vec![0u32];
    for d in digits {
        let mut carry = u64::from(d);
        for limb in limbs.iter_mut() {
            let value = u64::from(*limb) * 10 + carry;
            *limb = value as u32;
            carry = value >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    let mut bytes = vec![0u8];
    bytes.extend(limbs.iter().rev().flat_map(|l| l.to_be_bytes()));
    if negative {
        bytes.iter_mut().for_each(|b| *b = !*b);
        for b in bytes.iter_mut().rev() {
            let (sum, carry) = b.overflowing_add(1);
            *b = sum;
            if !carry {
                break;
            }
        }
    }
    bytes
}

/// `bytes` without the leading bytes that only repeat the sign.
fn minimal(bytes: &[u8]) -> &[u8] {
    let redundant =
        bytes.windows(2).take_while(|w| (w[0] == 0x00 && w[1] & 0x80 == 0) || (w[0] == 0xff && w[1] & 0x80 != 0)).count();
    &bytes[redundant..]
}

/// Appends `bytes` sign-extended to `size` bytes, for a decimal held in a
/// fixed; `false` if they do not fit.
pub(crate) fn extend_signed(out: &mut Vec<u8>, bytes: &[u8], size: usize) -> bool {
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0x00 };
    let Some(pad) = size.checked_sub(bytes.len()) else { return false };
    out.resize(out.len() + pad, fill);
    out.extend_from_slice(bytes);
    true
}

/// The most digits a decimal in `size` bytes can hold:
/// ⌊log₁₀(2^(8·size−1) − 1)⌋.
pub(crate) fn max_precision(size: usize) -> u64 {
    if size == 0 {
        return 0;
    }
    if size <= 16 {
        let max = (1u128 << (8 * size - 1)) - 1;
        return u64::from(max.checked_ilog10().unwrap_or(0));
    }
    ((8 * size - 1) as f64 * std::f64::consts::LOG10_2).floor() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8], scale: u32) -> String {
        let mut out = Vec::new();
        write_text(&mut out, bytes, scale).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn dec(precision: u32, scale: u32) -> Decimal {
        Decimal { precision, scale }
    }

    fn parse(text: &str, decimal: Decimal) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        parse_text(text, decimal, &mut out).map(|()| out)
    }

    #[test]
    fn unscaled_bytes_print_with_exactly_scale_fractional_digits() {
        assert_eq!(text(&[0xfb, 0x32], 2), "\"-12.30\""); // -1230
        assert_eq!(text(&[0x04, 0xce], 2), "\"12.30\"");
        assert_eq!(text(&[0xfb], 2), "\"-0.05\"");
        assert_eq!(text(&[], 2), "\"0.00\"");
        assert_eq!(text(&[0x00], 0), "\"0\"");
        assert_eq!(text(&[0x7b], 0), "\"123\"");
        assert_eq!(text(&[0x80; 16], 0), format!("\"{}\"", i128::from_be_bytes([0x80; 16])));
    }

    #[test]
    fn values_longer_than_an_i128_print_exactly() {
        // 10^40 and -10^40, 17 bytes.
        let ten_to_40 = parse(&format!("1{}", "0".repeat(40)), dec(41, 0)).unwrap();
        assert_eq!(text(&ten_to_40, 3), format!("\"1{}.000\"", "0".repeat(37)));
        let minus = parse(&format!("-1{}", "0".repeat(40)), dec(41, 0)).unwrap();
        assert_eq!(text(&minus, 0), format!("\"-1{}\"", "0".repeat(40)));
        assert_eq!(ten_to_40.len(), 17);
        assert_eq!(text(&parse("-1", dec(50, 45)).unwrap(), 45), format!("\"-1.{}\"", "0".repeat(45)));
    }

    #[test]
    fn text_reads_as_minimal_twos_complement_like_java() {
        assert_eq!(parse("-12.30", dec(5, 2)).unwrap(), [0xfb, 0x32]);
        assert_eq!(parse("-12.3", dec(5, 2)).unwrap(), [0xfb, 0x32]);
        assert_eq!(parse("0", dec(5, 2)).unwrap(), [0x00]);
        assert_eq!(parse("-0.00", dec(5, 2)).unwrap(), [0x00]);
        assert_eq!(parse("1.28", dec(5, 2)).unwrap(), [0x00, 0x80]);
        assert_eq!(parse("-1.28", dec(5, 2)).unwrap(), [0x80]);
        assert_eq!(parse("1.5e1", dec(5, 2)).unwrap(), [0x05, 0xdc]);
        assert_eq!(parse("1200e-2", dec(5, 0)).unwrap(), [0x0c]);
        assert!(parse("1250e-2", dec(5, 0)).is_err());
    }

    #[test]
    fn lost_fractional_digits_and_too_many_digits_are_refused() {
        assert_eq!(parse("12.345", dec(10, 2)).unwrap_err(), "has more than 2 digits after the point");
        assert_eq!(parse("12.3400", dec(10, 2)).unwrap(), parse("12.34", dec(10, 2)).unwrap());
        assert_eq!(parse("123456.00", dec(7, 2)).unwrap_err(), "has more than 7 digits");
        assert_eq!(parse("1e400", dec(7, 2)).unwrap_err(), "has more than 7 digits");
        assert_eq!(parse("0e400", dec(7, 2)).unwrap(), [0x00]);
        assert!(parse("12.", dec(7, 2)).is_err());
        assert!(parse("abc", dec(7, 2)).is_err());
        assert!(parse("", dec(7, 2)).is_err());
    }

    #[test]
    fn fixed_decimals_sign_extend_to_their_size() {
        let extended = |bytes: &[u8], size| {
            let mut out = vec![0xaa];
            extend_signed(&mut out, bytes, size).then_some(out)
        };
        assert_eq!(extended(&[0xfb, 0x32], 4), Some(vec![0xaa, 0xff, 0xff, 0xfb, 0x32]));
        assert_eq!(extended(&[0x04], 2), Some(vec![0xaa, 0x00, 0x04]));
        assert_eq!(extended(&[1, 2, 3], 2), None);
    }

    #[test]
    fn a_fixeds_size_bounds_its_precision() {
        assert_eq!(max_precision(1), 2);
        assert_eq!(max_precision(4), 9);
        assert_eq!(max_precision(8), 18);
        assert_eq!(max_precision(16), 38);
        assert_eq!(max_precision(32), 76);
    }
}
