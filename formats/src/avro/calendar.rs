//! Dates, times of day and timestamps as text, both ways: the proleptic
//! Gregorian calendar counted in days from 1970-01-01 (Howard Hinnant's
//! algorithms), `HH:MM:SS.fff` times and RFC 3339 timestamps.
//!
//! The text forms hold years 0000 to 9999 and times from 00:00 to
//! 23:59:59.999999999; the writers return `false` for a value outside them,
//! and the caller writes the raw number instead (the readers accept it).

use super::node::{TimeUnit, Timestamp};

const SECONDS_PER_DAY: i64 = 86_400;

/// The date `days` after 1970-01-01: (year, month 1–12, day 1–31).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to the date (month 1–12, day 1–31).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let shifted_month = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let doy = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[inline]
fn push_padded(out: &mut Vec<u8>, value: u64, width: u32) {
    let mut digits = [b'0'; 20];
    let mut v = value;
    for slot in digits[..width as usize].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&digits[..width as usize]);
}

fn push_date(out: &mut Vec<u8>, days: i64) -> bool {
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return false;
    }
    push_padded(out, year as u64, 4);
    out.push(b'-');
    push_padded(out, u64::from(month), 2);
    out.push(b'-');
    push_padded(out, u64::from(day), 2);
    true
}

fn push_time(out: &mut Vec<u8>, second_of_day: i64, fraction: i64, digits: u32) {
    push_padded(out, (second_of_day / 3600) as u64, 2);
    out.push(b':');
    push_padded(out, (second_of_day / 60 % 60) as u64, 2);
    out.push(b':');
    push_padded(out, (second_of_day % 60) as u64, 2);
    out.push(b'.');
    push_padded(out, fraction as u64, digits);
}

/// Writes `"YYYY-MM-DD"` for `days` since 1970-01-01.
#[inline]
pub(crate) fn write_date(out: &mut Vec<u8>, days: i64) -> bool {
    out.push(b'"');
    if !push_date(out, days) {
        out.pop();
        return false;
    }
    out.push(b'"');
    true
}

/// Writes `"HH:MM:SS.fff"` (or 6 digits for micros) for a time of day.
#[inline]
pub(crate) fn write_time(out: &mut Vec<u8>, value: i64, unit: TimeUnit) -> bool {
    let per_second = unit.per_second();
    if !(0..SECONDS_PER_DAY * per_second).contains(&value) {
        return false;
    }
    out.push(b'"');
    push_time(out, value / per_second, value % per_second, unit.digits());
    out.push(b'"');
    true
}

/// Writes an RFC 3339 timestamp, with `Z` if it is in UTC.
#[inline]
pub(crate) fn write_timestamp(out: &mut Vec<u8>, value: i64, kind: Timestamp) -> bool {
    let per_second = kind.unit.per_second();
    let seconds = value.div_euclid(per_second);
    let fraction = value.rem_euclid(per_second);
    out.push(b'"');
    if !push_date(out, seconds.div_euclid(SECONDS_PER_DAY)) {
        out.pop();
        return false;
    }
    out.push(b'T');
    push_time(out, seconds.rem_euclid(SECONDS_PER_DAY), fraction, kind.unit.digits());
    if kind.utc {
        out.push(b'Z');
    }
    out.push(b'"');
    true
}

/// `n` decimal digits at `text[at..]`.
fn number(text: &[u8], at: usize, n: usize) -> Option<u32> {
    let digits = text.get(at..at + n)?;
    digits.iter().try_fold(0u32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD` at the start of `text`, as days since 1970-01-01.
fn date_prefix(text: &[u8]) -> Option<i64> {
    let year = i64::from(number(text, 0, 4)?);
    let month = number(text, 5, 2)?;
    let day = number(text, 8, 2)?;
    let dashes = text.get(4) == Some(&b'-') && text.get(7) == Some(&b'-');
    let valid = dashes && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    valid.then(|| days_from_civil(year, month, day))
}

/// `HH:MM:SS[.f…]` at the start of `text`: the second of the day, the
/// fraction in nanoseconds, and how many bytes it took.
fn time_prefix(text: &[u8]) -> Option<(i64, i64, usize)> {
    let hour = number(text, 0, 2)?;
    let minute = number(text, 3, 2)?;
    let second = number(text, 6, 2)?;
    let colons = text.get(2) == Some(&b':') && text.get(5) == Some(&b':');
    if !colons || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut end = 8;
    let mut nanos = 0i64;
    if text.get(8) == Some(&b'.') {
        let digits = text[9..].iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let fraction = number(text, 9, digits)?;
        nanos = i64::from(fraction) * 10_i64.pow(9 - digits as u32);
        end = 9 + digits;
    }
    let second_of_day = i64::from(hour * 3600 + minute * 60 + second);
    Some((second_of_day, nanos, end))
}

/// The fraction `nanos` in `unit`s, if no digit is lost.
fn in_unit(nanos: i64, unit: TimeUnit) -> Option<i64> {
    let divisor = 10_i64.pow(9 - unit.digits());
    (nanos % divisor == 0).then_some(nanos / divisor)
}

/// Reads `YYYY-MM-DD` as days since 1970-01-01.
pub(crate) fn parse_date(text: &str) -> Result<i64, String> {
    let bytes = text.as_bytes();
    match date_prefix(bytes) {
        Some(days) if bytes.len() == 10 => Ok(days),
        _ => Err("is not a date as YYYY-MM-DD".into()),
    }
}

/// Reads `HH:MM:SS[.fff]` as milliseconds or microseconds since midnight.
pub(crate) fn parse_time(text: &str, unit: TimeUnit) -> Result<i64, String> {
    let bytes = text.as_bytes();
    let Some((second, nanos, _)) = time_prefix(bytes).filter(|t| t.2 == bytes.len()) else {
        return Err("is not a time of day as HH:MM:SS.fff".into());
    };
    let fraction = in_unit(nanos, unit).ok_or_else(|| too_fine(unit))?;
    Ok(second * unit.per_second() + fraction)
}

fn too_fine(unit: TimeUnit) -> String {
    format!("has more than {} fractional digits of a second", unit.digits())
}

/// Reads an RFC 3339 timestamp (`Z` or an offset such as `+02:00` for a
/// UTC one, no zone for a local one) as `unit`s since the epoch.
pub(crate) fn parse_timestamp(text: &str, kind: Timestamp) -> Result<i64, String> {
    let bytes = text.as_bytes();
    let shape = if kind.utc {
        "is not a timestamp as YYYY-MM-DDTHH:MM:SS.fffZ (or with an offset such as +02:00)"
    } else {
        "is not a local timestamp as YYYY-MM-DDTHH:MM:SS.fff (with no zone)"
    };
    let days = date_prefix(bytes).ok_or(shape)?;
    if !matches!(bytes.get(10), Some(b'T' | b't')) {
        return Err(shape.into());
    }
    let (second, nanos, used) = time_prefix(&bytes[11..]).ok_or(shape)?;
    let zone = &bytes[11 + used..];
    let offset = match (kind.utc, zone) {
        (false, []) => 0,
        (true, [b'Z' | b'z']) => 0,
        (true, [sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
            let hours = number(zone, 1, 2).filter(|h| *h <= 23).ok_or(shape)?;
            let minutes = number(zone, 4, 2).filter(|m| *m <= 59).ok_or(shape)?;
            let offset = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return Err(shape.into()),
    };
    let fraction = in_unit(nanos, kind.unit).ok_or_else(|| too_fine(kind.unit))?;
    let seconds = days * SECONDS_PER_DAY + second - offset;
    seconds
        .checked_mul(kind.unit.per_second())
        .and_then(|v| v.checked_add(fraction))
        .ok_or_else(|| "is outside the range of timestamps the type holds".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UTC_MILLIS: Timestamp = Timestamp { unit: TimeUnit::Millis, utc: true };
    const LOCAL_NANOS: Timestamp = Timestamp { unit: TimeUnit::Nanos, utc: false };

    fn written(write: impl FnOnce(&mut Vec<u8>) -> bool) -> Option<String> {
        let mut out = Vec::new();
        write(&mut out).then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn day_numbers_and_dates_agree_across_four_centuries_and_before_the_epoch() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert!(d >= 1 && d <= days_in_month(y, m), "{days}: {y}-{m}-{d}");
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
    }

    #[test]
    fn dates_print_and_read_as_year_month_day() {
        assert_eq!(written(|out| write_date(out, 20_794)).as_deref(), Some("\"2026-12-07\""));
        assert_eq!(written(|out| write_date(out, -1)).as_deref(), Some("\"1969-12-31\""));
        assert_eq!(parse_date("2026-12-07"), Ok(20_794));
        assert_eq!(parse_date("0000-01-01"), Ok(-719_528));
        assert!(parse_date("2026-02-29").is_err());
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("2026-1-07").is_err());
        assert!(parse_date("2026-12-07T").is_err());
    }

    #[test]
    fn dates_outside_years_0000_to_9999_have_no_text() {
        assert_eq!(written(|out| write_date(out, -719_529)), None);
        assert_eq!(written(|out| write_date(out, 2_932_897)), None);
        assert!(written(|out| write_date(out, 2_932_896)).is_some());
    }

    #[test]
    fn times_of_day_print_with_the_units_digits_and_read_fewer() {
        let ms = TimeUnit::Millis;
        let us = TimeUnit::Micros;
        assert_eq!(written(|out| write_time(out, 63_588_123, ms)).as_deref(), Some("\"17:39:48.123\""));
        assert_eq!(written(|out| write_time(out, 63_588_123_456, us)).as_deref(), Some("\"17:39:48.123456\""));
        assert_eq!(written(|out| write_time(out, 86_400_000, ms)), None);
        assert_eq!(written(|out| write_time(out, -1, ms)), None);
        assert_eq!(parse_time("17:39:48.123", ms), Ok(63_588_123));
        assert_eq!(parse_time("17:39:48", ms), Ok(63_588_000));
        assert_eq!(parse_time("17:39:48.1", us), Ok(63_588_100_000));
        assert_eq!(parse_time("17:39:48.123000", ms), Ok(63_588_123));
        assert!(parse_time("17:39:48.1234", ms).unwrap_err().contains("more than 3"));
        assert!(parse_time("24:00:00", ms).is_err());
        assert!(parse_time("17:39", ms).is_err());
    }

    #[test]
    fn timestamps_print_as_rfc_3339_in_utc_or_without_zone() {
        let value = 1_796_665_188_123;
        assert_eq!(written(|out| write_timestamp(out, value, UTC_MILLIS)).as_deref(), Some("\"2026-12-07T17:39:48.123Z\""));
        let nanos = Timestamp { unit: TimeUnit::Nanos, utc: false };
        let text = written(|out| write_timestamp(out, -1, nanos)).unwrap();
        assert_eq!(text, "\"1969-12-31T23:59:59.999999999\"");
    }

    #[test]
    fn timestamps_read_their_own_text_fewer_digits_and_offsets() {
        assert_eq!(parse_timestamp("2026-12-07T17:39:48.123Z", UTC_MILLIS), Ok(1_796_665_188_123));
        assert_eq!(parse_timestamp("2026-12-07T17:39:48Z", UTC_MILLIS), Ok(1_796_665_188_000));
        assert_eq!(parse_timestamp("2026-12-07T19:39:48.123+02:00", UTC_MILLIS), Ok(1_796_665_188_123));
        assert_eq!(parse_timestamp("2026-12-07T16:09:48.123-01:30", UTC_MILLIS), Ok(1_796_665_188_123));
        assert_eq!(parse_timestamp("1969-12-31T23:59:59.999999999", LOCAL_NANOS), Ok(-1));
    }

    #[test]
    fn timestamps_refuse_a_missing_or_unexpected_zone_and_lost_digits() {
        assert!(parse_timestamp("2026-12-07T17:39:48.123", UTC_MILLIS).is_err());
        assert!(parse_timestamp("2026-12-07T17:39:48.123Z", LOCAL_NANOS).is_err());
        assert!(parse_timestamp("2026-12-07 17:39:48.123Z", UTC_MILLIS).is_err());
        assert!(parse_timestamp("2026-12-07T17:39:48.1234Z", UTC_MILLIS).unwrap_err().contains("more than 3"));
        let nanos_utc = Timestamp { unit: TimeUnit::Nanos, utc: true };
        assert!(parse_timestamp("9999-12-31T00:00:00Z", nanos_utc).unwrap_err().contains("range"));
    }
}
