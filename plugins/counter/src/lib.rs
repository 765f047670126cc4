//! `counter` (stateful): for each record with key K, adds one to K's count
//! in the partition's state and outputs one record with key K and value the
//! new count in ASCII decimal (`1`, `2`, …), to the default output. Counts
//! are exactly once: a count is never skipped or repeated across kills,
//! restarts and rebalances. A record without a key is rejected.
//!
//! Config `format=json` (for the PostgreSQL sink's `--columns auto`): the
//! value is `{"key":"K","count":N}` instead (K as JSON text; a key that is
//! not UTF-8 is then rejected).

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform, state};

pub struct Counter {
    /// `format=json`: values are `{"key":…,"count":…}`.
    json: bool,
}

impl Transform for Counter {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&["format"])?;
        let json = match config.get("format").unwrap_or("decimal") {
            "decimal" => false,
            "json" => true,
            other => return Err(format!("config key \"format\" is \"{other}\"; use decimal (the default) or json")),
        };
        Ok(Counter { json })
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let Some(key) = record.key else {
            return Err(Rejection::new("the record has no key: counter counts per key"));
        };
        let count = match state::get(&key) {
            None => 0,
            Some(stored) => std::str::from_utf8(&stored)
                .ok()
                .and_then(|text| text.parse::<u64>().ok())
                // Only this plugin writes its state: anything else is a bug.
                .unwrap_or_else(|| panic!("the stored count of a key is not a number: {stored:?}")),
        };
        let next = (count + 1).to_string();
        let value = match self.json {
            false => next.clone(),
            true => {
                let name = std::str::from_utf8(&key)
                    .map_err(|_| Rejection::new("the record's key is not UTF-8: format=json writes it as JSON text"))?;
                format!("{{\"key\":{},\"count\":{next}}}", serde_json::to_string(name).expect("a string serializes"))
            }
        };
        state::set(&key, next.as_bytes());
        Ok(vec![OutputRecord::new(Some(key), value)])
    }
}

export_transform!(Counter);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_counts_from_one_on_its_own() {
        state::clear();
        let mut counter = Counter::init(Config::default()).unwrap();
        let values: Vec<String> = ["a", "b", "a", "a", "b"]
            .iter()
            .map(|key| {
                let out = counter.transform(InputRecord::with_value("x").key(*key)).unwrap();
                assert_eq!(out.len(), 1);
                assert_eq!(out[0].key.as_deref(), Some(key.as_bytes()));
                String::from_utf8(out[0].value.clone().unwrap()).unwrap()
            })
            .collect();
        assert_eq!(values, ["1", "1", "2", "3", "2"]);
    }

    #[test]
    fn format_json_writes_the_key_and_the_count_as_an_object() {
        state::clear();
        let mut counter = Counter::init(Config::from_pairs([("format", "json")])).unwrap();
        counter.transform(InputRecord::with_value("x").key("k\"1")).unwrap();
        let out = counter.transform(InputRecord::with_value("x").key("k\"1")).unwrap();
        assert_eq!(out[0].value.as_deref(), Some(&br#"{"key":"k\"1","count":2}"#[..]));
        assert!(Counter::init(Config::from_pairs([("format", "xml")])).is_err());
    }

    #[test]
    fn a_record_without_a_key_is_rejected() {
        state::clear();
        let mut counter = Counter::init(Config::default()).unwrap();
        assert!(counter.transform(InputRecord::with_value("x")).unwrap_err().reason.contains("no key"));
    }
}
