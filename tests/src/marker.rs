//! The "no hanging transaction" check of Kafka's system tests: after a run,
//! a fresh transactional producer commits one marker record to every output
//! partition, and a `read_committed` reader must see each marker in time. A
//! transaction left open on a partition pins its last stable offset, so the
//! marker behind it stays invisible until the broker aborts that transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::broker::Broker;
use crate::timeouts::KAFKA_CALL;

/// Where each marker landed, by index.
#[derive(Default)]
struct MarkerDeliveries(Mutex<HashMap<usize, Result<i64, String>>>);

impl ClientContext for MarkerDeliveries {}

impl ProducerContext for MarkerDeliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let landed = match result {
            Ok(message) => Ok(message.offset()),
            Err((error, _)) => Err(error.to_string()),
        };
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(index, landed);
    }
}

impl Broker {
    /// Commits a marker to every partition of `topics` in one transaction and
    /// requires a `read_committed` reader to see all of them within `within`
    /// of the commit. Returns how long they took to become visible.
    pub fn assert_no_hanging_transaction(&self, topics: &[&str], within: Duration) -> anyhow::Result<Duration> {
        let marker_id = format!("marker-{}-{}", std::process::id(), crate::scenario::unique_suffix());
        let producer: BaseProducer<MarkerDeliveries> = self
            .config()
            .set("transactional.id", &marker_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .create_with_context(MarkerDeliveries::default())
            .context("creating the marker producer")?;
        producer.init_transactions(KAFKA_CALL).context("marker producer: init_transactions")?;
        producer.begin_transaction()?;

        let mut targets = Vec::new();
        for topic in topics {
            for partition in 0..self.partition_count(topic)? {
                targets.push((topic.to_string(), partition));
            }
        }
        let value = format!(r#"{{"marker":"{marker_id}"}}"#);
        for (index, (topic, partition)) in targets.iter().enumerate() {
            let record = BaseRecord::with_opaque_to(topic, index).key("marker").payload(&value).partition(*partition);
            producer.send(record).map_err(|(error, _)| error).with_context(|| format!("marker to {topic}/{partition}"))?;
        }
        producer.flush(KAFKA_CALL).context("flushing the markers")?;
        producer.commit_transaction(KAFKA_CALL).context("committing the markers")?;
        let committed_at = Instant::now();

        let landed = producer.context().0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut awaiting: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let mut assignment = TopicPartitionList::new();
        for (index, (topic, partition)) in targets.iter().enumerate() {
            let offset = match landed.get(&index) {
                Some(Ok(offset)) => *offset,
                Some(Err(error)) => bail!("marker to {topic}/{partition} failed: {error}"),
                None => bail!("marker to {topic}/{partition} has no delivery report"),
            };
            assignment.add_partition_offset(topic, *partition, Offset::Offset(offset))?;
            awaiting.insert((topic.clone(), *partition), offset);
        }

        let reader: BaseConsumer = self
            .config()
            .set("group.id", &marker_id)
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("fetch.wait.max.ms", "100")
            .create()
            .context("creating the marker reader")?;
        reader.assign(&assignment)?;
        while !awaiting.is_empty() {
            if committed_at.elapsed() > within {
                bail!(
                    "hanging transaction: {} marker(s) committed {within:?} ago are not visible to read_committed \
                     (the last stable offset is stuck behind an open transaction): {:?}",
                    awaiting.len(),
                    awaiting.keys().collect::<Vec<_>>()
                );
            }
            match reader.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    if message.payload() == Some(value.as_bytes()) {
                        awaiting.remove(&(message.topic().to_owned(), message.partition()));
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) | None => {}
                Some(Err(error)) => bail!("reading the markers: {error}"),
            }
        }
        Ok(committed_at.elapsed())
    }
}
