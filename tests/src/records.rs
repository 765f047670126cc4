//! The numbered input records and how they reach the input topic.
//!
//! Record `n` has key `k{n % keys}` and lives on partition
//! `(n % keys) % partitions`, so every key sits on one partition and its
//! records carry increasing numbers: per-key order is checkable downstream.
//! The value is an `enrich` order whose `order_id` is `o-{n}` (kept by every
//! plugin the tests use), or, for a poison record, the same order with a
//! `quantity` that `enrich` rejects. Records are written by an idempotent
//! producer with `acks=all`, in order, and their offsets are kept. A plan
//! with [`Timestamps`] stamps record `n` itself (event time advancing with
//! `n`, a few records stamped far behind), for the time-driven plugins;
//! otherwise the producer stamps each record when it sends it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};

use crate::broker::Broker;
use crate::timeouts::SEEDED_FLUSH;

/// How record numbers map to keys, partitions and values.
#[derive(Debug, Clone)]
pub struct RecordPlan {
    pub keys: u64,
    pub partitions: i32,
    /// Numbers whose value `enrich` rejects (`quantity` is a string).
    pub poison: BTreeSet<u64>,
    /// Every third round of keys repeats the round before ([`RecordPlan::with_repeats`]).
    pub repeats: bool,
    /// Record timestamps chosen by the plan ([`RecordPlan::with_timestamps`]).
    pub timestamps: Option<Timestamps>,
}

/// Event time chosen per record: record `n` is stamped `base_ms + n ×
/// step_ms`, so on every partition time advances with the records, except
/// the *late* ones, stamped `late_ms`, behind every other record. Late
/// records are every `late_every`-th from `late_every` on: a key's late
/// record follows at least one earlier record of the same key (so of the
/// same partition), which has already moved that partition's stream time
/// past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamps {
    pub base_ms: i64,
    pub step_ms: i64,
    /// 0: no late records. Above the plan's key count, so that the record
    /// before a late one of its key is never late itself.
    pub late_every: u64,
    pub late_ms: i64,
}

impl RecordPlan {
    pub fn new(keys: u64, partitions: i32) -> RecordPlan {
        RecordPlan { keys, partitions, poison: BTreeSet::new(), repeats: false, timestamps: None }
    }

    /// Stamps every record as `timestamps` says (panics when late records
    /// could come before their key's first record).
    pub fn with_timestamps(mut self, timestamps: Timestamps) -> RecordPlan {
        assert!(
            timestamps.late_every == 0 || timestamps.late_every > self.keys,
            "late_every {} must exceed the {} keys",
            timestamps.late_every,
            self.keys
        );
        self.timestamps = Some(timestamps);
        self
    }

    /// Whether record `n` is stamped late ([`Timestamps`]).
    pub fn is_late(&self, n: u64) -> bool {
        self.timestamps.is_some_and(|t| t.late_every > 0 && n >= t.late_every && n.is_multiple_of(t.late_every))
    }

    /// Record `n`'s timestamp in ms since the epoch, `None` when the
    /// producer stamps it.
    pub fn timestamp(&self, n: u64) -> Option<i64> {
        let stamps = self.timestamps?;
        Some(if self.is_late(n) { stamps.late_ms } else { stamps.base_ms + n as i64 * stamps.step_ms })
    }

    /// Record `n` of every third round of keys (`(n / keys) % 3 == 2`)
    /// carries the order of record `n - keys` again — the same key, so the
    /// same partition: a duplicate for `dedup` to drop.
    pub fn with_repeats(mut self) -> RecordPlan {
        self.repeats = true;
        self
    }

    /// Whether record `n` repeats an earlier one's order.
    pub fn is_repeat(&self, n: u64) -> bool {
        self.repeats && (n / self.keys) % 3 == 2
    }

    pub fn with_poison(mut self, poison: impl IntoIterator<Item = u64>) -> RecordPlan {
        self.poison.extend(poison);
        self
    }

    pub fn key(&self, n: u64) -> String {
        format!("k{}", n % self.keys)
    }

    pub fn partition(&self, n: u64) -> i32 {
        ((n % self.keys) % self.partitions as u64) as i32
    }

    pub fn value(&self, n: u64) -> String {
        const COUNTRIES: [&str; 5] = ["DE", "US", "JP", "BR", "FR"];
        // A repeat is its original, byte for byte.
        let n = if self.is_repeat(n) { n - self.keys } else { n };
        let quantity = if self.poison.contains(&n) { "\"many\"".to_owned() } else { (n % 5 + 1).to_string() };
        format!(
            r#"{{"order_id":"o-{n}","customer_id":"c-{}","country":"{}","quantity":{quantity},"unit_price_cents":{},"seq":{}}}"#,
            n % self.keys,
            COUNTRIES[(n % 5) as usize],
            100 + n % 1000,
            n / self.keys,
        )
    }
}

/// The number `n` of a record, from the `order_id` in its JSON value (inputs,
/// outputs of every test plugin but `escape`, dead letters).
pub fn record_number(value: &[u8]) -> Option<u64> {
    let json: serde_json::Value = serde_json::from_slice(value).ok()?;
    json.get("order_id")?.as_str()?.strip_prefix("o-")?.parse().ok()
}

/// One record as written to the input topic.
#[derive(Debug, Clone)]
pub struct InputRecord {
    pub n: u64,
    pub key: String,
    pub value: String,
    pub partition: i32,
    pub offset: i64,
    pub poison: bool,
    /// The timestamp the plan gave it ([`RecordPlan::timestamp`]).
    pub timestamp: Option<i64>,
}

/// What was written to an input topic: record `n` at index `n`, from 0.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub topic: String,
    pub records: Vec<InputRecord>,
}

impl Seeded {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn all(&self) -> BTreeSet<u64> {
        self.records.iter().map(|r| r.n).collect()
    }

    pub fn valid(&self) -> BTreeSet<u64> {
        self.records.iter().filter(|r| !r.poison).map(|r| r.n).collect()
    }

    pub fn poison(&self) -> BTreeSet<u64> {
        self.records.iter().filter(|r| r.poison).map(|r| r.n).collect()
    }

    pub fn get(&self, n: u64) -> &InputRecord {
        &self.records[n as usize]
    }

    /// Writes records `0..count` of `plan` and waits until all are acknowledged.
    pub fn write(broker: &Broker, topic: &str, plan: &RecordPlan, count: u64) -> anyhow::Result<Seeded> {
        let mut writer = Writer::new(broker, topic, plan.clone(), 0)?;
        for _ in 0..count {
            writer.send_next()?;
        }
        writer.finish()
    }

    /// Writes the next `count` records of `plan` after these, acknowledged.
    pub fn extend(&mut self, broker: &Broker, plan: &RecordPlan, count: u64) -> anyhow::Result<()> {
        let mut writer = Writer::new(broker, &self.topic, plan.clone(), self.len() as u64)?;
        for _ in 0..count {
            writer.send_next()?;
        }
        self.records.extend(writer.finish()?.records);
        Ok(())
    }
}

/// Producer delivery reports: `(partition, offset)` by record number.
#[derive(Default)]
struct Deliveries {
    acked: Mutex<HashMap<u64, (i32, i64)>>,
    failed: Mutex<Vec<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, n: usize) {
        match result {
            Ok(message) => {
                self.acked.lock().unwrap_or_else(|e| e.into_inner()).insert(n as u64, (message.partition(), message.offset()));
            }
            Err((error, _)) => self.failed.lock().unwrap_or_else(|e| e.into_inner()).push(format!("record {n}: {error}")),
        }
    }
}

/// The idempotent producer behind seeding and feeding.
struct Writer {
    producer: BaseProducer<Deliveries>,
    topic: String,
    plan: RecordPlan,
    /// The first record number this writer sends.
    first: u64,
    /// The next record number.
    sent: u64,
}

impl Writer {
    fn new(broker: &Broker, topic: &str, plan: RecordPlan, first: u64) -> anyhow::Result<Writer> {
        let producer = broker
            .config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .create_with_context(Deliveries::default())
            .context("creating the seeding producer")?;
        Ok(Writer { producer, topic: topic.to_owned(), plan, first, sent: first })
    }

    /// Sends the next record number.
    fn send_next(&mut self) -> anyhow::Result<()> {
        let n = self.sent;
        let key = self.plan.key(n);
        let value = self.plan.value(n);
        let mut record =
            BaseRecord::with_opaque_to(&self.topic, n as usize).key(&key).payload(&value).partition(self.plan.partition(n));
        if let Some(timestamp) = self.plan.timestamp(n) {
            record = record.timestamp(timestamp);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.producer.poll(Duration::from_millis(20));
                }
                Err((error, _)) => bail!("producing record {n} to {}: {error}", self.topic),
            }
        }
        self.producer.poll(Duration::ZERO);
        self.sent += 1;
        Ok(())
    }

    fn finish(self) -> anyhow::Result<Seeded> {
        self.producer.flush(SEEDED_FLUSH).with_context(|| format!("flushing records to {}", self.topic))?;
        let context = self.producer.context();
        let failed = context.failed.lock().unwrap_or_else(|e| e.into_inner());
        if !failed.is_empty() {
            bail!("{} records to {} failed, first: {}", failed.len(), self.topic, failed[0]);
        }
        let acked = context.acked.lock().unwrap_or_else(|e| e.into_inner());
        let records = (self.first..self.sent)
            .map(|n| {
                let Some(&(partition, offset)) = acked.get(&n) else {
                    bail!("record {n} to {} has no delivery report", self.topic);
                };
                Ok(InputRecord {
                    n,
                    key: self.plan.key(n),
                    value: self.plan.value(n),
                    partition,
                    offset,
                    poison: self.plan.poison.contains(&n),
                    timestamp: self.plan.timestamp(n),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Seeded { topic: self.topic.clone(), records })
    }
}

/// Writes numbered records in the background at a steady rate, so that
/// kills and shutdowns land while records flow. It keeps going until asked
/// to finish *and* at least `minimum` records are written.
pub struct Feeder {
    stop: Arc<AtomicBool>,
    /// Set when the test is abandoned (a panic): stop at once.
    cancel: Arc<AtomicBool>,
    produced: Arc<AtomicU64>,
    thread: Option<JoinHandle<anyhow::Result<Seeded>>>,
}

impl Feeder {
    pub fn start(
        broker: &'static Broker,
        topic: &str,
        plan: RecordPlan,
        minimum: u64,
        per_second: u64,
    ) -> anyhow::Result<Feeder> {
        let mut writer = Writer::new(broker, topic, plan, 0)?;
        let stop = Arc::new(AtomicBool::new(false));
        let cancel = Arc::new(AtomicBool::new(false));
        let produced = Arc::new(AtomicU64::new(0));
        let (stop_flag, cancel_flag, counter) = (stop.clone(), cancel.clone(), produced.clone());
        let tick = Duration::from_millis(50);
        let per_tick = (per_second / 20).max(1);
        let thread = std::thread::Builder::new().name("feeder".into()).spawn(move || {
            let mut next_tick = Instant::now();
            // Records due but not sent yet.
            let mut owed = 0u64;
            while !(stop_flag.load(Ordering::SeqCst) && writer.sent >= minimum) {
                if cancel_flag.load(Ordering::SeqCst) {
                    bail!("feeder cancelled");
                }
                owed += per_tick;
                // librdkafka's idempotent producer (2.12) keeps one request in
                // flight per partition, and while records wait behind it past
                // linger.ms its broker thread polls without sleeping. When a
                // killed broker stalls acknowledgements for seconds, that spin
                // took a core from the brokers; so records due while earlier
                // ones are unacknowledged wait here and go in one burst later.
                writer.producer.poll(Duration::ZERO);
                if writer.producer.in_flight_count() == 0 {
                    for _ in 0..owed {
                        writer.send_next()?;
                    }
                    owed = 0;
                }
                counter.store(writer.sent, Ordering::SeqCst);
                next_tick += tick;
                if let Some(wait) = next_tick.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            writer.finish()
        })?;
        Ok(Feeder { stop, cancel, produced, thread: Some(thread) })
    }

    /// Records handed to the producer so far.
    pub fn produced(&self) -> u64 {
        self.produced.load(Ordering::SeqCst)
    }

    /// Whether the feeder is still writing (it has not been asked to finish
    /// or has not reached its minimum).
    pub fn is_flowing(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops after the minimum and returns everything written, acknowledged.
    pub fn finish(mut self) -> anyhow::Result<Seeded> {
        self.stop.store(true, Ordering::SeqCst);
        let thread = self.thread.take().context("feeder already finished")?;
        match thread.join() {
            Ok(result) => result,
            Err(_) => bail!("the feeder thread panicked"),
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_number_and_poison_is_marked() {
        let plan = RecordPlan::new(10, 3).with_poison([7]);
        assert_eq!(record_number(plan.value(42).as_bytes()), Some(42));
        assert!(plan.value(7).contains(r#""quantity":"many""#));
        assert_eq!(plan.key(13), "k3");
        assert_eq!(plan.partition(13), 0);
        let repeats = RecordPlan::new(10, 3).with_repeats();
        assert_eq!(record_number(repeats.value(25).as_bytes()), Some(15));
        assert_eq!(record_number(repeats.value(15).as_bytes()), Some(15));
        assert_eq!(repeats.key(25), repeats.key(15));
        assert_eq!(record_number(br#"{"marker":"x"}"#), None);
    }

    #[test]
    fn timestamps_advance_with_the_number_and_late_records_lag_behind() {
        let plan = RecordPlan::new(10, 3).with_timestamps(Timestamps {
            base_ms: 1_000_000,
            step_ms: 5,
            late_every: 13,
            late_ms: 900_000,
        });
        assert_eq!(plan.timestamp(0), Some(1_000_000));
        assert_eq!(plan.timestamp(12), Some(1_000_060));
        assert!(!plan.is_late(0) && plan.is_late(13) && plan.is_late(26) && !plan.is_late(27));
        assert_eq!(plan.timestamp(13), Some(900_000));
        assert_eq!(RecordPlan::new(10, 3).timestamp(13), None);
    }
}
