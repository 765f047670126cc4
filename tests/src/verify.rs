//! The verifier, as Kafka's `transactions_test.py` has it: read every
//! partition of an output topic from the beginning with a `read_committed`
//! (or `read_uncommitted`) consumer until the expected records are in and a
//! quiet period passes at the end of every partition, then count them
//! against the inputs: outputs, duplicates, lost, per-key order violations.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::broker::Broker;
use crate::records::{Seeded, record_number};

/// Which records a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Only records of committed transactions (and non-transactional ones).
    Committed,
    /// Everything on the log, aborted transactions included.
    Uncommitted,
}

impl Isolation {
    fn level(self) -> &'static str {
        match self {
            Isolation::Committed => "read_committed",
            Isolation::Uncommitted => "read_uncommitted",
        }
    }
}

/// One record read back from an output (or dead-letter) topic.
#[derive(Debug, Clone)]
pub struct OutputRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The record's timestamp in ms since the epoch, when it has one.
    pub timestamp: Option<i64>,
}

impl OutputRecord {
    /// The input number this record stems from (`order_id` `o-{n}`).
    pub fn number(&self) -> Option<u64> {
        record_number(self.value.as_deref()?)
    }

    /// The last header named `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_deref().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default())
    }

    /// A record of the no-hanging-transaction check (`marker.rs`), which
    /// counts neither as an output nor as unexpected.
    pub fn is_marker(&self) -> bool {
        self.value.as_deref().is_some_and(|v| v.starts_with(br#"{"marker":"marker-"#))
    }

    pub fn key_text(&self) -> Option<String> {
        self.key.as_deref().map(|k| String::from_utf8_lossy(k).into_owned())
    }

    pub fn value_text(&self) -> Option<String> {
        self.value.as_deref().map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// How long a read may take in all: enough for a crashed instance's open
/// transaction to time out (10 s) and for the broker's abort sweep (every
/// 10 s) to write its abort markers.
const READ_DEADLINE: Duration = Duration::from_secs(45);
/// Silence at the end of every partition that ends a read.
const QUIET: Duration = Duration::from_millis(1500);

impl Broker {
    /// Reads every partition of `topic` from the beginning until at least
    /// `expect_at_least` records are in, every partition has reported its
    /// end, and nothing more arrived for a quiet period — or the deadline
    /// passes (then the caller counts what is missing).
    pub fn read_topic(&self, topic: &str, isolation: Isolation, expect_at_least: usize) -> anyhow::Result<Vec<OutputRecord>> {
        let consumer: BaseConsumer = self
            .config()
            .set("group.id", format!("eoshost-test-reader-{}", std::process::id()))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", isolation.level())
            .set("fetch.wait.max.ms", "100")
            .create()
            .context("creating the verifying consumer")?;
        let partitions = self.partition_count(topic)?;
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions {
            assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
        consumer.assign(&assignment)?;

        let mut records = Vec::new();
        let mut at_end = vec![false; partitions as usize];
        let started = Instant::now();
        let mut last_news = Instant::now();
        loop {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    at_end[message.partition() as usize] = false;
                    last_news = Instant::now();
                    records.push(OutputRecord {
                        topic: message.topic().to_owned(),
                        partition: message.partition(),
                        offset: message.offset(),
                        key: message.key().map(<[u8]>::to_vec),
                        value: message.payload().map(<[u8]>::to_vec),
                        headers: message
                            .headers()
                            .map(|headers| headers.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect())
                            .unwrap_or_default(),
                        timestamp: message.timestamp().to_millis(),
                    });
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    if let Some(flag) = at_end.get_mut(partition as usize) {
                        *flag = true;
                    }
                }
                Some(Err(error)) => anyhow::bail!("reading {topic} ({}): {error}", isolation.level()),
                None => {}
            }
            let complete = records.len() >= expect_at_least && at_end.iter().all(|&end| end);
            if complete && last_news.elapsed() >= QUIET {
                return Ok(records);
            }
            if started.elapsed() > READ_DEADLINE {
                return Ok(records);
            }
        }
    }
}

/// The counts of one verification; `Display` is the one-line summary.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Inputs whose outputs are expected (exactly once each).
    pub records: usize,
    /// Output records read.
    pub outputs: usize,
    /// Outputs beyond the first of the same input.
    pub duplicates: usize,
    /// Expected inputs with no output.
    pub lost: usize,
    /// Outputs whose number is below an earlier one of the same key on the
    /// same partition (duplicates aside).
    pub order_violations: usize,
    /// Outputs of no expected input (a poison record, an unreadable value).
    pub unexpected: usize,
    pub kills: usize,
    lost_sample: Vec<u64>,
    duplicate_sample: Vec<u64>,
    order_sample: Vec<String>,
    unexpected_sample: Vec<String>,
}

const SAMPLE: usize = 10;

impl Tally {
    /// Counts `outputs` (in the order read, i.e. offset order per partition)
    /// against the input numbers in `expected`.
    pub fn count(expected: &BTreeSet<u64>, outputs: &[OutputRecord]) -> Tally {
        let outputs: Vec<&OutputRecord> = outputs.iter().filter(|o| !o.is_marker()).collect();
        let mut tally = Tally { records: expected.len(), outputs: outputs.len(), ..Tally::default() };
        let mut seen: HashMap<u64, usize> = HashMap::new();
        let mut latest: HashMap<(String, i32, Option<Vec<u8>>), u64> = HashMap::new();
        for output in outputs {
            let Some(n) = output.number().filter(|n| expected.contains(n)) else {
                tally.unexpected += 1;
                if tally.unexpected_sample.len() < SAMPLE {
                    tally.unexpected_sample.push(format!(
                        "{}/{}@{}: {}",
                        output.topic,
                        output.partition,
                        output.offset,
                        output.value_text().unwrap_or_default().chars().take(120).collect::<String>()
                    ));
                }
                continue;
            };
            let times = seen.entry(n).or_default();
            *times += 1;
            if *times > 1 {
                tally.duplicates += 1;
                if tally.duplicate_sample.len() < SAMPLE {
                    tally.duplicate_sample.push(n);
                }
                continue;
            }
            let stream = (output.topic.clone(), output.partition, output.key.clone());
            match latest.get(&stream) {
                Some(&before) if before > n => {
                    tally.order_violations += 1;
                    if tally.order_sample.len() < SAMPLE {
                        tally.order_sample.push(format!(
                            "{}/{}@{} key {:?}: {n} after {before}",
                            output.topic,
                            output.partition,
                            output.offset,
                            output.key_text()
                        ));
                    }
                }
                _ => {
                    latest.insert(stream, n);
                }
            }
        }
        for n in expected {
            if !seen.contains_key(n) {
                tally.lost += 1;
                if tally.lost_sample.len() < SAMPLE {
                    tally.lost_sample.push(*n);
                }
            }
        }
        tally
    }

    pub fn with_kills(mut self, kills: usize) -> Tally {
        self.kills = kills;
        self
    }

    pub fn is_exactly_once(&self) -> bool {
        self.duplicates == 0 && self.lost == 0 && self.order_violations == 0 && self.unexpected == 0
    }

    /// Panics with the summary and samples unless every expected input
    /// appears exactly once, in per-key order, and nothing else appears.
    pub fn assert_exactly_once(&self, what: &str) {
        assert!(self.is_exactly_once(), "{what}: not exactly once\n{self}\n{}", self.samples());
    }

    /// Examples of each kind of mismatch, for failure messages.
    pub fn samples(&self) -> String {
        let mut lines = Vec::new();
        if !self.lost_sample.is_empty() {
            lines.push(format!("  lost, first: {:?}", self.lost_sample));
        }
        if !self.duplicate_sample.is_empty() {
            lines.push(format!("  duplicated, first: {:?}", self.duplicate_sample));
        }
        for sample in &self.order_sample {
            lines.push(format!("  out of order: {sample}"));
        }
        for sample in &self.unexpected_sample {
            lines.push(format!("  unexpected: {sample}"));
        }
        lines.join("\n")
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "records={} outputs={} duplicates={} lost={} order_violations={} kills={} unexpected={}",
            self.records, self.outputs, self.duplicates, self.lost, self.order_violations, self.kills, self.unexpected
        )
    }
}

/// What is wrong with each dead letter of `letters` (DESIGN §2: the
/// original record, with headers naming the source topic/partition/offset,
/// the plugin and the error); `error_contains` must appear, case-insensitive,
/// in `eoshost.error`. Empty when every letter is right.
pub fn dead_letter_problems(letters: &[OutputRecord], seeded: &Seeded, error_contains: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for letter in letters.iter().filter(|l| !l.is_marker()) {
        let at = format!("dead letter {}/{}@{}", letter.topic, letter.partition, letter.offset);
        let Some(source) = letter.number().and_then(|n| seeded.records.get(n as usize)) else {
            problems.push(format!("{at}: value is no input record: {:?}", letter.value_text()));
            continue;
        };
        let mut wrong = |what: String| problems.push(format!("{at} (input {}): {what}", source.n));
        if letter.value_text().as_deref() != Some(source.value.as_str()) {
            wrong(format!("value {:?} is not the original {:?}", letter.value_text(), source.value));
        }
        if letter.key_text().as_deref() != Some(source.key.as_str()) {
            wrong(format!("key {:?} is not the original {:?}", letter.key_text(), source.key));
        }
        match letter.header("eoshost.error") {
            Some(error) if error.to_lowercase().contains(&error_contains.to_lowercase()) => {}
            other => wrong(format!("eoshost.error {other:?} does not mention {error_contains:?}")),
        }
        match letter.header("eoshost.source.topic") {
            Some(topic) if topic == seeded.topic => {}
            other => wrong(format!("eoshost.source.topic {other:?}, expected {:?}", seeded.topic)),
        }
        match header_number(letter, "eoshost.source.partition") {
            Some(partition) if partition == i64::from(source.partition) => {}
            other => wrong(format!("eoshost.source.partition {other:?}, expected {}", source.partition)),
        }
        match header_number(letter, "eoshost.source.offset") {
            Some(offset) if offset == source.offset => {}
            other => wrong(format!("eoshost.source.offset {other:?}, expected {}", source.offset)),
        }
        if letter.header("eoshost.plugin").is_none_or(|p| p.trim().is_empty()) {
            wrong("eoshost.plugin is missing or empty".to_owned());
        }
    }
    problems
}

/// A numeric header: decimal text (what "naming" suggests), or a 4- or
/// 8-byte big-endian integer, which the design leaves open.
fn header_number(record: &OutputRecord, name: &str) -> Option<i64> {
    let (_, value) = record.headers.iter().rev().find(|(key, _)| key == name)?;
    let bytes = value.as_deref()?;
    if let Some(number) = std::str::from_utf8(bytes).ok().and_then(|t| t.trim().parse().ok()) {
        return Some(number);
    }
    match bytes.len() {
        4 => Some(i64::from(i32::from_be_bytes(bytes.try_into().ok()?))),
        8 => Some(i64::from_be_bytes(bytes.try_into().ok()?)),
        _ => None,
    }
}

/// Whether `text` contains `number` as a whole number (not as part of a
/// longer run of digits), e.g. in an error message.
pub fn mentions_number(text: &str, number: i64) -> bool {
    let needle = number.to_string();
    text.match_indices(&needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// An output record carrying input record number `n`, for unit tests of the
/// counting here and in `faults`.
#[cfg(test)]
pub(crate) fn numbered_record(topic: &str, partition: i32, offset: i64, key: &str, n: u64) -> OutputRecord {
    OutputRecord {
        topic: topic.into(),
        partition,
        offset,
        key: Some(key.as_bytes().to_vec()),
        value: Some(format!(r#"{{"order_id":"o-{n}"}}"#).into_bytes()),
        headers: vec![],
        timestamp: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(partition: i32, offset: i64, key: &str, n: u64) -> OutputRecord {
        numbered_record("out", partition, offset, key, n)
    }

    #[test]
    fn counts_duplicates_losses_and_order_apart() {
        let expected: BTreeSet<u64> = (0..6).collect();
        let outputs = [
            output(0, 0, "a", 0),
            output(0, 1, "a", 2),
            output(0, 2, "a", 0), // replay: a duplicate, not an order violation
            output(1, 0, "b", 3),
            output(1, 1, "b", 1), // new, but below 3 on the same key
            output(1, 2, "b", 9), // not an input
        ];
        let tally = Tally::count(&expected, &outputs).with_kills(2);
        assert_eq!(tally.to_string(), "records=6 outputs=6 duplicates=1 lost=2 order_violations=1 kills=2 unexpected=1");
        assert!(!tally.is_exactly_once());
    }

    #[test]
    fn numbers_are_found_only_whole() {
        assert!(mentions_number("in/2@1500: bad", 1500));
        assert!(mentions_number("partition 2, offset 15", 2));
        assert!(!mentions_number("offset 15001", 1500));
        assert!(!mentions_number("offset 21500", 1500));
    }
}
