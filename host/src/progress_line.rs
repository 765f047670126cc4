//! The progress line: every `--progress-interval-s` one info line with
//! records in and out per second, lag, commits, aborts, traps and dead
//! letters over the interval. It reads the [`Metrics`] counters, so the loop
//! does nothing for it; it also reports the events whose logging was
//! rate-limited ([`crate::events`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::{Metrics, Totals};

/// Logs a progress line every `every` (started by the host scaffold);
/// `lag_known`: the consumer's statistics run, so the lag column is filled.
pub async fn report(metrics: Arc<Metrics>, every: Duration, lag_known: bool) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut before = metrics.totals();
    let mut since = Instant::now();
    loop {
        ticker.tick().await;
        let now = metrics.totals();
        let line = ProgressLine::between(&before, &now, since.elapsed(), lag_known);
        tracing::info!(
            in_per_s = line.in_per_s,
            out_per_s = line.out_per_s,
            lag = %line.lag,
            commits = line.commits,
            aborts = line.aborts,
            traps = line.traps,
            dead_letters = line.dead_letters,
            "progress: {line}"
        );
        metrics.limiters.flush();
        before = now;
        since = Instant::now();
    }
}

/// What one progress line says about an interval.
#[derive(Debug, PartialEq)]
pub struct ProgressLine {
    pub in_per_s: f64,
    pub out_per_s: f64,
    /// Records behind, summed over assigned partitions, or `n/a` where nothing is consumed (the relay).
    pub lag: String,
    pub commits: u64,
    pub aborts: u64,
    pub traps: u64,
    pub dead_letters: u64,
}

impl ProgressLine {
    pub fn between(before: &Totals, now: &Totals, elapsed: Duration, lag_known: bool) -> ProgressLine {
        let seconds = elapsed.as_secs_f64().max(0.001);
        let rate = |a: u64, b: u64| ((b.saturating_sub(a)) as f64 / seconds * 10.0).round() / 10.0;
        ProgressLine {
            in_per_s: rate(before.consumed, now.consumed),
            out_per_s: rate(before.produced, now.produced),
            lag: if lag_known { now.lag.to_string() } else { "n/a".to_owned() },
            commits: now.committed.saturating_sub(before.committed),
            aborts: now.aborted.saturating_sub(before.aborted),
            traps: now.traps.saturating_sub(before.traps),
            dead_letters: now.dead_lettered.saturating_sub(before.dead_lettered),
        }
    }
}

impl std::fmt::Display for ProgressLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} records/s in, {} records/s out, lag {}, {} commits, {} aborts, {} traps, {} dead letters",
            self.in_per_s, self.out_per_s, self.lag, self.commits, self.aborts, self.traps, self.dead_letters
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_and_counts_are_of_the_interval() {
        let before =
            Totals { consumed: 1_000, produced: 900, committed: 10, aborted: 1, traps: 2, dead_lettered: 3, ..Totals::default() };
        let now = Totals {
            consumed: 6_000,
            produced: 5_900,
            committed: 60,
            aborted: 1,
            traps: 5,
            dead_lettered: 4,
            lag: 42,
            ..Totals::default()
        };
        let line = ProgressLine::between(&before, &now, Duration::from_secs(10), true);
        assert_eq!(
            line,
            ProgressLine {
                in_per_s: 500.0,
                out_per_s: 500.0,
                lag: "42".into(),
                commits: 50,
                aborts: 0,
                traps: 3,
                dead_letters: 1
            }
        );
        assert_eq!(
            line.to_string(),
            "500 records/s in, 500 records/s out, lag 42, 50 commits, 0 aborts, 3 traps, 1 dead letters"
        );
        assert!(ProgressLine::between(&before, &now, Duration::from_secs(10), false).lag == "n/a");
    }
}
