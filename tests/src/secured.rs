//! The tests' own secured broker: `scripts/kafka start --security sasl_ssl`
//! on its own ports (base `EOSHOST_TEST_SECURED_PORT_BASE`, default 9190:
//! PLAINTEXT 9192, SASL_SSL with SCRAM 9194, SASL_SSL with OAUTHBEARER 9195,
//! SSL 9196, token endpoint 9197) and state dir (`target/secured-kafka`),
//! beside the shared broker on 9092. Started once per test binary, stopped
//! when the binary exits. Its PLAINTEXT listener serves the test's own
//! clients (topics, seeding, verification); eoshost connects through the
//! secured ones. Owning the state dir also lets a test read and damage a
//! partition's log segment ([`SecuredBroker::segment`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context as _, bail};

use crate::broker::Broker;
use crate::process::workspace_root;

/// The running secured cluster and what `scripts/kafka` wrote about it in
/// `security.env`.
pub struct SecuredBroker {
    /// The test side's clients, on the PLAINTEXT listener.
    pub plain: Broker,
    state: PathBuf,
    env: HashMap<String, String>,
}

static SECURED: OnceLock<SecuredBroker> = OnceLock::new();

fn state_dir() -> PathBuf {
    workspace_root().join("target/secured-kafka")
}

fn port_base() -> String {
    std::env::var("EOSHOST_TEST_SECURED_PORT_BASE").unwrap_or_else(|_| "9190".to_owned())
}

fn scripts_kafka(args: &[&str]) -> Command {
    let mut command = Command::new(workspace_root().join("scripts/kafka"));
    command.args(args).env("EOSHOST_KAFKA_STATE", state_dir()).env("EOSHOST_KAFKA_PORT_BASE", port_base());
    command
}

extern "C" fn stop_at_exit() {
    let _ = scripts_kafka(&["stop"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

impl SecuredBroker {
    /// Starts the secured cluster (once per process) and connects to its
    /// PLAINTEXT listener. Panics with the script's message when it fails.
    pub fn get() -> &'static SecuredBroker {
        SECURED.get_or_init(|| match SecuredBroker::start() {
            Ok(broker) => broker,
            Err(error) => panic!("cannot start the secured test broker: {error:#}"),
        })
    }

    fn start() -> anyhow::Result<SecuredBroker> {
        let output = scripts_kafka(&["start", "--security", "sasl_ssl"])
            .stderr(Stdio::inherit())
            .output()
            .context("running scripts/kafka start --security sasl_ssl")?;
        if !output.status.success() {
            bail!("scripts/kafka start --security sasl_ssl failed ({})", output.status);
        }
        // SAFETY: registers a plain function with no captured state.
        unsafe { libc::atexit(stop_at_exit) };
        let state = state_dir();
        let text = std::fs::read_to_string(state.join("security.env")).context("reading security.env")?;
        let env: HashMap<String, String> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let plain_bootstrap = env.get("PLAINTEXT_BOOTSTRAP").context("security.env has no PLAINTEXT_BOOTSTRAP")?;
        let plain = Broker::at(plain_bootstrap)?;
        Ok(SecuredBroker { plain, state, env })
    }

    /// A value of `security.env` (e.g. `SASL_SSL_BOOTSTRAP`, `CA_PEM`).
    pub fn value(&self, name: &str) -> &str {
        self.env.get(name).unwrap_or_else(|| panic!("security.env has no {name}"))
    }

    /// The content of a secret file named in `security.env` (e.g.
    /// `SCRAM_PASSWORD_FILE`).
    pub fn secret(&self, file_name: &str) -> String {
        let path = self.value(file_name);
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}")).trim().to_owned()
    }

    /// The first log segment of a partition, as the broker keeps it.
    pub fn segment(&self, topic: &str, partition: i32) -> PathBuf {
        self.state.join(format!("node-1/data/{topic}-{partition}/00000000000000000000.log"))
    }
}

/// One record batch of a log segment (the v2 format's header fields a test
/// needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Byte position of the batch in the segment file.
    pub position: usize,
    pub base_offset: i64,
    /// Bytes after the length field.
    pub length: usize,
    /// Attributes bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub codec: u8,
    pub control: bool,
    pub records: i32,
}

/// Byte offset of the records (after the 61-byte v2 batch header).
pub const BATCH_HEADER_LEN: usize = 61;

/// The batches of a segment file, in order.
pub fn read_batches(segment: &[u8]) -> anyhow::Result<Vec<BatchHeader>> {
    let mut batches = Vec::new();
    let mut position = 0;
    while position + BATCH_HEADER_LEN <= segment.len() {
        let at = |from: usize, len: usize| &segment[position + from..position + from + len];
        let base_offset = i64::from_be_bytes(at(0, 8).try_into()?);
        let length = i32::from_be_bytes(at(8, 4).try_into()?) as usize;
        let magic = at(16, 1)[0];
        if magic != 2 {
            bail!("batch at byte {position} has magic {magic}, not 2");
        }
        let attributes = u16::from_be_bytes(at(21, 2).try_into()?);
        let records = i32::from_be_bytes(at(57, 4).try_into()?);
        batches.push(BatchHeader {
            position,
            base_offset,
            length,
            codec: (attributes & 0x7) as u8,
            control: attributes & 0x20 != 0,
            records,
        });
        position += 12 + length;
    }
    Ok(batches)
}

/// The codec number of a `compression.type` name in the batch attributes.
pub fn codec_number(name: &str) -> u8 {
    match name {
        "none" => 0,
        "gzip" => 1,
        "snappy" => 2,
        "lz4" => 3,
        "zstd" => 4,
        other => panic!("unknown compression.type {other}"),
    }
}

/// Writes records `numbers` of `plan` to `topic` with `compression.type`
/// `codec`, lingering so that they share batches, and flushes: one call
/// makes batches of its own.
pub fn write_compressed(
    broker: &Broker,
    topic: &str,
    plan: &crate::records::RecordPlan,
    numbers: std::ops::Range<u64>,
    codec: &str,
) -> anyhow::Result<()> {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = broker
        .config()
        .set("compression.type", codec)
        .set("linger.ms", "100")
        .set("enable.idempotence", "true")
        .create()
        .with_context(|| format!("creating a {codec} producer"))?;
    for n in numbers {
        let (key, value) = (plan.key(n), plan.value(n));
        let mut record = BaseRecord::to(topic).key(&key).payload(&value).partition(plan.partition(n));
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(std::time::Duration::from_millis(20));
                }
                Err((error, _)) => bail!("producing record {n} to {topic} with {codec}: {error}"),
            }
        }
    }
    producer.flush(crate::timeouts::KAFKA_CALL).with_context(|| format!("flushing {codec} records to {topic}"))?;
    Ok(())
}
