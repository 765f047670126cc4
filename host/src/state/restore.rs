//! Reading a partition's state back from the changelog before any of its
//! records is processed: on assignment, and again after a commit whose
//! outcome is unknown. The input partitions are paused; their committed
//! offsets are fetched with `require_stable` (librdkafka asks for it under
//! `read_committed`), so a previous owner's last transaction is complete at
//! the group coordinator first; then the changelog's high watermark is read
//! (`read_uncommitted`, so it counts records of transactions still open),
//! and the changelog partition is read with `read_committed` from the start
//! until its position reaches that mark. A `read_committed` position passes
//! a transaction's records only once its marker is written, so the state
//! read includes every transaction that committed the offsets fetched
//! before — also when the coordinator wrote the offsets' marker first. The
//! caller seeks the input partitions to those offsets and resumes them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::changelog::{Changelog, decode_key};
use super::store::Scope;
use crate::failure::Failure;
use crate::kafka::TopicPartition;
use crate::kafka::client;
use crate::kafka::reading::{self, CatchUp};
use crate::retry::Backoff;

/// Bound on one watermark request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a restore did, for the log line.
#[derive(Debug, Default)]
pub struct Restored {
    pub partitions: usize,
    pub records: u64,
    pub keys: usize,
    pub bytes: usize,
    pub elapsed: Duration,
}

/// Restores the state of `which` input partitions (`None`: every assigned
/// one), which stay paused: returns where each must be sought to (its
/// committed offset, or the beginning) before it is resumed, or `None` when
/// a stop came first.
pub fn restore<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    changelog: &Changelog,
    which: Option<BTreeSet<TopicPartition>>,
    stop: &AtomicBool,
) -> Result<Option<(TopicPartitionList, Restored)>, Failure> {
    let started = Instant::now();
    let partitions: BTreeSet<TopicPartition> = match which {
        Some(which) => which,
        None => consumer
            .assignment()
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the assignment to restore state: {e}")))?
            .elements()
            .iter()
            .map(|e| TopicPartition::new(e.topic(), e.partition()))
            .collect(),
    };
    let mut inputs = TopicPartitionList::with_capacity(partitions.len());
    for tp in &partitions {
        inputs.add_partition(&tp.topic, tp.partition);
    }
    if partitions.is_empty() {
        return Ok(Some((inputs, Restored::default())));
    }
    tracing::info!(partitions = partitions.len(), state_topic = %changelog.topic, "restoring state");
    consumer
        .pause(&inputs)
        .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot pause partitions to restore their state: {e}")))?;
    let committed = client::committed_offsets(consumer, &inputs, changelog.restore_patience, stop).map_err(|error| {
        Failure::Fatal(anyhow::anyhow!(
            "cannot fetch the committed offsets of the partitions whose state is restored: {error}; restart eoshost"
        ))
    })?;
    let Some(committed) = committed else { return Ok(None) };

    // The changelog partitions to read, and the high watermark of each.
    let watermarks = changelog
        .client
        .clone()
        .set("isolation.level", "read_uncommitted")
        .create::<BaseConsumer>()
        .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot create the changelog watermark client: {e}")))?;
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    for partition in partitions.iter().map(|tp| tp.partition).collect::<BTreeSet<_>>() {
        let (low, high) = retrying(changelog.restore_patience, stop, || {
            watermarks.fetch_watermarks(&changelog.topic, partition, REQUEST_TIMEOUT)
        })
        .map_err(|e| {
            Failure::Fatal(anyhow::anyhow!(
                "cannot read the end of the state topic \"{}\" partition {partition}: {e}; check the brokers",
                changelog.topic
            ))
        })?;
        if high > low {
            ends.insert(partition, high);
        }
    }
    drop(watermarks);

    {
        let mut store = changelog.state.lock();
        for TopicPartition { topic, partition } in &partitions {
            store.forget_partition(topic, *partition);
        }
    }
    let mut restored = Restored { partitions: partitions.len(), ..Restored::default() };
    if !ends.is_empty() && !read_changelog(changelog, &partitions, &ends, &mut restored, stop)? {
        return Ok(None);
    }

    let mut seek = TopicPartitionList::with_capacity(partitions.len());
    for element in committed.elements() {
        let offset = match element.offset() {
            Offset::Offset(offset) => Offset::Offset(offset),
            _ => Offset::Beginning,
        };
        seek.add_partition_offset(element.topic(), element.partition(), offset).map_err(|e| Failure::Fatal(e.into()))?;
    }
    let store = changelog.state.lock();
    restored.keys = partitions.iter().map(|tp| store.keys_of(&tp.topic, tp.partition)).sum();
    restored.bytes = store.bytes();
    drop(store);
    restored.elapsed = started.elapsed();
    tracing::info!(
        partitions = restored.partitions,
        changelog_records = restored.records,
        keys = restored.keys,
        state_bytes = restored.bytes,
        elapsed = ?restored.elapsed,
        state_topic = %changelog.topic,
        "restored state from the changelog"
    );
    Ok(Some((seek, restored)))
}

fn retrying<T, E: std::fmt::Display>(
    patience: Duration,
    stop: &AtomicBool,
    mut call: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let started = Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_millis(500));
    loop {
        match call() {
            Ok(value) => return Ok(value),
            Err(error) if started.elapsed() < patience && !stop.load(Ordering::Acquire) => {
                tracing::warn!("restoring state: {error}; retrying");
                backoff.wait(stop);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Reads the changelog partitions in `ends` with `read_committed` from their
/// start until each position reaches its end, loading the entries of the
/// input partitions in `partitions`. `false`: a stop came first.
fn read_changelog(
    changelog: &Changelog,
    partitions: &BTreeSet<TopicPartition>,
    ends: &BTreeMap<i32, i64>,
    restored: &mut Restored,
    stop: &AtomicBool,
) -> Result<bool, Failure> {
    let reader: BaseConsumer = changelog
        .client
        .clone()
        // assign() needs a group id; the reader never joins or commits.
        .set("group.id", format!("{}.restore", changelog.topic))
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "50")
        .create()
        .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot create the changelog reader: {e}")))?;
    let mut assignment = TopicPartitionList::with_capacity(ends.len());
    for partition in ends.keys() {
        assignment.add_partition_offset(&changelog.topic, *partition, Offset::Beginning).map_err(|e| Failure::Fatal(e.into()))?;
    }
    reader.assign(&assignment).map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the state topic: {e}")))?;
    let patience = changelog.restore_patience;
    let mut stuck = |pending: &BTreeMap<i32, i64>| {
        let stuck: Vec<String> = pending.iter().map(|(p, end)| format!("partition {p} (end {end})")).collect();
        Err(Failure::Fatal(anyhow::anyhow!(
            "restoring state: the state topic \"{}\" did not become readable up to its end within {:?} at {}: a \
             transaction on it stays open (an instance that died with a transaction open and was not restarted \
             holds it until transaction.timeout.ms). Restart eoshost; if this repeats, check for a stuck \
             producer on that topic (kafka-transactions --list)",
            changelog.topic,
            patience,
            stuck.join(", ")
        )))
    };
    let catch_up = CatchUp {
        stop,
        stall: patience,
        on_error: &mut |error| tracing::debug!("reading the state topic: {error}"),
        on_stall: &mut stuck,
    };
    reading::read_to_ends(&reader, ends.clone(), catch_up, |message| {
        restored.records += 1;
        if let Some((topic, plugin, key)) = message.key().and_then(decode_key)
            && partitions.contains(&TopicPartition::new(topic, message.partition()))
        {
            let scope = Scope { topic: topic.to_owned(), partition: message.partition(), plugin: plugin.to_owned() };
            changelog.state.lock().load(&scope, key, message.payload()).map_err(|e| Failure::usage(e.to_string()))?;
        }
        Ok(())
    })
}
