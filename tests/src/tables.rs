//! The join tests' fixture: the rows of a `--table`'s topic (keyed
//! records, a `None` value a tombstone) written in order by an idempotent
//! producer, the table they leave — the latest value per key — that every
//! joined output must agree with, and the topics and `lookup` spec of one
//! join scenario.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::broker::Broker;
use crate::process::EoshostSpec;
use crate::scenario::Scenario;
use crate::verify::OutputRecord;

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

/// Partitions of the join tests' orders and output topics.
pub const PARTITIONS: i32 = 6;
/// Orders name customers `c-0` … `c-59` (`RecordPlan`'s `customer_id`).
pub const CUSTOMERS: u64 = 60;

/// The customers table of these tests: `c-0`…`c-4` written then deleted,
/// `c-5`…`c-9` written twice (the second value wins), `c-50`… never written.
pub fn customer_rows() -> Vec<(String, Option<String>)> {
    let mut rows = Vec::new();
    for i in 0..50 {
        rows.push((format!("c-{i}"), Some(format!(r#"{{"name":"customer {i}","tier":"silver","v":1}}"#))));
    }
    for i in 0..5 {
        rows.push((format!("c-{i}"), None));
    }
    for i in 5..10 {
        rows.push((format!("c-{i}"), Some(format!(r#"{{"name":"customer {i}","tier":"gold","v":2}}"#))));
    }
    rows
}

/// What every join test starts from: the customers table written to its
/// compacted topic, the orders and output topics, a group, and `lookup`
/// joining each order with its customer.
pub struct Join {
    pub table: TableRows,
    pub table_topic: String,
    pub input: String,
    pub output: String,
    pub group: String,
    pub spec: EoshostSpec,
}

impl Join {
    /// Writes the table and creates the topics of one scenario.
    pub fn set_up(scenario: &Scenario) -> anyhow::Result<Join> {
        let table_topic = scenario.compacted_topic("customers", 3)?;
        let mut table = TableRows::default();
        table.write(scenario.broker(), &table_topic, &customer_rows())?;
        let input = scenario.topic("orders", PARTITIONS)?;
        let output = scenario.topic("joined", PARTITIONS)?;
        let group = scenario.unique("group");
        let spec = scenario
            .spec("lookup", &input, &[&output], &group)
            .plugin_config("table=customers")
            .plugin_config("key_field=customer_id")
            .plugin_config("as=customer")
            .args(["--table".to_owned(), format!("customers={table_topic}")]);
        Ok(Join { table, table_topic, input, output, group, spec })
    }
}

/// The order `output` joined, and the customer value it carries (compact
/// JSON text, `null` for none).
fn joined(output: &OutputRecord) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_slice(output.value.as_deref()?).ok()?;
    let customer_id = value.get("customer_id")?.as_str()?.to_owned();
    Some((customer_id, serde_json::to_string(value.get("customer")?).ok()?))
}

/// What `lookup` must have put in an order of `customer_id`: the table's
/// value, compact, or `null`.
fn expected_customer(table: &TableRows, customer_id: &str) -> String {
    table.value(customer_id).map_or_else(
        || "null".to_owned(),
        |json| serde_json::to_string(&serde_json::from_str::<serde_json::Value>(json).expect("test rows are JSON")).unwrap(),
    )
}

impl TableRows {
    /// Outputs whose joined customer is not the one this table holds for
    /// their order's `customer_id`, as sample lines.
    pub fn wrong_joins(&self, outputs: &[OutputRecord]) -> Vec<String> {
        let expected = |customer_id: &str| expected_customer(self, customer_id);
        outputs
            .iter()
            .filter(|output| !output.is_marker())
            .filter_map(|output| match joined(output) {
                None => Some(format!("not a joined order: {}", output.value_text().unwrap_or_default())),
                Some((customer_id, customer)) if customer != expected(&customer_id) => Some(format!(
                    "order {:?} of {customer_id}: customer {customer}, expected {}",
                    output.number(),
                    expected(&customer_id)
                )),
                Some(_) => None,
            })
            .collect()
    }
}
