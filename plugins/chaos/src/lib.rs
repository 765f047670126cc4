//! `chaos`: `identity`, except that each call traps (panics) with probability
//! `trap_per_million` / 1,000,000, and always on a record whose value equals
//! `trap_on_value` (for tests that need a trap on one known record). The randomness comes from WASI (through
//! std's randomly seeded hasher), so a retried record usually succeeds: the
//! shape of a transient fault.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform};

pub struct Chaos {
    trap_per_million: u64,
    trap_on_value: Option<Vec<u8>>,
    random: RandomState,
    calls: u64,
}

impl Chaos {
    fn roll(&mut self) -> u64 {
        self.calls += 1;
        let mut hasher = self.random.build_hasher();
        hasher.write_u64(self.calls);
        hasher.finish() % 1_000_000
    }
}

impl Transform for Chaos {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&["trap_per_million", "trap_on_value"])?;
        let trap_per_million = config.parse_or("trap_per_million", 0u64)?;
        if trap_per_million > 1_000_000 {
            return Err(format!("config key \"trap_per_million\" must be at most 1000000, got {trap_per_million}"));
        }
        // RandomState::new() draws its keys from the WASI random source.
        let trap_on_value = config.get("trap_on_value").map(|v| v.as_bytes().to_vec());
        Ok(Chaos { trap_per_million, trap_on_value, random: RandomState::new(), calls: 0 })
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let chosen = self.trap_on_value.is_some() && record.value == self.trap_on_value;
        if chosen || self.roll() < self.trap_per_million {
            panic!("chaos: injected trap at {}/{}@{}", record.topic, record.partition, record.offset);
        }
        Ok(vec![OutputRecord::from_input(record)])
    }
}

export_transform!(Chaos);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_rate_never_traps() {
        let mut chaos = Chaos::init(Config::default()).unwrap();
        for _ in 0..1000 {
            chaos.transform(InputRecord::with_value("v")).unwrap();
        }
    }

    #[test]
    fn full_rate_always_traps() {
        let mut chaos = Chaos::init(Config::from_pairs([("trap_per_million", "1000000")])).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chaos.transform(InputRecord::with_value("v"))));
        assert!(result.is_err());
    }

    #[test]
    fn the_chosen_value_always_traps_and_others_pass() {
        let mut chaos = Chaos::init(Config::from_pairs([("trap_on_value", "boom")])).unwrap();
        chaos.transform(InputRecord::with_value("fine")).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chaos.transform(InputRecord::with_value("boom"))));
        assert!(result.is_err());
    }

    #[test]
    fn rate_above_one_is_refused() {
        let err = Chaos::init(Config::from_pairs([("trap_per_million", "2000000")])).err().unwrap();
        assert!(err.contains("at most 1000000"), "{err}");
    }
}
