//! `reminder` (timers): the fixture for wall-clock timers. Each record with
//! key K (re)starts K's reminder: a wall-clock timer `delay_ms` after
//! eoshost's wall clock, replacing the one K had. The record itself produces
//! nothing; when the timer fires, one record goes to the default output:
//! key K, value `reminder`, timestamp the timer's time. So a key that stays
//! quiet for `delay_ms` is reminded once, whether or not its partition sees
//! more records (wall-clock timers fire on idle partitions too). A record
//! without a key is rejected.
//!
//! Config: `delay_ms` (milliseconds, default 2000). For the tests of a
//! failing timer: `reject_timer_of=K` makes the timer of key K reject
//! (`error::rejected`), `trap_timer_of=K` makes it trap (a panic).
//!
//! State per partition: K → the time of K's pending reminder (8 bytes,
//! big-endian), to cancel it when K's next record comes first.

use eoshost_plugin_sdk::{
    Clock, Config, InputRecord, OnTimer, OutputRecord, Rejection, TimerOutput, Transform, export_timer_transform, state, timers,
};

/// The default `delay_ms`.
const DEFAULT_DELAY_MS: i64 = 2_000;

pub struct Reminder {
    delay_ms: i64,
    reject_timer_of: Option<Vec<u8>>,
    trap_timer_of: Option<Vec<u8>>,
}

fn decode_time(stored: &[u8]) -> i64 {
    // Only this plugin writes its state: anything else is a bug.
    i64::from_be_bytes(stored.try_into().unwrap_or_else(|_| panic!("a stored reminder time has {} bytes, not 8", stored.len())))
}

impl Transform for Reminder {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&["delay_ms", "reject_timer_of", "trap_timer_of"])?;
        let delay_ms = config.parse_or("delay_ms", DEFAULT_DELAY_MS)?;
        if delay_ms < 0 {
            return Err(format!("config key \"delay_ms\" must be 0 or more, not {delay_ms}"));
        }
        let key_of = |name| config.get(name).map(|key: &str| key.as_bytes().to_vec());
        Ok(Reminder { delay_ms, reject_timer_of: key_of("reject_timer_of"), trap_timer_of: key_of("trap_timer_of") })
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let Some(key) = record.key else {
            return Err(Rejection::new("the record has no key: reminder reminds per key"));
        };
        if let Some(stored) = state::get(&key) {
            timers::cancel(Clock::WallClock, &key, decode_time(&stored));
        }
        let due = timers::wall_clock_time().saturating_add(self.delay_ms);
        timers::schedule(Clock::WallClock, &key, due);
        state::set(&key, &due.to_be_bytes());
        Ok(Vec::new())
    }
}

impl OnTimer for Reminder {
    fn on_timer(&mut self, _clock: Clock, key: Vec<u8>, time: i64) -> Result<Vec<TimerOutput>, Rejection> {
        if self.trap_timer_of.as_ref() == Some(&key) {
            // The state write below must be undone with the trap.
            state::set(b"trapped", b"1");
            panic!("trap_timer_of: the reminder of this key traps");
        }
        if self.reject_timer_of.as_ref() == Some(&key) {
            state::delete(&key);
            return Err(Rejection::new("reject_timer_of: the reminder of this key is rejected"));
        }
        // Only the pending reminder fires (earlier ones were cancelled), but
        // a stale firing must not forget a newer one.
        if state::get(&key).is_some_and(|stored| decode_time(&stored) == time) {
            state::delete(&key);
        }
        Ok(vec![TimerOutput::new(OutputRecord::new(Some(key), "reminder"))])
    }
}

export_timer_transform!(Reminder);

#[cfg(test)]
mod tests {
    use super::*;
    use eoshost_plugin_sdk::timers::Timer;

    fn fresh(config: &[(&str, &str)]) -> Reminder {
        state::clear();
        timers::clear();
        Reminder::init(Config::from_pairs(config.iter().copied())).unwrap()
    }

    fn fire_due(plugin: &mut Reminder) -> Vec<(Vec<u8>, Vec<u8>, Option<i64>)> {
        timers::take_due()
            .into_iter()
            .flat_map(|Timer { clock, key, time }| plugin.on_timer(clock, key, time).unwrap())
            .map(|out| (out.output.key.unwrap(), out.output.value.unwrap(), out.timestamp))
            .collect()
    }

    #[test]
    fn a_quiet_key_is_reminded_once_after_the_delay() {
        let mut plugin = fresh(&[]);
        timers::set_wall_clock_time(1_000);
        assert!(plugin.transform(InputRecord::with_value("x").key("k")).unwrap().is_empty());
        assert_eq!(timers::pending(), [Timer { clock: Clock::WallClock, key: b"k".to_vec(), time: 3_000 }]);
        timers::set_wall_clock_time(2_999);
        assert!(fire_due(&mut plugin).is_empty());
        timers::set_wall_clock_time(3_000);
        assert_eq!(fire_due(&mut plugin), [(b"k".to_vec(), b"reminder".to_vec(), None)]);
        assert!(state::get(b"k").is_none(), "a fired reminder leaves no state");
        timers::set_wall_clock_time(10_000);
        assert!(fire_due(&mut plugin).is_empty(), "reminded once");
    }

    #[test]
    fn a_new_record_replaces_the_pending_reminder() {
        let mut plugin = fresh(&[("delay_ms", "500")]);
        timers::set_wall_clock_time(1_000);
        plugin.transform(InputRecord::with_value("x").key("k")).unwrap();
        timers::set_wall_clock_time(1_400);
        plugin.transform(InputRecord::with_value("x").key("k")).unwrap();
        plugin.transform(InputRecord::with_value("x").key("other")).unwrap();
        assert_eq!(
            timers::pending(),
            [
                Timer { clock: Clock::WallClock, key: b"k".to_vec(), time: 1_900 },
                Timer { clock: Clock::WallClock, key: b"other".to_vec(), time: 1_900 },
            ]
        );
        timers::set_wall_clock_time(1_900);
        assert_eq!(fire_due(&mut plugin).len(), 2);
    }

    #[test]
    fn a_stale_firing_keeps_the_newer_reminder() {
        let mut plugin = fresh(&[]);
        plugin.transform(InputRecord::with_value("x").key("k")).unwrap();
        plugin.on_timer(Clock::WallClock, b"k".to_vec(), 1).unwrap();
        assert_eq!(state::get(b"k"), Some(2_000i64.to_be_bytes().to_vec()));
    }

    #[test]
    fn a_record_without_a_key_is_rejected() {
        let mut plugin = fresh(&[]);
        assert!(plugin.transform(InputRecord::with_value("x")).unwrap_err().reason.contains("no key"));
        assert!(timers::pending().is_empty());
    }

    #[test]
    fn the_timer_of_the_configured_key_rejects_and_others_fire() {
        let mut plugin = fresh(&[("reject_timer_of", "bad")]);
        assert!(plugin.on_timer(Clock::WallClock, b"bad".to_vec(), 5).unwrap_err().reason.contains("reject_timer_of"));
        assert_eq!(plugin.on_timer(Clock::WallClock, b"good".to_vec(), 5).unwrap().len(), 1);
    }

    #[test]
    #[should_panic(expected = "trap_timer_of")]
    fn the_timer_of_the_configured_key_traps() {
        let mut plugin = fresh(&[("trap_timer_of", "bad")]);
        let _ = plugin.on_timer(Clock::WallClock, b"bad".to_vec(), 5);
    }

    #[test]
    fn config_takes_only_a_non_negative_delay() {
        let init = |pairs: &[(&str, &str)]| Reminder::init(Config::from_pairs(pairs.iter().copied())).map(|r| r.delay_ms);
        assert_eq!(init(&[]), Ok(2_000));
        assert_eq!(init(&[("delay_ms", "0")]), Ok(0));
        assert!(init(&[("delay_ms", "-1")]).unwrap_err().contains("0 or more"));
        assert!(init(&[("delay_ms", "soon")]).unwrap_err().contains("invalid value"));
        assert_eq!(init(&[("delay", "1")]).unwrap_err(), r#"unknown config key "delay""#);
    }
}
