//! What happens to a record that fails: a trap is retried on a fresh
//! instance until `--max-retries` traps on the same record; a rejection (or
//! an output that cannot be written) is final at once; then `--on-error`
//! decides — fail the run, skip the record, or dead-letter it inside the same
//! transaction with headers naming the source and the error.
//!
//! A decision reached by trapping (or by Kafka refusing an output) is kept
//! until the record's offset is committed: if the transaction that carried
//! it is aborted for another record's sake, the record is not sent through
//! the plugin again when it comes back, so its retries are not spent twice
//! and traps on several partitions cannot keep undoing each other's work.

use std::collections::{HashMap, HashSet};

use clap::ValueEnum;

use crate::kafka::TopicPartition;
use crate::plugin::{Header, InputRecord, OutputRecord, Trap};
use crate::state::Timer;

/// What a record that the plugin rejects, or that keeps trapping, becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop with exit code 3; the record's offset is not committed.
    Fail,
    /// Count and log the record, commit its offset, write nothing.
    Skip,
    /// Write the original record to the dead-letter topic in the same
    /// transaction, with headers naming the source and the error.
    Dlq,
}

/// Where a record came from: the key of every per-record decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl RecordId {
    pub fn of(record: &InputRecord) -> Self {
        RecordId { topic: record.topic.clone(), partition: record.partition, offset: record.offset }
    }
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "topic {} partition {} offset {}", self.topic, self.partition, self.offset)
    }
}

/// The decision for one failed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A trap below `--max-retries`: abort, rewind, retry on a fresh instance.
    Retry,
    /// `--on-error fail`: abort and stop with exit code 3.
    Fail(String),
    /// `--on-error skip`: commit the offset, write nothing.
    Skip(String),
    /// `--on-error dlq`: write the original record to the dead-letter topic.
    DeadLetter(String),
}

/// The retry counts, the records to retry alone and the final decisions,
/// for the life of the process. Owned by the open transaction's owner
/// (`kafka::transaction::Transaction`), which asks it about every record;
/// the maps are empty unless something failed, and each question is then
/// answered without building a [`RecordId`].
pub struct PoisonPolicy {
    on_error: OnError,
    max_retries: u32,
    traps: HashMap<RecordId, u32>,
    /// Records that trapped and will be retried: the transaction is
    /// committed just before each, so it is retried alone and a flaky
    /// plugin cannot keep a whole batch from committing.
    retry_alone: HashSet<RecordId>,
    /// Final errors of records that must not reach the plugin again, until
    /// their offsets are committed.
    decided: HashMap<RecordId, String>,
    /// Traps per timer (named as [`crate::processor`] names them).
    timer_traps: HashMap<String, u32>,
    /// Final errors of timers that must not fire again (a timer's firing
    /// can be aborted with its transaction and come back).
    timers_decided: HashMap<String, String>,
}

impl PoisonPolicy {
    pub fn new(on_error: OnError, max_retries: u32) -> Self {
        PoisonPolicy {
            on_error,
            max_retries,
            traps: HashMap::new(),
            retry_alone: HashSet::new(),
            decided: HashMap::new(),
            timer_traps: HashMap::new(),
            timers_decided: HashMap::new(),
        }
    }

    fn final_verdict(&self, error: String) -> Verdict {
        match self.on_error {
            OnError::Fail => Verdict::Fail(error),
            OnError::Skip => Verdict::Skip(error),
            OnError::Dlq => Verdict::DeadLetter(error),
        }
    }

    /// The plugin rejected the record: final at once.
    pub fn rejected(&mut self, id: &RecordId, reason: String) -> Verdict {
        self.traps.remove(id);
        self.final_verdict(format!("rejected: {reason}"))
    }

    /// The plugin trapped on the record: retry (alone, after a commit of
    /// what came before it) until it has trapped `max_retries` times, then
    /// apply `--on-error`.
    pub fn trapped(&mut self, id: &RecordId, trap: &Trap) -> Verdict {
        let count = self.traps.entry(id.clone()).or_insert(0);
        *count += 1;
        if *count <= self.max_retries {
            self.retry_alone.insert(id.clone());
            return Verdict::Retry;
        }
        let error = format!("{trap} (trapped {count} times)");
        self.traps.remove(id);
        self.decided.insert(id.clone(), error.clone());
        self.final_verdict(error)
    }

    /// The record must not reach the plugin again: Kafka refused one of its
    /// outputs. Its verdict comes from [`PoisonPolicy::decided`] when it
    /// returns after the rewind.
    pub fn condemn(&mut self, id: RecordId, error: String) {
        self.decided.insert(id, error);
    }

    /// Whether the transaction must be committed before `record` (it trapped
    /// before and is retried alone). Asked once each time it comes back.
    pub fn take_retry_alone(&mut self, record: &InputRecord) -> bool {
        !self.retry_alone.is_empty() && self.retry_alone.remove(&RecordId::of(record))
    }

    /// Whether the record trapped before or has a verdict: it then goes to
    /// the plugin (if at all) on its own, never in a batch.
    pub fn knows(&self, record: &InputRecord) -> bool {
        if self.traps.is_empty() && self.decided.is_empty() && self.retry_alone.is_empty() {
            return false;
        }
        let id = RecordId::of(record);
        self.traps.contains_key(&id) || self.decided.contains_key(&id) || self.retry_alone.contains(&id)
    }

    /// The verdict reached earlier for this record, if any.
    pub fn decided(&self, record: &InputRecord) -> Option<Verdict> {
        if self.decided.is_empty() {
            return None;
        }
        self.decided.get(&RecordId::of(record)).map(|error| self.final_verdict(error.clone()))
    }

    /// Offsets up to these (next offset per partition) are committed: their
    /// decisions are no longer needed.
    pub fn committed(&mut self, next_offsets: &[(TopicPartition, i64)]) {
        if !self.decided.is_empty() {
            self.decided.retain(|id, _| {
                next_offsets
                    .iter()
                    .find(|(tp, _)| tp.topic == id.topic && tp.partition == id.partition)
                    .is_none_or(|(_, next)| id.offset >= *next)
            });
        }
    }

    /// A timer's handler rejected it: final at once.
    pub fn timer_rejected(&mut self, timer: &str, reason: String) -> Verdict {
        self.timer_traps.remove(timer);
        let error = format!("rejected: {reason}");
        self.timers_decided.insert(timer.to_owned(), error.clone());
        self.final_verdict(error)
    }

    /// A timer's handler trapped: it fires again on a fresh instance (after
    /// the abort) until it has trapped `max_retries` times, then
    /// `--on-error` applies.
    pub fn timer_trapped(&mut self, timer: &str, trap: &Trap) -> Verdict {
        let count = self.timer_traps.entry(timer.to_owned()).or_insert(0);
        *count += 1;
        if *count <= self.max_retries {
            return Verdict::Retry;
        }
        let error = format!("{trap} (trapped {count} times)");
        self.timer_traps.remove(timer);
        self.timers_decided.insert(timer.to_owned(), error.clone());
        self.final_verdict(error)
    }

    /// Whether any timer trapped or has a verdict (else no timer need be
    /// named to ask).
    pub fn knows_timers(&self) -> bool {
        !self.timer_traps.is_empty() || !self.timers_decided.is_empty()
    }

    /// The verdict reached earlier for this timer, if any.
    pub fn timer_decided(&self, timer: &str) -> Option<Verdict> {
        self.timers_decided.get(timer).map(|error| self.final_verdict(error.clone()))
    }

    /// The timer's firing succeeded: forget its traps.
    pub fn timer_succeeded(&mut self, timer: &str) {
        self.timer_traps.remove(timer);
    }

    /// The record succeeded: forget its traps.
    pub fn succeeded(&mut self, record: &InputRecord) {
        if !self.traps.is_empty() {
            self.traps.remove(&RecordId::of(record));
        }
    }
}

/// The dead letter for `record`: the original key, value and headers, plus
/// `eoshost.error`, `eoshost.source.topic`, `eoshost.source.partition`,
/// `eoshost.source.offset` and `eoshost.plugin`.
pub fn dead_letter(record: &InputRecord, dlq_topic: &str, error: &str, plugin: &str) -> OutputRecord {
    let mut headers = record.headers.clone();
    for (key, value) in [
        ("eoshost.error", error.to_owned()),
        ("eoshost.source.topic", record.topic.clone()),
        ("eoshost.source.partition", record.partition.to_string()),
        ("eoshost.source.offset", record.offset.to_string()),
        ("eoshost.plugin", plugin.to_owned()),
    ] {
        headers.push(Header { key: key.to_owned(), value: value.into_bytes() });
    }
    OutputRecord { topic: Some(dlq_topic.to_owned()), key: record.key.clone(), value: record.value.clone(), headers }
}

/// The dead letter of a timer whose handler failed: the timer's key, no
/// value, and headers naming the error, the timer (`eoshost.timer.clock`,
/// `eoshost.timer.time`), its input partition and the plugin.
pub fn timer_dead_letter(topic: &str, partition: i32, timer: &Timer, dlq_topic: &str, error: &str, plugin: &str) -> OutputRecord {
    let headers = [
        ("eoshost.error", error.to_owned()),
        ("eoshost.source.topic", topic.to_owned()),
        ("eoshost.source.partition", partition.to_string()),
        ("eoshost.timer.clock", timer.clock.as_str().to_owned()),
        ("eoshost.timer.time", timer.time.to_string()),
        ("eoshost.plugin", plugin.to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| Header { key: key.to_owned(), value: value.into_bytes() })
    .collect();
    OutputRecord { topic: Some(dlq_topic.to_owned()), key: Some(timer.key.clone()), value: None, headers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::TrapKind;

    fn id(offset: i64) -> RecordId {
        RecordId { topic: "orders".into(), partition: 2, offset }
    }

    fn record(offset: i64) -> InputRecord {
        InputRecord {
            topic: "orders".into(),
            partition: 2,
            offset,
            timestamp: None,
            key: None,
            value: Some(b"v".to_vec()),
            headers: Vec::new(),
        }
    }

    fn trap() -> Trap {
        Trap { kind: TrapKind::Timeout, message: "interrupted".into() }
    }

    #[test]
    fn a_trapping_record_is_retried_max_retries_times_then_dead_lettered() {
        let mut policy = PoisonPolicy::new(OnError::Dlq, 2);
        assert_eq!(policy.trapped(&id(7), &trap()), Verdict::Retry);
        assert_eq!(policy.trapped(&id(7), &trap()), Verdict::Retry);
        match policy.trapped(&id(7), &trap()) {
            Verdict::DeadLetter(error) => assert!(error.contains("timeout trap") && error.contains("3 times"), "{error}"),
            other => panic!("expected a dead letter, got {other:?}"),
        }
        // Decided: it does not go back to the plugin while uncommitted.
        assert!(matches!(policy.decided(&record(7)), Some(Verdict::DeadLetter(_))));
    }

    #[test]
    fn a_record_to_retry_is_retried_alone_once_per_trap() {
        let mut policy = PoisonPolicy::new(OnError::Dlq, 2);
        assert!(!policy.take_retry_alone(&record(5)));
        assert_eq!(policy.trapped(&id(5), &trap()), Verdict::Retry);
        assert!(policy.take_retry_alone(&record(5)));
        // Asked again (it was committed before or re-read): no second commit.
        assert!(!policy.take_retry_alone(&record(5)));
        assert!(!policy.take_retry_alone(&record(6)));
    }

    #[test]
    fn zero_retries_applies_the_policy_on_the_first_trap() {
        let mut policy = PoisonPolicy::new(OnError::Skip, 0);
        assert!(matches!(policy.trapped(&id(1), &trap()), Verdict::Skip(_)));
    }

    #[test]
    fn a_rejection_is_final_at_once() {
        let mut policy = PoisonPolicy::new(OnError::Fail, 3);
        assert_eq!(policy.rejected(&id(3), "bad".into()), Verdict::Fail("rejected: bad".into()));
    }

    #[test]
    fn a_condemned_record_is_decided_until_its_offset_is_committed() {
        let mut policy = PoisonPolicy::new(OnError::Skip, 3);
        policy.condemn(id(9), "output too large".into());
        assert_eq!(policy.decided(&record(8)), None);
        assert_eq!(policy.decided(&record(9)), Some(Verdict::Skip("output too large".into())));
        // Still decided after an abort brings it back...
        assert_eq!(policy.decided(&record(9)), Some(Verdict::Skip("output too large".into())));
        // ...and forgotten once committed past it.
        policy.committed(&[(TopicPartition::new("orders", 2), 9)]);
        assert!(policy.decided(&record(9)).is_some());
        policy.committed(&[(TopicPartition::new("orders", 2), 10)]);
        assert_eq!(policy.decided(&record(9)), None);
    }

    #[test]
    fn a_dead_lettered_trapping_record_keeps_its_verdict_after_an_abort() {
        let mut policy = PoisonPolicy::new(OnError::Dlq, 1);
        assert_eq!(policy.trapped(&id(4), &trap()), Verdict::Retry);
        assert!(matches!(policy.trapped(&id(4), &trap()), Verdict::DeadLetter(_)));
        // Another record's trap aborts the transaction; this one comes back.
        match policy.decided(&record(4)) {
            Some(Verdict::DeadLetter(error)) => assert!(error.contains("trapped 2 times"), "{error}"),
            other => panic!("expected the kept dead-letter verdict, got {other:?}"),
        }
    }

    #[test]
    fn dead_letter_keeps_the_original_and_names_its_source() {
        let record = InputRecord {
            topic: "orders".into(),
            partition: 2,
            offset: 41,
            timestamp: Some(5),
            key: Some(b"k".to_vec()),
            value: Some(b"v".to_vec()),
            headers: vec![Header { key: "h".into(), value: b"1".to_vec() }],
        };
        let letter = dead_letter(&record, "orders.dlq", "rejected: bad", "enrich");
        assert_eq!(letter.topic.as_deref(), Some("orders.dlq"));
        assert_eq!(letter.key, record.key);
        assert_eq!(letter.value, record.value);
        let headers: Vec<(&str, &[u8])> = letter.headers.iter().map(|h| (h.key.as_str(), h.value.as_slice())).collect();
        assert_eq!(
            headers,
            [
                ("h", &b"1"[..]),
                ("eoshost.error", b"rejected: bad"),
                ("eoshost.source.topic", b"orders"),
                ("eoshost.source.partition", b"2"),
                ("eoshost.source.offset", b"41"),
                ("eoshost.plugin", b"enrich"),
            ]
        );
    }
}
