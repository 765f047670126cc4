//! Operational events, one type each, in one place (Vector's
//! `internal_events` habit): emitting one counts it in the run's
//! [`Metrics`] and logs it. Events that can come once per record (a poison
//! stream: every record rejected, every output refused) or once per retry
//! are rate-limited: within a window the first `burst` are logged, the rest
//! counted, and the count is logged when the window is over — by the next
//! event of that kind or by [`Limiters::flush`], which the progress line
//! calls — so nothing is suppressed silently. The limiters belong to the
//! run's `Metrics`, so every mode gets the same ones.
//!
//! ```
//! use eoshost::events::{Event, RecordSkipped};
//! use eoshost::metrics::Metrics;
//! use eoshost::policy::RecordId;
//!
//! let metrics = Metrics::new();
//! let record = RecordId { topic: "orders".into(), partition: 0, offset: 7 };
//! RecordSkipped { record: &record, error: "rejected: not JSON" }.emit(&metrics);
//! ```

use std::fmt::Display;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::kafka::broker_errors::Refusal;
use crate::metrics::Metrics;
use crate::plugin::Trap;
use crate::policy::RecordId;

/// An operational event: counts itself and logs itself.
pub trait Event {
    fn emit(&self, metrics: &Metrics);
}

/// A plugin trapped on a record (it is retried on a fresh instance, or
/// `--on-error` applies).
pub struct PluginTrapped<'a> {
    pub record: &'a RecordId,
    pub trap: &'a Trap,
}

impl Event for PluginTrapped<'_> {
    fn emit(&self, metrics: &Metrics) {
        metrics.plugin_trapped(self.trap.kind);
        metrics
            .limiters
            .trapped
            .warn(format_args!("record at {}: plugin trapped ({} trap): {}", self.record, self.trap.kind, self.trap.message));
    }
}

/// A plugin's timer handler trapped.
pub struct TimerTrapped<'a> {
    /// The timer, as [`crate::processor::Firing::describe`] names it.
    pub timer: &'a str,
    pub trap: &'a Trap,
}

impl Event for TimerTrapped<'_> {
    fn emit(&self, metrics: &Metrics) {
        metrics.plugin_trapped(self.trap.kind);
        metrics
            .limiters
            .trapped
            .warn(format_args!("{}: on-timer trapped ({} trap): {}", self.timer, self.trap.kind, self.trap.message));
    }
}

/// A fresh plugin instance trapped while starting (outside any record's
/// call); the loop waits and tries again.
pub struct FreshInstanceTrapped<'a> {
    pub trap: &'a Trap,
}

impl Event for FreshInstanceTrapped<'_> {
    fn emit(&self, metrics: &Metrics) {
        metrics.plugin_trapped(self.trap.kind);
        metrics.limiters.trapped.warn(format_args!("a fresh plugin instance trapped while starting: {}; retrying", self.trap));
    }
}

/// `--on-error skip`: a record's offset is committed with nothing written.
pub struct RecordSkipped<'a> {
    pub record: &'a RecordId,
    pub error: &'a str,
}

impl Event for RecordSkipped<'_> {
    fn emit(&self, metrics: &Metrics) {
        // Counted at commit (`eoshost_records_skipped_total`), with its transaction.
        metrics.limiters.skipped.warn(format_args!("skipping the record at {} (--on-error skip): {}", self.record, self.error));
    }
}

/// `--on-error dlq`: a record's dead letter is written to `destination`.
pub struct RecordDeadLettered<'a> {
    pub record: &'a RecordId,
    /// The dead-letter topic or table, as the message names it.
    pub destination: &'a str,
    pub error: &'a str,
}

impl Event for RecordDeadLettered<'_> {
    fn emit(&self, metrics: &Metrics) {
        // Counted at commit (`eoshost_records_dead_lettered_total`).
        metrics
            .limiters
            .dead_lettered
            .warn(format_args!("dead-lettering the record at {} to {}: {}", self.record, self.destination, self.error));
    }
}

/// `--on-error skip` or `dlq` for a timer whose handler failed: the timer
/// is dropped (and, with `destination`, dead-lettered there).
pub struct TimerDropped<'a> {
    /// The timer, as [`crate::processor::Firing::describe`] names it.
    pub timer: &'a str,
    /// The dead-letter topic, as the message names it; `None`: skipped.
    pub destination: Option<&'a str>,
    pub error: &'a str,
}

impl Event for TimerDropped<'_> {
    fn emit(&self, metrics: &Metrics) {
        match self.destination {
            None => metrics.limiters.skipped.warn(format_args!("dropping the {} (--on-error skip): {}", self.timer, self.error)),
            Some(destination) => metrics
                .limiters
                .dead_lettered
                .warn(format_args!("dead-lettering the {} to {destination}: {}", self.timer, self.error)),
        }
    }
}

/// Kafka refused one of a record's outputs for good: the record follows
/// `--on-error`.
pub struct OutputRefused<'a> {
    pub record: &'a RecordId,
    pub error: &'a str,
}

impl Event for OutputRefused<'_> {
    fn emit(&self, metrics: &Metrics) {
        metrics.limiters.refused.warn(format_args!(
            "record at {}: Kafka refused an output: {}; the record will follow --on-error",
            self.record, self.error
        ));
    }
}

/// A broker refused a connection after start (TLS or authentication);
/// librdkafka keeps retrying.
pub struct ConnectionRefused<'a> {
    pub refusal: &'a Refusal,
}

impl Event for ConnectionRefused<'_> {
    fn emit(&self, metrics: &Metrics) {
        metrics.connection_refused(self.refusal.kind.as_str());
        metrics.limiters.connection_refused.error(format_args!("{}; librdkafka keeps retrying", self.refusal.message()));
    }
}

/// A database transaction open for `seconds` holds the outbox relay back.
pub struct OutboxHeldBack {
    pub seconds: f64,
}

impl Event for OutboxHeldBack {
    fn emit(&self, metrics: &Metrics) {
        metrics.limiters.held_back.warn(format_args!(
            "a transaction has been open for {:.0} s; rows committed after it started are held back until it ends (see \
             pg_stat_activity)",
            self.seconds
        ));
    }
}

/// The rate limiters of one run's events.
pub struct Limiters {
    trapped: RateLimited,
    skipped: RateLimited,
    dead_lettered: RateLimited,
    refused: RateLimited,
    connection_refused: RateLimited,
    held_back: RateLimited,
    /// Records wait for the Schema Registry.
    pub registry_unavailable: RateLimited,
}

/// Per-record events logged per window.
const BURST: u32 = 10;
const WINDOW: Duration = Duration::from_secs(10);

impl Default for Limiters {
    fn default() -> Self {
        Limiters {
            trapped: RateLimited::new("plugin trapped", BURST, WINDOW),
            skipped: RateLimited::new("record skipped", BURST, WINDOW),
            dead_lettered: RateLimited::new("record dead-lettered", BURST, WINDOW),
            refused: RateLimited::new("output refused by Kafka", BURST, WINDOW),
            // librdkafka retries a refused connection every second or so:
            // one line per 30 s says it is still refused.
            connection_refused: RateLimited::new("connection refused", 1, Duration::from_secs(30)),
            held_back: RateLimited::new("outbox held back", 1, Duration::from_secs(10)),
            registry_unavailable: RateLimited::new("schema registry unavailable", 1, Duration::from_secs(10)),
        }
    }
}

impl Limiters {
    /// Logs the suppressed counts of every window that is over.
    pub fn flush(&self) {
        let now = Instant::now();
        for limiter in [
            &self.trapped,
            &self.skipped,
            &self.dead_lettered,
            &self.refused,
            &self.connection_refused,
            &self.held_back,
            &self.registry_unavailable,
        ] {
            limiter.summarise(limiter.take_ended_at(now));
        }
    }
}

/// One kind of event and its window.
pub struct RateLimited {
    kind: &'static str,
    burst: u32,
    window: Duration,
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
        RateLimited { kind, burst, window, state: Mutex::new(Window { started: None, logged: 0, suppressed: 0 }) }
    }

    /// Logs `message` at warn level unless `burst` events of this kind
    /// were already logged in the current window.
    pub fn warn(&self, message: impl Display) {
        if self.admit() {
            tracing::warn!("{message}");
        }
    }

    /// As [`Self::warn`], at error level.
    pub fn error(&self, message: impl Display) {
        if self.admit() {
            tracing::error!("{message}");
        }
    }

    /// Whether to log the event arriving now; summarises the window that
    /// just ended first.
    fn admit(&self) -> bool {
        let admission = self.admit_at(Instant::now());
        self.summarise(admission.ended_window_suppressed);
        admission.log
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_is_counted_every_time_and_logged_once_per_window() {
        use crate::kafka::broker_errors::RefusalKind;
        let metrics = Metrics::new();
        let refusal = Refusal {
            kind: RefusalKind::Authentication,
            broker: "sasl_ssl://b:9094/1".into(),
            cause: "Authentication failed".into(),
        };
        for _ in 0..3 {
            ConnectionRefused { refusal: &refusal }.emit(&metrics);
        }
        assert!(metrics.encode().contains("eoshost_connection_errors_total{kind=\"authentication\"} 3"), "{}", metrics.encode());
        let after_window = Instant::now() + Duration::from_secs(31);
        assert_eq!(metrics.limiters.connection_refused.take_ended_at(after_window), 2, "one logged, two counted as suppressed");
    }

    #[test]
    fn per_record_events_of_each_kind_have_their_own_window() {
        let metrics = Metrics::new();
        let record = RecordId { topic: "orders".into(), partition: 0, offset: 1 };
        for _ in 0..BURST + 5 {
            RecordSkipped { record: &record, error: "rejected: bad" }.emit(&metrics);
        }
        OutputRefused { record: &record, error: "too large" }.emit(&metrics);
        let after_window = Instant::now() + WINDOW;
        assert_eq!(metrics.limiters.skipped.take_ended_at(after_window), 5);
        assert_eq!(metrics.limiters.refused.take_ended_at(after_window), 0);
    }

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
