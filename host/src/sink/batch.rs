//! One database transaction's worth of work, held in memory until it
//! commits: the rows of the plugin's outputs (landing rows, or the changes
//! to the user's table under `--columns auto`), the dead letters, and per
//! partition the offset the batch starts from (what this instance believes
//! `eoshost_offsets` holds) and the next offset it moves it to. A batch is
//! never partly committed and never dropped while its partitions are still
//! owned, so a database that goes away loses nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::columns::RowChange;
use crate::plugin::{Header, InputRecord, OutputRecord};
use crate::policy::RecordId;

/// A topic-partition, as the offsets table keys it.
pub type Partition = crate::kafka::TopicPartition;

/// One plugin output, as a row of the sink table.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRow {
    pub source: RecordId,
    pub output_index: i32,
    /// The topic the output named; `None` for the default output.
    pub topic: Option<String>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: serde_json::Value,
}

/// A record that went to `--on-error dlq`, as a row of `NAME_dead_letters`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterRow {
    pub source: RecordId,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: serde_json::Value,
    pub error: String,
    pub plugin: String,
}

/// One record's changes to the user's table (`--columns auto`), with what
/// its dead letter would hold should PostgreSQL refuse one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordChanges {
    pub source: RecordId,
    pub changes: Vec<RowChange>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: serde_json::Value,
}

/// Where a batch moves one partition's offset row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The row's `next_offset` the batch was built on; `None`: no row yet.
    pub base: Option<i64>,
    /// The `next_offset` the batch writes.
    pub next: i64,
}

/// The open batch.
#[derive(Debug, Default)]
pub struct Batch {
    pub rows: Vec<SinkRow>,
    /// Under `--columns auto`, instead of `rows`.
    pub changes: Vec<RecordChanges>,
    pub dead_letters: Vec<DeadLetterRow>,
    pub spans: BTreeMap<Partition, Span>,
    pub records: usize,
    pub skipped: usize,
    opened: Option<Instant>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// How long the batch has been open.
    pub fn age(&self) -> Duration {
        self.opened.map_or(Duration::ZERO, |opened| opened.elapsed())
    }

    /// Accounts for `id` (its rows already added): the partition's offset
    /// row moves past it. `base` is the partition's committed next offset.
    fn advance(&mut self, id: &RecordId, base: Option<i64>) {
        self.opened.get_or_insert_with(Instant::now);
        self.records += 1;
        let span = self.spans.entry(Partition::new(id.topic.clone(), id.partition)).or_insert(Span { base, next: id.offset + 1 });
        span.next = id.offset + 1;
    }

    /// The record's outputs become rows.
    pub fn add_outputs(&mut self, record: &InputRecord, outputs: Vec<OutputRecord>, base: Option<i64>) {
        let id = RecordId::of(record);
        for (index, output) in outputs.into_iter().enumerate() {
            self.rows.push(SinkRow {
                source: id.clone(),
                output_index: i32::try_from(index).unwrap_or(i32::MAX),
                topic: output.topic,
                key: output.key,
                value: output.value,
                headers: headers_json(&output.headers),
            });
        }
        self.advance(&id, base);
    }

    /// The record's outputs become changes to the user's table.
    pub fn add_changes(&mut self, record: &InputRecord, changes: Vec<RowChange>, base: Option<i64>) {
        let id = RecordId::of(record);
        self.changes.push(RecordChanges {
            source: id.clone(),
            changes,
            key: record.key.clone(),
            value: record.value.clone(),
            headers: headers_json(&record.headers),
        });
        self.advance(&id, base);
    }

    /// The record becomes a dead letter.
    pub fn add_dead_letter(&mut self, record: &InputRecord, error: String, plugin: &str, base: Option<i64>) {
        let id = RecordId::of(record);
        self.dead_letters.push(DeadLetterRow {
            source: id.clone(),
            key: record.key.clone(),
            value: record.value.clone(),
            headers: headers_json(&record.headers),
            error,
            plugin: plugin.to_owned(),
        });
        self.advance(&id, base);
    }

    /// The record is skipped (`--on-error skip`): only its offset moves.
    pub fn add_skipped(&mut self, record: &InputRecord, base: Option<i64>) {
        self.skipped += 1;
        self.advance(&RecordId::of(record), base);
    }

    /// Appends `later`, a batch built on this one (its spans starting where
    /// this one's end): one batch, as if it had been filled at once.
    pub fn append(&mut self, later: Batch) {
        self.rows.extend(later.rows);
        self.changes.extend(later.changes);
        self.dead_letters.extend(later.dead_letters);
        for (partition, span) in later.spans {
            self.spans.entry(partition).and_modify(|earlier| earlier.next = span.next).or_insert(span);
        }
        self.records += later.records;
        self.skipped += later.skipped;
        self.opened = self.opened.or(later.opened);
    }

    /// Empties the batch (after its commit, or when it must be redone).
    pub fn clear(&mut self) {
        *self = Batch::default();
    }
}

/// Headers as the table stores them: a JSON array of
/// `{"key": text, "value_b64": text}`, so repeated and binary headers survive.
pub fn headers_json(headers: &[Header]) -> serde_json::Value {
    let engine = base64::engine::general_purpose::STANDARD;
    serde_json::Value::Array(
        headers.iter().map(|h| serde_json::json!({ "key": h.key, "value_b64": engine.encode(&h.value) })).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32, offset: i64) -> InputRecord {
        InputRecord {
            topic: "orders".into(),
            partition,
            offset,
            timestamp: None,
            key: Some(b"k".to_vec()),
            value: Some(b"v".to_vec()),
            headers: vec![Header { key: "h".into(), value: vec![0, 255] }, Header { key: "h".into(), value: b"2".to_vec() }],
        }
    }

    #[test]
    fn spans_start_at_the_committed_offset_and_end_after_the_last_record() {
        let mut batch = Batch::default();
        let output = OutputRecord { topic: None, key: None, value: Some(b"x".to_vec()), headers: vec![] };
        batch.add_outputs(&record(0, 10), vec![output.clone(), output.clone()], Some(7));
        batch.add_skipped(&record(0, 12), Some(7));
        batch.add_dead_letter(&record(1, 3), "rejected: bad".into(), "enrich", None);
        assert_eq!(batch.spans[&Partition::new("orders", 0)], Span { base: Some(7), next: 13 });
        assert_eq!(batch.spans[&Partition::new("orders", 1)], Span { base: None, next: 4 });
        assert_eq!((batch.records, batch.skipped, batch.rows.len(), batch.dead_letters.len()), (3, 1, 2, 1));
        assert_eq!(batch.rows.iter().map(|r| r.output_index).collect::<Vec<_>>(), [0, 1]);
        batch.clear();
        assert!(batch.is_empty() && batch.spans.is_empty());
    }

    #[test]
    fn repeated_and_binary_headers_survive_as_json() {
        let json = headers_json(&record(0, 0).headers);
        assert_eq!(json, serde_json::json!([{"key": "h", "value_b64": "AP8="}, {"key": "h", "value_b64": "Mg=="}]));
    }
}
