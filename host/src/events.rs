//! Per-record warnings, rate-limited: a poison stream (every record rejected,
//! every output refused) must not write a log line per record. Each kind of
//! warning is a `static` [`RateLimited`]; within a window the first `burst`
//! warnings are logged, the rest are counted, and the count is logged when the
//! window is over — by the next warning of that kind or by [`flush`], which
//! the progress task calls — so nothing is suppressed silently.
//!
//! ```
//! use std::time::Duration;
//! use eoshost::events::RateLimited;
//!
//! static REJECTED: RateLimited = RateLimited::new("record rejected by the plugin", 10, Duration::from_secs(10));
//! # let (record, reason) = ("orders/0@7", "not JSON");
//! REJECTED.warn(format_args!("{record}: {reason}; --on-error applies"));
//! ```

use std::fmt::Display;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Every limiter that has warned at least once, for [`flush`].
static SEEN: Mutex<Vec<&'static RateLimited>> = Mutex::new(Vec::new());

/// One kind of per-record warning and its window.
pub struct RateLimited {
    kind: &'static str,
    burst: u32,
    window: Duration,
    registered: AtomicBool,
    state: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    started: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

/// What to do with one warning.
#[derive(Debug, PartialEq, Eq)]
pub struct Admission {
    /// Log this warning (else it was counted as suppressed).
    pub log: bool,
    /// Warnings suppressed in a window that just ended: log this count first.
    pub ended_window_suppressed: u64,
}

impl RateLimited {
    /// `kind` names the warnings in the suppression summary; at most
    /// `burst` are logged per `window`.
    pub const fn new(kind: &'static str, burst: u32, window: Duration) -> RateLimited {
        RateLimited {
            kind,
            burst,
            window,
            registered: AtomicBool::new(false),
            state: Mutex::new(Window { started: None, logged: 0, suppressed: 0 }),
        }
    }

    /// Logs `message` at warn level unless `burst` warnings of this kind
    /// were already logged in the current window.
    pub fn warn(&'static self, message: impl Display) {
        if !self.registered.swap(true, Ordering::Relaxed) {
            SEEN.lock().unwrap_or_else(|p| p.into_inner()).push(self);
        }
        let admission = self.admit_at(Instant::now());
        self.summarise(admission.ended_window_suppressed);
        if admission.log {
            tracing::warn!("{message}");
        }
    }

    /// The decision for one warning arriving at `now`.
    pub fn admit_at(&self, now: Instant) -> Admission {
        let mut window = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut ended_window_suppressed = 0;
        let expired = window.started.is_none_or(|started| now.saturating_duration_since(started) >= self.window);
        if expired {
            ended_window_suppressed = window.suppressed;
            *window = Window { started: Some(now), logged: 0, suppressed: 0 };
        }
        let log = window.logged < self.burst;
        if log {
            window.logged += 1;
        } else {
            window.suppressed += 1;
        }
        Admission { log, ended_window_suppressed }
    }

    /// The count suppressed in a window that is over at `now` (taken, so it
    /// is reported once); 0 while the window is still open.
    pub fn take_ended_at(&self, now: Instant) -> u64 {
        let mut window = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match window.started {
            Some(started) if now.saturating_duration_since(started) >= self.window && window.suppressed > 0 => {
                std::mem::take(&mut window.suppressed)
            }
            _ => 0,
        }
    }

    fn summarise(&self, suppressed: u64) {
        if suppressed > 0 {
            tracing::warn!(
                kind = self.kind,
                suppressed,
                "{suppressed} more \"{}\" warnings suppressed in the last {:?}",
                self.kind,
                self.window
            );
        }
    }
}

/// Logs the suppressed counts of every window that is over.
pub fn flush() {
    let now = Instant::now();
    let seen: Vec<&'static RateLimited> = SEEN.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for limiter in seen {
        limiter.summarise(limiter.take_ended_at(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_logged_the_rest_counted_and_the_count_reported_once_the_window_ends() {
        let limiter = RateLimited::new("test", 3, Duration::from_secs(10));
        let start = Instant::now();
        let logged: Vec<bool> = (0..10).map(|i| limiter.admit_at(start + Duration::from_millis(i)).log).collect();
        assert_eq!(logged, [true, true, true, false, false, false, false, false, false, false]);
        assert_eq!(limiter.take_ended_at(start + Duration::from_secs(5)), 0, "the window is still open");

        let next = limiter.admit_at(start + Duration::from_secs(11));
        assert_eq!(next, Admission { log: true, ended_window_suppressed: 7 });
        assert_eq!(limiter.take_ended_at(start + Duration::from_secs(30)), 0, "already reported");
    }

    #[test]
    fn flush_takes_the_count_of_a_window_that_ended_without_another_warning() {
        let limiter = RateLimited::new("test", 1, Duration::from_secs(1));
        let start = Instant::now();
        for i in 0..5 {
            limiter.admit_at(start + Duration::from_millis(i));
        }
        assert_eq!(limiter.take_ended_at(start + Duration::from_secs(2)), 4);
        assert_eq!(limiter.take_ended_at(start + Duration::from_secs(3)), 0);
    }
}
