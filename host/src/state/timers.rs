//! Timers of plugins with timers (the `timers` interface of
//! `wit/transform.wit`), as the state store keeps them: in a table of their
//! own beside the plugin's state table (same input partition, the plugin's
//! name with [`TIMERS_SUFFIX`]), so they are written to the changelog, undone
//! and restored exactly as state is. Each timer is one entry whose key sorts
//! by clock, then time, then the plugin's key; the partition's stream time
//! is one more entry of that table.

/// Appended to a plugin's name to name its timers' table. A file stem
/// cannot hold a `/`, so no plugin's own state table has such a name.
pub const TIMERS_SUFFIX: &str = "/timers";

/// The key of the entry holding the partition's stream time: after every
/// timer key (those start with a clock's tag).
pub(super) const STREAM_TIME_KEY: &[u8] = &[0xff];

/// The clock a timer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Clock {
    /// The input partition's stream time: the largest record timestamp
    /// processed on it.
    Stream,
    /// The wall clock, milliseconds since the Unix epoch.
    Wall,
}

impl Clock {
    fn tag(self) -> u8 {
        match self {
            Clock::Stream => 0,
            Clock::Wall => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Stream => "stream-time",
            Clock::Wall => "wall-clock",
        }
    }
}

impl std::fmt::Display for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One timer: fires once `clock` reaches `time`, for `key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timer {
    pub clock: Clock,
    pub key: Vec<u8>,
    pub time: i64,
}

impl std::fmt::Display for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} timer at {} for key {}", self.clock, self.time, String::from_utf8_lossy(&self.key))
    }
}

/// `time` as eight bytes that sort as the numbers do.
fn sortable(time: i64) -> [u8; 8] {
    ((time as u64) ^ (1 << 63)).to_be_bytes()
}

/// The table key of a timer.
pub(super) fn encode(timer: &Timer) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(9 + timer.key.len());
    encoded.push(timer.clock.tag());
    encoded.extend_from_slice(&sortable(timer.time));
    encoded.extend_from_slice(&timer.key);
    encoded
}

/// The timer a table key holds; `None` for the stream-time entry.
pub(super) fn decode(encoded: &[u8]) -> Option<Timer> {
    let clock = match encoded.first()? {
        0 => Clock::Stream,
        1 => Clock::Wall,
        _ => return None,
    };
    let time = u64::from_be_bytes(encoded.get(1..9)?.try_into().ok()?) ^ (1 << 63);
    Some(Timer { clock, key: encoded[9..].to_vec(), time: time as i64 })
}

/// Whether a table key is a timer's (not the stream time's).
pub(super) fn is_timer(encoded: &[u8]) -> bool {
    matches!(encoded.first(), Some(0 | 1))
}

/// The range of table keys of `clock`'s timers due at `now`: from the
/// earliest up to and including `now`.
pub(super) fn due_range(clock: Clock, now: i64) -> (Vec<u8>, Vec<u8>) {
    let start = vec![clock.tag()];
    let end = match now.checked_add(1) {
        Some(next) => {
            let mut end = vec![clock.tag()];
            end.extend_from_slice(&sortable(next));
            end
        }
        None => vec![clock.tag() + 1],
    };
    (start, end)
}

pub(super) fn stream_time_key() -> Vec<u8> {
    STREAM_TIME_KEY.to_vec()
}

pub(super) fn encode_stream_time(time: i64) -> Vec<u8> {
    time.to_be_bytes().to_vec()
}

pub(super) fn decode_stream_time(value: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(value.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_keys_sort_by_clock_then_time_then_key_and_decode_back() {
        let timers = [
            Timer { clock: Clock::Stream, key: b"b".to_vec(), time: -5 },
            Timer { clock: Clock::Stream, key: b"a".to_vec(), time: 7 },
            Timer { clock: Clock::Stream, key: b"b".to_vec(), time: 7 },
            Timer { clock: Clock::Stream, key: vec![], time: i64::MAX },
            Timer { clock: Clock::Wall, key: b"a".to_vec(), time: i64::MIN },
        ];
        let encoded: Vec<Vec<u8>> = timers.iter().map(encode).collect();
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(sorted, encoded);
        for (timer, key) in timers.iter().zip(&encoded) {
            assert_eq!(decode(key).as_ref(), Some(timer));
            assert!(is_timer(key));
            assert!(key.as_slice() < STREAM_TIME_KEY);
        }
        assert!(!is_timer(&stream_time_key()));
    }

    #[test]
    fn the_due_range_holds_exactly_the_timers_at_or_before_now() {
        let (start, end) = due_range(Clock::Stream, 10);
        let at = |time| encode(&Timer { clock: Clock::Stream, key: b"k".to_vec(), time });
        assert!(start <= at(i64::MIN) && at(10) < end);
        assert!(at(11) >= end);
        assert!(encode(&Timer { clock: Clock::Wall, key: vec![], time: i64::MIN }) >= end);
        let (_, last) = due_range(Clock::Stream, i64::MAX);
        assert!(at(i64::MAX) < last);
    }
}
