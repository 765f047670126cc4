//! Timers: call-backs for a key at a point in time, so a plugin can speak
//! when no record arrives — close a window, expire a session, send a
//! reminder (the `timers` interface of `wit/transform.wit`). Only a plugin
//! exported with [`crate::export_timer_transform!`] may call these; call
//! them from [`crate::Transform::transform`] or [`crate::OnTimer::on_timer`]
//! (in `init` they trap).
//!
//! Two clocks. [`Clock::StreamTime`] is the largest record timestamp
//! processed so far on the input partition: it moves only when records
//! arrive, so an idle partition's stream-time timers wait for its next
//! record. [`Clock::WallClock`] is eoshost's clock (in `eoshost test`, the
//! test file's): its timers fire within about one `--commit-interval-ms` of
//! their time, idle partition or not. A stream-time timer fires right after
//! the `transform` of the record that moved stream time to its time or past
//! it. Timers are part of the partition's state: scheduled and cancelled
//! with the record or timer in process, undone when it does not complete,
//! exactly once. A timer is its clock, key and time: scheduling it twice
//! keeps one.
//!
//! Outside WebAssembly (native unit tests) the timers, the stream time and
//! the wall clock belong to the current thread, shared by every partition.
//! Set the clocks with [`advance_stream_time`], [`set_stream_time`] and
//! [`set_wall_clock_time`], look at what is scheduled with [`pending`],
//! take what would fire with [`take_due`] (and hand it to `on_timer`, as
//! eoshost would), and start again with [`clear`].

use crate::OutputRecord;
pub use crate::timer_wit::eoshost::transform::timers::{Clock, TimerOutput};

/// Asks for [`crate::OnTimer::on_timer`]`(clock, key, time)` once `clock`
/// reaches `time`, on this input partition. Scheduling a timer that exists
/// already changes nothing. Past the operator's `--state-max-mb` the call
/// traps and eoshost stops, naming it.
pub fn schedule(clock: Clock, key: &[u8], time: i64) {
    #[cfg(target_family = "wasm")]
    crate::timer_wit::eoshost::transform::timers::schedule(clock, key, time);
    #[cfg(not(target_family = "wasm"))]
    native::with(|fake| {
        fake.pending.insert(Timer { clock, key: key.to_vec(), time });
    });
}

/// Removes the timer `clock`, `key`, `time` of this input partition;
/// nothing happens when there is none.
pub fn cancel(clock: Clock, key: &[u8], time: i64) {
    #[cfg(target_family = "wasm")]
    crate::timer_wit::eoshost::transform::timers::cancel(clock, key, time);
    #[cfg(not(target_family = "wasm"))]
    native::with(|fake| {
        fake.pending.remove(&Timer { clock, key: key.to_vec(), time });
    });
}

/// This input partition's stream time: the largest record timestamp
/// processed on it so far, the record in process included; `None` before
/// its first record with a timestamp.
pub fn stream_time() -> Option<i64> {
    #[cfg(target_family = "wasm")]
    return crate::timer_wit::eoshost::transform::timers::stream_time();
    #[cfg(not(target_family = "wasm"))]
    return native::with(|fake| fake.stream_time);
}

/// eoshost's wall clock, milliseconds since the Unix epoch (in `eoshost
/// test`, the test file's clock). Schedule wall-clock timers against this,
/// not against the WASI clock.
pub fn wall_clock_time() -> i64 {
    #[cfg(target_family = "wasm")]
    return crate::timer_wit::eoshost::transform::timers::wall_clock_time();
    #[cfg(not(target_family = "wasm"))]
    return native::with(|fake| fake.wall_clock);
}

impl TimerOutput {
    /// `output` with the timer's time as its timestamp, to the partition
    /// Kafka's default partitioner chooses from its key.
    pub fn new(output: OutputRecord) -> Self {
        TimerOutput { output, timestamp: None, partition: None }
    }

    /// The same output with the timestamp `timestamp` (milliseconds since
    /// the Unix epoch) instead of the timer's time.
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The same output written to `partition` of its topic. A partition the
    /// topic does not have fails the transaction: prefer the default.
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }
}

impl From<OutputRecord> for TimerOutput {
    fn from(output: OutputRecord) -> Self {
        TimerOutput::new(output)
    }
}

/// A scheduled timer, as native unit tests see it ([`pending`],
/// [`take_due`]): the arguments `on_timer` will be called with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timer {
    /// The clock it follows.
    pub clock: Clock,
    /// The key it was scheduled with.
    pub key: Vec<u8>,
    /// When it fires, milliseconds on its clock.
    pub time: i64,
}

/// Moves the native stream time to `timestamp` unless it is already past
/// it, as eoshost does before each record's `transform`: call it with the
/// record's timestamp before handing the record to the plugin (native unit
/// tests only).
#[cfg(not(target_family = "wasm"))]
pub fn advance_stream_time(timestamp: i64) {
    native::with(|fake| fake.stream_time = Some(fake.stream_time.map_or(timestamp, |now| now.max(timestamp))));
}

/// Sets the native stream time, backwards or to `None` if the test wants
/// (native unit tests only).
#[cfg(not(target_family = "wasm"))]
pub fn set_stream_time(time: Option<i64>) {
    native::with(|fake| fake.stream_time = time);
}

/// Sets the native wall clock (native unit tests only; it starts at 0).
#[cfg(not(target_family = "wasm"))]
pub fn set_wall_clock_time(time: i64) {
    native::with(|fake| fake.wall_clock = time);
}

/// Every scheduled timer, ordered by clock, key and time (native unit
/// tests only).
#[cfg(not(target_family = "wasm"))]
pub fn pending() -> Vec<Timer> {
    native::with(|fake| fake.pending.iter().cloned().collect())
}

/// Removes and returns the timers whose clock has reached their time,
/// earliest first, as eoshost would fire them; the test then calls
/// `on_timer` with each (native unit tests only).
#[cfg(not(target_family = "wasm"))]
pub fn take_due() -> Vec<Timer> {
    native::with(|fake| {
        let now = |clock| match clock {
            Clock::StreamTime => fake.stream_time,
            Clock::WallClock => Some(fake.wall_clock),
        };
        let mut due: Vec<Timer> =
            fake.pending.iter().filter(|timer| now(timer.clock).is_some_and(|now| now >= timer.time)).cloned().collect();
        for timer in &due {
            fake.pending.remove(timer);
        }
        due.sort_by_key(|timer| timer.time);
        due
    })
}

/// Removes every native timer and resets both clocks: stream time `None`,
/// wall clock 0 (native unit tests only).
#[cfg(not(target_family = "wasm"))]
pub fn clear() {
    native::with(|fake| *fake = native::Fake::default());
}

#[cfg(not(target_family = "wasm"))]
mod native {
    use super::Timer;
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    #[derive(Default)]
    pub struct Fake {
        pub pending: BTreeSet<Timer>,
        pub stream_time: Option<i64>,
        pub wall_clock: i64,
    }

    thread_local! {
        static FAKE: RefCell<Fake> = RefCell::new(Fake::default());
    }

    pub fn with<R>(call: impl FnOnce(&mut Fake) -> R) -> R {
        FAKE.with(|fake| call(&mut fake.borrow_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduling_a_timer_twice_keeps_one_and_cancel_removes_it() {
        clear();
        schedule(Clock::StreamTime, b"k", 10);
        schedule(Clock::StreamTime, b"k", 10);
        schedule(Clock::WallClock, b"k", 10);
        assert_eq!(pending().len(), 2);
        cancel(Clock::StreamTime, b"k", 10);
        cancel(Clock::StreamTime, b"absent", 10);
        assert_eq!(pending(), [Timer { clock: Clock::WallClock, key: b"k".to_vec(), time: 10 }]);
    }

    #[test]
    fn take_due_fires_each_clock_on_its_own_time_earliest_first() {
        clear();
        schedule(Clock::StreamTime, b"late", 20);
        schedule(Clock::StreamTime, b"early", 5);
        schedule(Clock::StreamTime, b"never", 100);
        schedule(Clock::WallClock, b"wall", 7);
        assert!(take_due().is_empty(), "no stream time before the first record");
        advance_stream_time(20);
        advance_stream_time(3);
        assert_eq!(stream_time(), Some(20), "stream time never goes backwards");
        let due: Vec<Vec<u8>> = take_due().into_iter().map(|timer| timer.key).collect();
        assert_eq!(due, [b"early".to_vec(), b"late".to_vec()]);
        set_wall_clock_time(7);
        assert_eq!(take_due(), [Timer { clock: Clock::WallClock, key: b"wall".to_vec(), time: 7 }]);
        assert_eq!(pending().len(), 1);
    }
}
