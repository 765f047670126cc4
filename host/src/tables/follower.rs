//! Keeping a table current: one follower thread per table reads every
//! partition of its topic from the beginning with `read_committed`, applies
//! each record (a tombstone deletes; a record without a key is not a row),
//! tells the start-up when it has reached the end its topic had when
//! eoshost started, and then keeps applying updates until the stop.
//!
//! The start-up end is each partition's high watermark read with
//! `read_uncommitted`, so it counts records of transactions still open; a
//! `read_committed` position passes them only once their marker is written.
//! A table loaded to that end therefore holds every record committed before
//! eoshost started (the same reasoning as the state restore, `state/restore.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::{Table, TableSpec, Tables};
use crate::failure::Failure;
use crate::kafka::reading::{self, CatchUp};
use crate::metrics::Metrics;

/// Bound on one metadata or watermark request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one poll waits for an update after start-up; also how late a
/// stop is seen.
const FOLLOW_POLL: Duration = Duration::from_millis(100);
/// How often the table's gauges are refreshed, and its lag measured.
const GAUGE_EVERY: Duration = Duration::from_secs(1);
const LAG_EVERY: Duration = Duration::from_secs(5);
/// How often a load that reads nothing says what it waits for.
const STALL_WARNING: Duration = Duration::from_secs(10);

/// What the followers need from the run.
pub struct FollowerSettings {
    /// The run's connection settings (bootstrap servers and every `-X`).
    pub client: ClientConfig,
    pub metrics: Arc<Metrics>,
    pub stop: Arc<AtomicBool>,
    /// Where a follower leaves the failure that stopped the run after
    /// start-up (a table past `--table-max-mb`); the run ends with it.
    pub failure: Arc<Mutex<Option<Failure>>>,
}

/// One table's load at start-up, for the log line.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub table: String,
    pub topic: String,
    pub records: u64,
    pub keys: usize,
    pub bytes: usize,
    pub elapsed: Duration,
}

/// Starts a follower for every table of `specs` and waits until each has
/// loaded its topic up to its start-up end. `Ok(None)`: a stop came first.
/// A table past `--table-max-mb` while loading is a usage error (exit 2).
pub fn follow(tables: &Tables, specs: &[TableSpec], settings: FollowerSettings) -> Result<Option<Vec<LoadReport>>, Failure> {
    let (loaded, load_results) = mpsc::channel();
    for spec in specs {
        let table = tables.table(&spec.name).expect("Tables::new made every table of specs").clone();
        let follower = Follower {
            table,
            topic: spec.source.clone(),
            client: settings.client.clone(),
            metrics: settings.metrics.clone(),
            stop: settings.stop.clone(),
            failure: settings.failure.clone(),
        };
        let loaded = loaded.clone();
        std::thread::Builder::new()
            .name(format!("eoshost-table-{}", spec.name))
            .spawn(move || follower.run(loaded))
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot start the follower of table \"{}\": {e}", spec.name)))?;
    }
    drop(loaded);
    let mut reports = Vec::with_capacity(specs.len());
    while reports.len() < specs.len() {
        if settings.stop.load(Ordering::Acquire) {
            return Ok(None);
        }
        match load_results.recv_timeout(FOLLOW_POLL) {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(failure)) => return Err(failure),
            Err(RecvTimeoutError::Timeout) => {}
            // Every follower has ended: only a stop ends one before it loaded.
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
        }
    }
    Ok(Some(reports))
}

/// One table's follower.
struct Follower {
    table: Arc<Table>,
    topic: String,
    client: ClientConfig,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    failure: Arc<Mutex<Option<Failure>>>,
}

impl Follower {
    fn run(self, loaded: mpsc::Sender<Result<LoadReport, Failure>>) {
        let started = Instant::now();
        let (reader, mut records) = match self.load() {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return,
            Err(failure) => {
                let _ = loaded.send(Err(failure));
                return;
            }
        };
        let report = LoadReport {
            table: self.table.name().to_owned(),
            topic: self.topic.clone(),
            records,
            keys: self.table.records(),
            bytes: self.table.bytes(),
            elapsed: started.elapsed(),
        };
        if loaded.send(Ok(report)).is_err() {
            return;
        }
        self.metrics.set_table_size(self.table.name(), self.table.records(), self.table.bytes());
        self.measure_lag(&reader);
        let (mut gauges_at, mut lag_at) = (Instant::now(), Instant::now());
        while !self.stop.load(Ordering::Acquire) {
            match reader.poll(FOLLOW_POLL) {
                None => {}
                Some(Err(error)) => self.warn_rarely(&format!("reading the table's topic: {error}; retrying")),
                Some(Ok(message)) => {
                    records += 1;
                    if let Err(full) = self.apply(&message) {
                        tracing::error!(table = self.table.name(), "{full}; stopping");
                        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
                        failure.get_or_insert(Failure::usage(full));
                        self.stop.store(true, Ordering::Release);
                        return;
                    }
                }
            }
            if gauges_at.elapsed() >= GAUGE_EVERY {
                gauges_at = Instant::now();
                self.metrics.set_table_size(self.table.name(), self.table.records(), self.table.bytes());
            }
            if lag_at.elapsed() >= LAG_EVERY {
                lag_at = Instant::now();
                self.measure_lag(&reader);
            }
        }
        tracing::debug!(table = self.table.name(), records, "table follower stopped");
    }

    /// Reads the topic up to its start-up end. `None`: a stop came first.
    fn load(&self) -> Result<Option<(BaseConsumer, u64)>, Failure> {
        // The reader first: it connects while the ends are read.
        let reader: BaseConsumer = self
            .client
            .clone()
            // assign() needs a group id; the reader never joins or commits.
            .set("group.id", format!("eoshost-table-{}", self.table.name()))
            .set("client.id", format!("eoshost-table-{}", self.table.name()))
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", "50")
            .set("max.partition.fetch.bytes", "4194304")
            .create()
            .map_err(|e| Failure::usage(format!("cannot create the reader of table \"{}\": {e}", self.table.name())))?;
        let ends = self.start_up_ends()?;
        tracing::debug!(table = self.table.name(), ?ends, "read the table's start-up ends");
        // From each partition's first offset, as read with its end (a
        // logical `Beginning` costs one more lookup; an offset compacted
        // away meanwhile resets to the earliest), with the leaders known:
        // librdkafka otherwise starts the partitions after a timer.
        reader
            .fetch_metadata(Some(&self.topic), REQUEST_TIMEOUT)
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the metadata of the topic \"{}\": {e}", self.topic)))?;
        let mut assignment = TopicPartitionList::new();
        for (partition, (start, _)) in &ends {
            assignment
                .add_partition_offset(&self.topic, *partition, Offset::Offset(*start))
                .map_err(|e| Failure::Fatal(e.into()))?;
        }
        reader.assign(&assignment).map_err(|e| {
            Failure::Fatal(anyhow::anyhow!("cannot read the topic \"{}\" of table \"{}\": {e}", self.topic, self.table.name()))
        })?;
        let ends: BTreeMap<i32, i64> =
            ends.into_iter().filter(|(_, (start, end))| end > start).map(|(partition, (_, end))| (partition, end)).collect();
        tracing::debug!(table = self.table.name(), "reading the table's topic");
        let mut records = 0u64;
        let catch_up = CatchUp {
            stop: &self.stop,
            stall: STALL_WARNING,
            on_error: &mut |error| self.warn_rarely(&format!("loading: {error}; retrying")),
            on_stall: &mut |pending| {
                let waiting: Vec<String> = pending.iter().map(|(p, end)| format!("partition {p} (end {end})")).collect();
                tracing::warn!(
                    table = self.table.name(), topic = %self.topic,
                    "still loading the table up to its start-up end at {}: no record for {STALL_WARNING:?}; a \
                     transaction on the topic stays open, or the brokers are slow; processing starts once it is loaded",
                    waiting.join(", ")
                );
                Ok(())
            },
        };
        let loaded = reading::read_to_ends(&reader, ends, catch_up, |message| {
            records += 1;
            self.apply(message).map_err(Failure::usage)
        })?;
        if !loaded {
            return Ok(None);
        }
        Ok(Some((reader, records)))
    }

    /// Every partition of the topic with its first offset and its end at
    /// start-up (high watermark, `read_uncommitted`).
    fn start_up_ends(&self) -> Result<BTreeMap<i32, (i64, i64)>, Failure> {
        let name = self.table.name();
        let probe: BaseConsumer = self
            .client
            .clone()
            .set("client.id", format!("eoshost-table-{name}-ends"))
            .set("isolation.level", "read_uncommitted")
            .create()
            .map_err(|e| Failure::usage(format!("cannot create a Kafka client for table \"{name}\": {e}")))?;
        let metadata = probe.fetch_metadata(Some(&self.topic), REQUEST_TIMEOUT).map_err(|e| {
            Failure::Fatal(anyhow::anyhow!("cannot read the metadata of the topic \"{}\" of table \"{name}\": {e}", self.topic))
        })?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|topic| topic.name() == self.topic && topic.error().is_none())
            .flat_map(|topic| topic.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(Failure::usage(format!(
                "the topic \"{}\" of --table {name}={} does not exist; create it (a compacted topic: cleanup.policy=compact) \
                 or fix the topic name",
                self.topic, self.topic
            )));
        }
        let mut ends = BTreeMap::new();
        for partition in partitions {
            let (low, high) = probe.fetch_watermarks(&self.topic, partition, REQUEST_TIMEOUT).map_err(|e| {
                Failure::Fatal(anyhow::anyhow!(
                    "cannot read the end of the topic \"{}\" of table \"{name}\", partition {partition}: {e}; check the brokers",
                    self.topic
                ))
            })?;
            ends.insert(partition, (low, high));
        }
        Ok(ends)
    }

    fn apply(&self, message: &rdkafka::message::BorrowedMessage<'_>) -> Result<(), super::TableFull> {
        match message.key() {
            Some(key) => self.table.apply(key, message.payload()),
            // A record without a key cannot be a row (as in a GlobalKTable).
            None => Ok(()),
        }
    }

    /// Sets the table's lag: from the reader's positions to the
    /// partitions' ends (`read_committed`: the last stable offset).
    fn measure_lag(&self, reader: &BaseConsumer) {
        let Ok(positions) = reader.position() else { return };
        let mut lag = 0i64;
        for element in positions.elements() {
            let Ok((_, end)) = reader.fetch_watermarks(&self.topic, element.partition(), REQUEST_TIMEOUT) else { return };
            let position = match element.offset() {
                Offset::Offset(position) => position,
                _ => 0,
            };
            lag += (end - position).max(0);
        }
        self.metrics.set_table_lag(self.table.name(), lag);
    }

    /// A warning at most every [`STALL_WARNING`] (over every follower): a
    /// broker that is down makes every poll fail.
    fn warn_rarely(&self, message: &str) {
        static LAST: Mutex<Option<Instant>> = Mutex::new(None);
        let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|at| at.elapsed() >= STALL_WARNING) {
            *last = Some(Instant::now());
            tracing::warn!(table = self.table.name(), topic = %self.topic, "{message}");
        }
    }
}
