//! `dedup` (stateful): drops a record whose id — the value of the JSON field
//! `id_field` of its value (plugin config) — was seen within the last
//! `window` of its partition, and passes every other record unchanged to the
//! default output. Time is the partition's stream time (the largest record
//! timestamp seen there), never the wall clock, so a replay decides as the
//! first run did. Ids older than the window are expired from the state,
//! which stays bounded by the ids of one window (plus what out-of-order
//! timestamps hold back). The input must be keyed so that equal ids share a
//! partition: state is per partition.
//!
//! Config: `id_field` (required), `window` (`500ms`, `30s`, `10m`, `2h`,
//! `1d`, or milliseconds; default `1h`).
//!
//! State per partition: `id/<id>` → first-seen timestamp; `seq/<n>` →
//! (timestamp, id) in the order ids were first seen, the expiry queue;
//! `meta` → stream time and the queue's head and tail.

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform, state};

pub struct Dedup {
    id_field: String,
    window_ms: i64,
}

/// Most queue entries expired per record: expiry keeps up with the input
/// without one record paying for a long time jump all at once.
const EXPIRE_PER_RECORD: usize = 8;

/// The partition's stream time and expiry queue, `meta` in the state.
struct Meta {
    stream_time: i64,
    head: u64,
    tail: u64,
}

impl Meta {
    fn load() -> Meta {
        match state::get(b"meta") {
            Some(bytes) if bytes.len() == 24 => Meta {
                stream_time: i64::from_be_bytes(bytes[0..8].try_into().expect("8 bytes")),
                head: u64::from_be_bytes(bytes[8..16].try_into().expect("8 bytes")),
                tail: u64::from_be_bytes(bytes[16..24].try_into().expect("8 bytes")),
            },
            Some(other) => panic!("dedup's meta state has {} bytes, not 24", other.len()),
            None => Meta { stream_time: i64::MIN, head: 0, tail: 0 },
        }
    }

    fn store(&self) {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.stream_time.to_be_bytes());
        bytes.extend_from_slice(&self.head.to_be_bytes());
        bytes.extend_from_slice(&self.tail.to_be_bytes());
        state::set(b"meta", &bytes);
    }
}

fn id_key(id: &[u8]) -> Vec<u8> {
    [b"id/".as_slice(), id].concat()
}

fn seq_key(n: u64) -> Vec<u8> {
    [b"seq/".as_slice(), &n.to_be_bytes()].concat()
}

fn timestamp(bytes: &[u8]) -> i64 {
    i64::from_be_bytes(bytes[..8].try_into().expect("a stored timestamp has 8 bytes"))
}

/// Parses `500ms`, `30s`, `10m`, `2h`, `1d` or plain milliseconds.
fn parse_window(raw: &str) -> Result<i64, String> {
    let invalid = || format!("config key \"window\" has an invalid value \"{raw}\"; use e.g. 500ms, 30s, 10m, 2h or 1d");
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => raw.split_at(at),
        None => (raw, "ms"),
    };
    let number: i64 = digits.parse().map_err(|_| invalid())?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(invalid()),
    };
    number.checked_mul(scale).filter(|&ms| ms > 0).ok_or_else(invalid)
}

impl Dedup {
    /// The id of a record: the `id_field` member of its JSON value, its
    /// text for a string, its JSON text for anything else.
    fn id_of(&self, value: &[u8]) -> Result<Vec<u8>, Rejection> {
        let json: serde_json::Value =
            serde_json::from_slice(value).map_err(|e| Rejection::new(format!("the value is not JSON: {e}")))?;
        match json.get(&self.id_field) {
            Some(serde_json::Value::String(id)) => Ok(id.as_bytes().to_vec()),
            Some(serde_json::Value::Null) | None => {
                Err(Rejection::new(format!("the value has no \"{}\" (the id_field)", self.id_field)))
            }
            Some(other) => Ok(other.to_string().into_bytes()),
        }
    }

    /// Forgets ids first seen before `horizon`, oldest first.
    fn expire(meta: &mut Meta, horizon: i64) {
        for _ in 0..EXPIRE_PER_RECORD {
            if meta.tail == meta.head {
                return;
            }
            let key = seq_key(meta.tail);
            let Some(entry) = state::get(&key) else {
                panic!("dedup's expiry queue lost entry {}", meta.tail);
            };
            let seen = timestamp(&entry);
            if seen >= horizon {
                return;
            }
            let id = id_key(&entry[8..]);
            // The id may have been seen again after it expired: keep that.
            if state::get(&id).is_some_and(|stored| timestamp(&stored) == seen) {
                state::delete(&id);
            }
            state::delete(&key);
            meta.tail += 1;
        }
    }
}

impl Transform for Dedup {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&["id_field", "window"])?;
        let id_field = config.get("id_field").ok_or("config key \"id_field\" is required: the JSON field holding the id")?;
        let window_ms = parse_window(config.get("window").unwrap_or("1h"))?;
        Ok(Dedup { id_field: id_field.to_owned(), window_ms })
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let Some(ts) = record.timestamp else {
            return Err(Rejection::new("the record has no timestamp: dedup measures its window in record time"));
        };
        let id = self.id_of(record.value.as_deref().unwrap_or_default())?;
        let mut meta = Meta::load();
        meta.stream_time = meta.stream_time.max(ts);
        let horizon = meta.stream_time.saturating_sub(self.window_ms);
        Self::expire(&mut meta, horizon);
        let key = id_key(&id);
        let duplicate = state::get(&key).is_some_and(|stored| timestamp(&stored) >= horizon);
        if !duplicate {
            state::set(&key, &ts.to_be_bytes());
            state::set(&seq_key(meta.head), &[ts.to_be_bytes().as_slice(), &id].concat());
            meta.head += 1;
        }
        meta.store();
        Ok(if duplicate { Vec::new() } else { vec![OutputRecord::from_input(record)] })
    }
}

export_transform!(Dedup);

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, ts: i64) -> InputRecord {
        let mut record = InputRecord::with_value(format!(r#"{{"order_id":"{id}","n":1}}"#)).key("k");
        record.timestamp = Some(ts);
        record
    }

    fn dedup(window: &str) -> Dedup {
        state::clear();
        Dedup::init(Config::from_pairs([("id_field", "order_id"), ("window", window)])).unwrap()
    }

    #[test]
    fn a_repeat_within_the_window_is_dropped_and_after_it_passes() {
        let mut dedup = dedup("10s");
        assert_eq!(dedup.transform(order("a", 1_000)).unwrap().len(), 1);
        assert_eq!(dedup.transform(order("b", 2_000)).unwrap().len(), 1);
        assert!(dedup.transform(order("a", 9_000)).unwrap().is_empty(), "seen 8 s ago");
        // Stream time moves past a's window.
        assert_eq!(dedup.transform(order("c", 12_000)).unwrap().len(), 1);
        assert_eq!(dedup.transform(order("a", 12_500)).unwrap().len(), 1, "a's sighting expired");
        assert!(dedup.transform(order("a", 13_000)).unwrap().is_empty());
    }

    #[test]
    fn expired_ids_leave_the_state() {
        let mut dedup = dedup("1s");
        for i in 0..100 {
            dedup.transform(order(&format!("id{i}"), i * 100)).unwrap();
        }
        let meta = Meta::load();
        assert!(meta.head - meta.tail <= 12, "about one window of ids kept, not {}", meta.head - meta.tail);
        assert!(state::get(b"id/id0").is_none());
        assert!(state::get(b"id/id99").is_some());
    }

    #[test]
    fn records_without_timestamp_or_id_are_rejected_and_config_is_checked() {
        let mut dedup = dedup("1h");
        let mut untimed = order("a", 0);
        untimed.timestamp = None;
        assert!(dedup.transform(untimed).unwrap_err().reason.contains("timestamp"));
        let mut no_id = InputRecord::with_value("{}");
        no_id.timestamp = Some(1);
        assert!(dedup.transform(no_id).unwrap_err().reason.contains("order_id"));
        assert!(Dedup::init(Config::default()).err().unwrap().contains("id_field"));
        assert!(Dedup::init(Config::from_pairs([("id_field", "x"), ("window", "5 weeks")])).err().unwrap().contains("window"));
        assert_eq!(parse_window("2h"), Ok(7_200_000));
        assert_eq!(parse_window("250"), Ok(250));
    }
}
