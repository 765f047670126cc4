//! Static group membership (KIP-345): the consumer's `group.instance.id`,
//! and recognising the one error it adds, FENCED_INSTANCE_ID.
//!
//! A static member that restarts within `session.timeout.ms` gets its
//! partitions back at once, without a rebalance, instead of waiting for its
//! predecessor's session to expire. The id is the instance's transactional
//! id (`<group>-<host>-<n>` from its slot, or `--transactional-id`) unless
//! `--group-instance-id` names one: a restart that inherits the slot thus
//! inherits both identities, fencing its predecessor's producer (epoch) and
//! its group membership (member id) together.
//!
//! Fencing still holds: a static rejoin keeps the generation, but the
//! coordinator gives the newcomer a new member id and answers the old one
//! with FENCED_INSTANCE_ID — on heartbeats, joins, and on the
//! TxnOffsetCommit a zombie sends inside its transaction (it carries member
//! id and instance id). That error is fatal to the consumer. It does not
//! always mean a newer instance: a lone member can be fenced by its own
//! rejoin when its group coordinator's node dies (librdkafka rejoins while
//! an earlier join is pending, and the coordinator answers the older one
//! FENCED_INSTANCE_ID). So the loop rejoins with a new consumer (same ids,
//! same producer) unless that would start a fencing duel: when the producer
//! is fenced too (a newer instance holds the transactional id), when the
//! producer is fenced within [`DUEL_WINDOW`] of a rejoin, or when the
//! consumer has rejoined [`REJOIN_BUDGET`] times within [`REJOIN_WINDOW`]
//! (another live instance holds the instance id: each rejoin fences the
//! other in turn, within a heartbeat and a join), it stops with exit code 4
//! ([`Failure::Fenced`]). A coordinator failover fences a member once or
//! twice per coordinator move (the move away from the dead node and the move
//! back when it returns), which stays within the budget.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rdkafka::error::RDKafkaErrorCode;

use super::transaction::GroupMember;
use crate::config::Config;
use crate::failure::Failure;

/// A producer fenced this soon after a rejoin belongs to one of two live
/// instances with the same ids: the other one's producer fenced it, and
/// the rejoin fenced the other one's consumer. A failover's own fencing of
/// the producer (its transaction timed out on the broker) comes later: the
/// transaction timeout is counted from the transaction's start.
pub const DUEL_WINDOW: Duration = Duration::from_secs(5);

/// At most this many rejoins within [`REJOIN_WINDOW`]: one more means
/// that another live instance holds this one's `group.instance.id`.
pub const REJOIN_BUDGET: usize = 4;

/// The window of [`REJOIN_BUDGET`]: longer than two coordinator moves
/// (a node's death and its return, each fencing a member once or twice).
pub const REJOIN_WINDOW: Duration = Duration::from_secs(60);

/// When the consumer rejoined after its membership was fenced, within the
/// last [`REJOIN_WINDOW`].
#[derive(Debug, Default)]
pub struct Rejoins {
    at: VecDeque<Instant>,
}

impl Rejoins {
    /// Whether a rejoin at `now` would exceed [`REJOIN_BUDGET`] within
    /// [`REJOIN_WINDOW`]: then stop instead.
    pub fn exhausted(&mut self, now: Instant) -> bool {
        while self.at.front().is_some_and(|at| now.duration_since(*at) >= REJOIN_WINDOW) {
            self.at.pop_front();
        }
        self.at.len() >= REJOIN_BUDGET
    }

    /// Records a rejoin at `now`.
    pub fn record(&mut self, now: Instant) {
        self.at.push_back(now);
    }

    /// Whether the last rejoin was less than `window` before `now`.
    pub fn within(&self, window: Duration, now: Instant) -> bool {
        self.at.back().is_some_and(|at| now.duration_since(*at) < window)
    }
}

/// This instance's static membership: its `group.instance.id` (none under
/// `--static-membership off`) and how to tell that it was fenced.
#[derive(Debug, Clone)]
pub struct Membership {
    group: String,
    instance_id: Option<String>,
    heartbeat_interval: Duration,
}

impl Membership {
    /// The membership of an instance whose transactional id is
    /// `transactional_id`: `--group-instance-id` if given, else that id.
    pub fn new(config: &Config, transactional_id: &str) -> Self {
        let instance_id =
            config.static_membership.then(|| config.group_instance_id.clone().unwrap_or_else(|| transactional_id.to_owned()));
        let heartbeat_ms = config.librdkafka_value("heartbeat.interval.ms").unwrap_or(3_000);
        Membership { group: config.group.clone(), instance_id, heartbeat_interval: Duration::from_millis(heartbeat_ms) }
    }

    /// The consumer's `group.instance.id`; `None`: dynamic membership.
    pub fn instance_id(&self) -> Option<&str> {
        self.instance_id.as_deref()
    }

    /// The failure to stop with, unless the loop can rejoin
    /// ([`crate::kafka::transaction::Transaction::prepare_rejoin`]), when
    /// the consumer's membership has been fenced, if it has. librdkafka
    /// records this fatal error from its own thread, so it can be checked
    /// without polling (a fenced consumer's `poll` returns `__FATAL`).
    pub fn fenced(&self, member: &impl GroupMember) -> Option<Failure> {
        match member.fatal_error() {
            Some((RDKafkaErrorCode::FencedInstanceId, reason)) => Some(self.fenced_failure(&reason)),
            _ => None,
        }
    }

    /// Waits up to one heartbeat interval (and a second for the round trip)
    /// for the consumer to learn that it was fenced.
    ///
    /// A producer fenced by a newer epoch may belong to a zombie whose
    /// replacement has the same transactional id: building a new producer
    /// would fence the replacement in turn. The zombie's consumer hears
    /// FENCED_INSTANCE_ID on its next heartbeat, so waiting that long before
    /// rebuilding tells the cases apart: `Some` means stop; `None` means the
    /// producer was fenced for another reason (its transaction timed out on
    /// the broker) and may be rebuilt. Without static membership there is
    /// nothing to wait for.
    pub fn await_fencing(&self, member: &impl GroupMember) -> Option<Failure> {
        self.instance_id.as_ref()?;
        let started = Instant::now();
        let within = self.heartbeat_interval + Duration::from_secs(1);
        loop {
            if let Some(failure) = self.fenced(member) {
                return Some(failure);
            }
            if started.elapsed() >= within {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`Failure::Fenced`] with a message that says what happened and what
    /// to do: this instance stops without committing.
    pub fn fenced_failure(&self, reason: &str) -> Failure {
        let id = self.instance_id.as_deref().unwrap_or("none");
        Failure::Fenced(anyhow::anyhow!(
            "fenced by a newer instance with the same group.instance.id \"{id}\" in group \"{}\" ({reason}): it now \
             owns this instance's partitions, and this instance stops without committing. Do not restart this one with \
             the same id while the other runs (they would fence each other in turn): give each live instance its own \
             --transactional-id or --group-instance-id",
            self.group
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        let base = ["--plugin", "p/enrich.wasm", "--input", "in", "--output", "out"];
        Config::from_args(&[&base[..], args].concat()).unwrap()
    }

    #[test]
    fn the_instance_id_is_the_transactional_id_unless_named_or_off() {
        let slot = "eoshost-enrich-box-0";
        assert_eq!(Membership::new(&config(&[]), slot).instance_id(), Some(slot));
        assert_eq!(Membership::new(&config(&["--group-instance-id", "enrich-a"]), slot).instance_id(), Some("enrich-a"));
        assert_eq!(Membership::new(&config(&["--static-membership", "off"]), slot).instance_id(), None);
    }

    #[test]
    fn the_fencing_failure_exits_4_and_says_not_to_restart_with_the_same_id() {
        let membership = Membership::new(&config(&["--group-instance-id", "enrich-a"]), "t-0");
        let failure = membership.fenced_failure("Broker: Static consumer fenced by other consumer with same group.instance.id");
        assert_eq!(failure.exit_code(), 4);
        let text = failure.to_string();
        assert!(text.contains("\"enrich-a\"") && text.contains("Do not restart"), "{text}");
    }

    #[test]
    fn rejoins_past_the_budget_within_the_window_are_refused() {
        let start = Instant::now();
        let mut rejoins = Rejoins::default();
        for n in 0..REJOIN_BUDGET {
            let at = start + Duration::from_secs(n as u64);
            assert!(!rejoins.exhausted(at), "rejoin {n} is within the budget");
            rejoins.record(at);
        }
        assert!(rejoins.exhausted(start + Duration::from_secs(10)), "one more within the window is refused");
        assert!(!rejoins.exhausted(start + REJOIN_WINDOW + Duration::from_secs(1)), "the window moves on");
    }

    #[test]
    fn two_coordinator_moves_with_two_fencings_each_stay_within_the_budget() {
        // A node dies (its coordinators move away) and returns 30 s later
        // (they move back): each move may fence the member twice.
        let start = Instant::now();
        let mut rejoins = Rejoins::default();
        for at in [10, 12, 40, 42] {
            let at = start + Duration::from_secs(at);
            assert!(!rejoins.exhausted(at), "a rejoin {:?} after the first move", at - start);
            rejoins.record(at);
        }
    }

    #[test]
    fn a_rejoin_is_recent_only_within_the_window_asked() {
        let start = Instant::now();
        let mut rejoins = Rejoins::default();
        assert!(!rejoins.within(DUEL_WINDOW, start));
        rejoins.record(start);
        assert!(rejoins.within(DUEL_WINDOW, start + Duration::from_secs(1)));
        assert!(!rejoins.within(DUEL_WINDOW, start + DUEL_WINDOW));
    }

    #[test]
    fn the_fencing_wait_follows_heartbeat_interval_ms() {
        assert_eq!(Membership::new(&config(&[]), "t-0").heartbeat_interval, Duration::from_secs(3));
        let fast = Membership::new(&config(&["-X", "heartbeat.interval.ms=1000"]), "t-0");
        assert_eq!(fast.heartbeat_interval, Duration::from_secs(1));
    }
}
