//! `window-count` (timers): counts the records of each key in tumbling
//! event-time windows of `size`, and outputs one record per key and window
//! once the window has closed: key K, value
//! `{"key":"K","start":S,"end":E,"count":N}` (compact JSON in this field
//! order, times in ms, the window being [S, E)), timestamp E − 1, to the
//! default output. A window closes when the partition's stream time (the
//! largest record timestamp processed on it) reaches E + `grace`; a record
//! for a closed window is rejected as late. `window-count-py` is the same
//! transform in Python, byte for byte; docs/windows-guide.md walks through
//! both.
//!
//! Config: `size` (required) and `grace` (default `0s`), each a whole number
//! with a unit: `500ms`, `10s`, `5m`, `1h`.
//!
//! State per partition: K ‖ S (8 bytes, big-endian) → the count so far and
//! E (8 bytes each, big-endian), E kept so that a window closes as it was
//! opened even if `size` changes across a restart. Timers: one stream-time
//! timer per open window, keyed like its state, at E + `grace`.

use eoshost_plugin_sdk::{
    Clock, Config, InputRecord, OnTimer, OutputRecord, Rejection, TimerOutput, Transform, export_timer_transform, state, timers,
};

pub struct WindowCount {
    size_ms: i64,
    grace_ms: i64,
}

/// One tumbling window [start, end), closed once stream time reaches
/// `closes_at` = end + grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    start: i64,
    end: i64,
    closes_at: i64,
}

impl WindowCount {
    /// The window holding timestamp `t`, or `None` when one of its bounds
    /// does not fit in an i64.
    fn window_of(&self, t: i64) -> Option<Window> {
        let start = t.checked_sub(t.rem_euclid(self.size_ms))?;
        let end = start.checked_add(self.size_ms)?;
        let closes_at = end.checked_add(self.grace_ms)?;
        Some(Window { start, end, closes_at })
    }
}

/// The state (and timer) key of `key`'s window starting at `start`.
fn window_key(key: &[u8], start: i64) -> Vec<u8> {
    [key, &start.to_be_bytes()].concat()
}

/// A window's count and end as stored: 16 bytes, both big-endian.
fn encode_count(count: u64, end: i64) -> Vec<u8> {
    [count.to_be_bytes(), end.to_be_bytes()].concat()
}

fn decode_count(stored: &[u8]) -> (u64, i64) {
    // Only this plugin writes its state: anything else is a bug.
    let (count, end) = stored
        .split_at_checked(8)
        .filter(|(_, end)| end.len() == 8)
        .unwrap_or_else(|| panic!("a stored window count has {} bytes, not 16", stored.len()));
    (u64::from_be_bytes(count.try_into().expect("8 bytes")), i64::from_be_bytes(end.try_into().expect("8 bytes")))
}

/// Parses a duration of `key`: digits then `ms`, `s`, `m` or `h`.
fn parse_duration(key: &str, raw: &str) -> Result<i64, String> {
    let invalid = || format!("config key \"{key}\" has an invalid value \"{raw}\"; use e.g. 500ms, 10s, 5m or 1h");
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(invalid()),
    };
    if digits.is_empty() {
        return Err(invalid());
    }
    digits.parse::<i64>().ok().and_then(|n| n.checked_mul(scale)).ok_or_else(invalid)
}

impl Transform for WindowCount {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&["size", "grace"])?;
        let size_ms = match config.get("size") {
            Some(raw) => parse_duration("size", raw)?,
            None => return Err("config key \"size\" is required: the length of a window, e.g. size=10s".to_owned()),
        };
        if size_ms == 0 {
            return Err("config key \"size\" must be more than 0ms".to_owned());
        }
        let grace_ms = parse_duration("grace", config.get("grace").unwrap_or("0s"))?;
        Ok(WindowCount { size_ms, grace_ms })
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let Some(key) = record.key else {
            return Err(Rejection::new("the record has no key: window-count counts per key"));
        };
        let Some(t) = record.timestamp else {
            return Err(Rejection::new("the record has no timestamp: window-count puts records in windows by timestamp"));
        };
        let name = std::str::from_utf8(&key)
            .map_err(|_| Rejection::new("the record's key is not UTF-8: window-count writes it into JSON"))?;
        let window = self.window_of(t).ok_or_else(|| {
            Rejection::new(format!("the record's timestamp {t} is out of range for windows of {}ms", self.size_ms))
        })?;
        // In `transform`, stream time already counts this record.
        let stream_time = timers::stream_time().unwrap_or(t);
        if stream_time >= window.closes_at {
            return Err(Rejection::new(format!(
                "late record: key {} window [{}, {}) closed at stream time {} (end + grace); stream time is {stream_time}",
                json_string(name),
                window.start,
                window.end,
                window.closes_at,
            )));
        }
        let state_key = window_key(&key, window.start);
        let count = match state::get(&state_key) {
            Some(stored) => decode_count(&stored).0,
            None => {
                timers::schedule(Clock::StreamTime, &state_key, window.closes_at);
                0
            }
        };
        state::set(&state_key, &encode_count(count + 1, window.end));
        Ok(Vec::new())
    }
}

impl OnTimer for WindowCount {
    fn on_timer(&mut self, _clock: Clock, key: Vec<u8>, _time: i64) -> Result<Vec<TimerOutput>, Rejection> {
        let Some(stored) = state::get(&key) else {
            return Ok(Vec::new());
        };
        state::delete(&key);
        let (count, end) = decode_count(&stored);
        let (name, start) = key
            .split_at_checked(key.len().wrapping_sub(8))
            .and_then(|(name, start)| Some((std::str::from_utf8(name).ok()?, i64::from_be_bytes(start.try_into().ok()?))))
            .unwrap_or_else(|| panic!("a window timer's key is not a UTF-8 key and a start: {key:?}"));
        let value = format!("{{\"key\":{},\"start\":{start},\"end\":{end},\"count\":{count}}}", json_string(name));
        let output = OutputRecord::new(Some(name.as_bytes().to_vec()), value);
        Ok(vec![TimerOutput::new(output).with_timestamp(end - 1)])
    }
}

/// `text` as a JSON string literal, escaped as serde_json does (the Python
/// plugin matches it with `json.dumps(text, ensure_ascii=False)`).
fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serializes")
}

export_timer_transform!(WindowCount);

#[cfg(test)]
mod tests {
    use super::*;
    use eoshost_plugin_sdk::timers::Timer;

    fn fresh(config: &[(&str, &str)]) -> WindowCount {
        state::clear();
        timers::clear();
        WindowCount::init(Config::from_pairs(config.iter().copied())).unwrap()
    }

    fn record(key: &str, t: i64) -> InputRecord {
        InputRecord { timestamp: Some(t), ..InputRecord::with_value("x").key(key) }
    }

    /// What eoshost does for one record: stream time moves, the record is
    /// transformed, the timers it made due fire. Returns the timers'
    /// outputs as (key, value, timestamp).
    fn feed(plugin: &mut WindowCount, input: InputRecord) -> Result<Vec<(String, String, Option<i64>)>, Rejection> {
        if let Some(t) = input.timestamp {
            timers::advance_stream_time(t);
        }
        assert!(plugin.transform(input)?.is_empty(), "transform outputs nothing");
        Ok(fire_due(plugin))
    }

    fn fire_due(plugin: &mut WindowCount) -> Vec<(String, String, Option<i64>)> {
        let mut outputs = Vec::new();
        for Timer { clock, key, time } in timers::take_due() {
            for out in plugin.on_timer(clock, key, time).unwrap() {
                assert_eq!(out.partition, None);
                assert_eq!(out.output.topic, None);
                outputs.push((
                    String::from_utf8(out.output.key.unwrap()).unwrap(),
                    String::from_utf8(out.output.value.unwrap()).unwrap(),
                    out.timestamp,
                ));
            }
        }
        outputs
    }

    #[test]
    fn a_window_is_counted_and_emitted_once_when_stream_time_passes_its_end() {
        let mut plugin = fresh(&[("size", "10s")]);
        assert!(feed(&mut plugin, record("a", 1_000)).unwrap().is_empty());
        assert!(feed(&mut plugin, record("b", 2_000)).unwrap().is_empty());
        assert!(feed(&mut plugin, record("a", 9_999)).unwrap().is_empty());
        assert_eq!(
            timers::pending(),
            [
                Timer { clock: Clock::StreamTime, key: window_key(b"a", 0), time: 10_000 },
                Timer { clock: Clock::StreamTime, key: window_key(b"b", 0), time: 10_000 },
            ]
        );
        let out = feed(&mut plugin, record("a", 10_000)).unwrap();
        assert_eq!(
            out,
            [
                ("a".to_owned(), r#"{"key":"a","start":0,"end":10000,"count":2}"#.to_owned(), Some(9_999)),
                ("b".to_owned(), r#"{"key":"b","start":0,"end":10000,"count":1}"#.to_owned(), Some(9_999)),
            ]
        );
        assert!(state::get(&window_key(b"a", 0)).is_none(), "a closed window's state is deleted");
        assert!(state::get(&window_key(b"b", 0)).is_none());
        assert!(feed(&mut plugin, record("b", 15_000)).unwrap().is_empty(), "a window is emitted once");
        assert_eq!(
            feed(&mut plugin, record("c", 20_000)).unwrap(),
            [
                ("a".to_owned(), r#"{"key":"a","start":10000,"end":20000,"count":1}"#.to_owned(), Some(19_999)),
                ("b".to_owned(), r#"{"key":"b","start":10000,"end":20000,"count":1}"#.to_owned(), Some(19_999)),
            ]
        );
    }

    #[test]
    fn a_record_for_a_closed_window_is_rejected_as_late() {
        let mut plugin = fresh(&[("size", "10s")]);
        feed(&mut plugin, record("a", 5_000)).unwrap();
        feed(&mut plugin, record("a", 12_000)).unwrap();
        let rejection = feed(&mut plugin, record("a", 9_000)).unwrap_err();
        assert_eq!(
            rejection.reason,
            r#"late record: key "a" window [0, 10000) closed at stream time 10000 (end + grace); stream time is 12000"#
        );
        assert!(state::get(&window_key(b"a", 0)).is_none(), "a late record leaves no state behind");
        assert_eq!(timers::pending().len(), 1, "only the open window [10000, 20000) waits");
    }

    #[test]
    fn grace_keeps_a_window_open_past_its_end() {
        let mut plugin = fresh(&[("size", "10s"), ("grace", "2s")]);
        feed(&mut plugin, record("a", 5_000)).unwrap();
        assert!(feed(&mut plugin, record("a", 11_999)).unwrap().is_empty());
        assert!(feed(&mut plugin, record("a", 9_000)).unwrap().is_empty(), "out of order but within grace");
        let out = feed(&mut plugin, record("a", 12_000)).unwrap();
        assert_eq!(out, [("a".to_owned(), r#"{"key":"a","start":0,"end":10000,"count":2}"#.to_owned(), Some(9_999))]);
        assert!(feed(&mut plugin, record("a", 9_500)).unwrap_err().reason.contains("late"));
    }

    #[test]
    fn negative_timestamps_fall_in_windows_that_start_at_a_multiple_of_size() {
        let plugin = fresh(&[("size", "10s")]);
        assert_eq!(plugin.window_of(-1), Some(Window { start: -10_000, end: 0, closes_at: 0 }));
        assert_eq!(plugin.window_of(-10_000), Some(Window { start: -10_000, end: 0, closes_at: 0 }));
        assert_eq!(plugin.window_of(i64::MIN), None);
        assert_eq!(plugin.window_of(i64::MAX), None);
    }

    #[test]
    fn the_key_is_written_escaped_as_serde_json_does() {
        let mut plugin = fresh(&[("size", "1s")]);
        let key = "q\"b\\n\n\t\u{1}\u{7f}é→😀";
        feed(&mut plugin, record(key, 0)).unwrap();
        let out = feed(&mut plugin, record("z", 1_000)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, key);
        assert_eq!(out[0].1, "{\"key\":\"q\\\"b\\\\n\\n\\t\\u0001\u{7f}é→😀\",\"start\":0,\"end\":1000,\"count\":1}");
    }

    #[test]
    fn records_without_key_timestamp_or_utf8_key_are_rejected() {
        let mut plugin = fresh(&[("size", "10s")]);
        let no_key = InputRecord { timestamp: Some(1), ..InputRecord::with_value("x") };
        assert!(plugin.transform(no_key).unwrap_err().reason.contains("no key"));
        assert!(plugin.transform(InputRecord::with_value("x").key("a")).unwrap_err().reason.contains("no timestamp"));
        let binary = InputRecord { timestamp: Some(1), ..InputRecord::with_value("x").key(vec![0xff]) };
        assert!(plugin.transform(binary).unwrap_err().reason.contains("not UTF-8"));
        assert!(timers::pending().is_empty());
    }

    #[test]
    fn a_timer_without_a_count_outputs_nothing() {
        let mut plugin = fresh(&[("size", "10s")]);
        assert!(plugin.on_timer(Clock::StreamTime, window_key(b"a", 0), 10_000).unwrap().is_empty());
    }

    #[test]
    fn config_needs_a_size_and_refuses_unknown_keys() {
        let init = |pairs: &[(&str, &str)]| WindowCount::init(Config::from_pairs(pairs.iter().copied())).map(|_| ());
        assert_eq!(init(&[("size", "10s"), ("sise", "1s")]).unwrap_err(), r#"unknown config key "sise""#);
        assert!(init(&[]).unwrap_err().contains(r#""size" is required"#));
        assert!(init(&[("size", "0s")]).unwrap_err().contains("more than 0"));
        for bad in ["10", "s", "-1s", "1.5s", "10d", "99999999999999999h", "10 s"] {
            assert!(init(&[("size", bad)]).unwrap_err().contains("invalid value"), "{bad}");
        }
        let plugin = WindowCount::init(Config::from_pairs([("size", "250ms"), ("grace", "1m")])).unwrap();
        assert_eq!((plugin.size_ms, plugin.grace_ms), (250, 60_000));
        let plugin = WindowCount::init(Config::from_pairs([("size", "2h")])).unwrap();
        assert_eq!((plugin.size_ms, plugin.grace_ms), (7_200_000, 0));
    }
}
