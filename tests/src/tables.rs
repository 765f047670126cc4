//! The rows of a `--table`'s topic as the join tests write them: keyed
//! records (a `None` value is a tombstone) written in order by an
//! idempotent producer, and the table they leave — the latest value per
//! key — that every joined output must agree with.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::broker::Broker;

/// Rows written to a table's topic, in order, and the table they leave.
#[derive(Debug, Default, Clone)]
pub struct TableRows {
    latest: HashMap<String, Option<String>>,
}

impl TableRows {
    /// Writes `rows` (key, value or `None` for a tombstone) to `topic` and
    /// waits until every one is acknowledged; the keys' partitions are the
    /// default partitioner's.
    pub fn write(&mut self, broker: &Broker, topic: &str, rows: &[(String, Option<String>)]) -> anyhow::Result<()> {
        let producer: BaseProducer = broker
            .config()
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create()
            .context("creating the table writer")?;
        for (key, value) in rows {
            let mut record = BaseRecord::<String, String>::to(topic).key(key);
            if let Some(value) = value {
                record = record.payload(value);
            }
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((error, returned)) => {
                        anyhow::ensure!(
                            matches!(error.rdkafka_error_code(), Some(rdkafka::types::RDKafkaErrorCode::QueueFull)),
                            "writing table row {key}: {error}"
                        );
                        record = returned;
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
            self.latest.insert(key.clone(), value.clone());
        }
        producer.flush(Duration::from_secs(30)).context("flushing the table rows")?;
        Ok(())
    }

    /// The table's value under `key` once every row is applied (`None`:
    /// absent or deleted).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.latest.get(key).and_then(|value| value.as_deref())
    }
}
