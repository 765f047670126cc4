//! Waiting before trying again: exponential backoff whose sleeps end early
//! when a stop is asked for, the one way eoshost's loops wait for Kafka,
//! PostgreSQL or a partition to come back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The slice a backoff sleeps in between looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// Delays from `initial`, doubling up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max, next: initial }
    }

    /// The delay to wait now; the one after it is twice as long (at most
    /// `max`).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// What worked: the next wait is the shortest again.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }

    /// Sleeps the next delay. `false`: a stop came first (the sleep ended
    /// early).
    pub fn wait(&mut self, stop: &AtomicBool) -> bool {
        sleep_unless_stopped(self.next_delay(), stop)
    }
}

/// Sleeps `duration` in short slices. `false`: a stop came first.
pub fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + duration;
    loop {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(STOP_CHECK));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset_to_the_first() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let delays: Vec<u64> = (0..5).map(|_| backoff.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn a_stop_ends_the_wait_early() {
        let stop = AtomicBool::new(true);
        let started = Instant::now();
        assert!(!Backoff::new(Duration::from_secs(30), Duration::from_secs(30)).wait(&stop));
        assert!(started.elapsed() < Duration::from_secs(1));
        let go_on = AtomicBool::new(false);
        assert!(sleep_unless_stopped(Duration::from_millis(10), &go_on));
    }
}
