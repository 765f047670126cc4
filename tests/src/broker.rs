//! The broker as the tests see it: where it is (checked once, with a message
//! that says how to start one), topics made and dropped with an
//! `AdminClient`, end offsets, and a consumer group's committed offsets —
//! the "all committed" progress signal the scenarios wait on.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::process::Eoshost;
use crate::timeouts::COORDINATOR_MOVED;

/// Time the broker gets to answer the first metadata request.
const REACHABLE_WITHIN: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The Kafka cluster under test.
pub struct Broker {
    bootstrap: String,
    admin: AdminClient<DefaultClientContext>,
    /// A group-less consumer for metadata and watermarks.
    probe: BaseConsumer,
    replication: i32,
}

static BROKER: OnceLock<Broker> = OnceLock::new();

impl Broker {
    /// The broker of `EOSHOST_TEST_BOOTSTRAP` (default `127.0.0.1:9092`).
    /// When none answers and the default address is used, starts the
    /// project's own broker with `scripts/kafka start` (so a bare
    /// `cargo test --workspace` works on a fresh clone); otherwise panics,
    /// saying how to start one.
    pub fn get() -> &'static Broker {
        BROKER.get_or_init(|| {
            let bootstrap = Broker::bootstrap_from_env();
            let connected = Broker::connect(&bootstrap).or_else(|error| {
                if std::env::var_os("EOSHOST_TEST_BOOTSTRAP").is_some() {
                    return Err(error);
                }
                eprintln!("no Kafka at {bootstrap} ({error:#}); starting one with scripts/kafka start");
                let started = std::process::Command::new(crate::process::workspace_root().join("scripts/kafka"))
                    .arg("start")
                    .stdout(std::process::Stdio::null())
                    .status()
                    .context("running scripts/kafka start")?;
                if !started.success() {
                    bail!("scripts/kafka start failed ({started})");
                }
                Broker::connect(&bootstrap)
            });
            match connected {
                Ok(broker) => broker,
                Err(error) => panic!(
                    "no Kafka at {bootstrap}: run `scripts/kafka start` first (the README's test command does it) \
                     — {error:#}"
                ),
            }
        })
    }

    /// Makes the broker at `bootstrap` the one [`Broker::get`] returns in
    /// this test binary (the three-node cluster of the broker-bounce test),
    /// instead of changing `EOSHOST_TEST_BOOTSTRAP` with `set_var`, which is
    /// unsound once other threads run. Fails when `get` already connected
    /// elsewhere.
    pub fn use_bootstrap(bootstrap: &str) -> anyhow::Result<&'static Broker> {
        let broker = match BROKER.get() {
            Some(broker) => broker,
            None => {
                let connected = Broker::connect(bootstrap).with_context(|| format!("connecting to Kafka at {bootstrap}"))?;
                BROKER.get_or_init(|| connected)
            }
        };
        if broker.bootstrap != bootstrap {
            bail!("this test binary already uses the broker at {}, not {bootstrap}", broker.bootstrap);
        }
        Ok(broker)
    }

    /// The bootstrap list the tests use, without contacting it.
    pub fn bootstrap_from_env() -> String {
        std::env::var("EOSHOST_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
    }

    /// A broker other than the shared one (e.g. a test's own secured
    /// cluster, through its PLAINTEXT listener).
    pub fn at(bootstrap: &str) -> anyhow::Result<Broker> {
        Broker::connect(bootstrap)
    }

    fn connect(bootstrap: &str) -> anyhow::Result<Broker> {
        let probe: BaseConsumer = client_config(bootstrap).create().context("creating a metadata client")?;
        let metadata = probe.fetch_metadata(None, REACHABLE_WITHIN).context("metadata request")?;
        let brokers = metadata.brokers().len();
        if brokers == 0 {
            bail!("metadata lists no broker");
        }
        let admin = client_config(bootstrap).create().context("creating the admin client")?;
        // RF 1 on a single broker, 3 on the three-node cluster (min.insync 2).
        let replication = if brokers >= 3 { 3 } else { 1 };
        Ok(Broker { bootstrap: bootstrap.to_owned(), admin, probe, replication })
    }

    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// A client configuration pointing at this broker.
    pub fn config(&self) -> ClientConfig {
        client_config(&self.bootstrap)
    }

    /// Creates `name` with `partitions` partitions and waits until every
    /// partition has a leader. An existing topic is an error: names are unique.
    pub fn create_topic(&self, name: &str, partitions: i32) -> anyhow::Result<()> {
        self.create_topic_with(name, partitions, &[])
    }

    /// Creates a topic with topic-level `configs` (e.g.
    /// `cleanup.policy=compact`) and waits until every partition has a leader.
    pub fn create_topic_with(&self, name: &str, partitions: i32, configs: &[(&str, &str)]) -> anyhow::Result<()> {
        let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(self.replication));
        for (key, value) in configs {
            topic = topic.set(key, value);
        }
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let results = block_on(self.admin.create_topics([&topic], &options)).with_context(|| format!("creating topic {name}"))?;
        for result in results {
            if let Err((topic, code)) = result {
                bail!("creating topic {topic}: {code}");
            }
        }
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            match self.partition_count(name) {
                Ok(count) if count == partitions => return Ok(()),
                _ if Instant::now() > deadline => {
                    bail!("topic {name} has no leader for all {partitions} partitions after 10 s")
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Deletes topics, ignoring every failure: clean-up only.
    pub fn delete_topics(&self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let _ = block_on(self.admin.delete_topics(&names, &options));
    }

    /// Partitions of `topic` that all have a leader; an error if the topic is
    /// unknown.
    pub fn partition_count(&self, topic: &str) -> anyhow::Result<i32> {
        let metadata = self.probe.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            bail!("topic {topic} is not in the metadata");
        };
        if let Some(error) = found.error() {
            bail!("topic {topic}: {:?}", RDKafkaErrorCode::from(error));
        }
        if found.partitions().iter().any(|p| p.leader() < 0 || p.error().is_some()) {
            bail!("topic {topic} has a partition without a leader");
        }
        Ok(found.partitions().len() as i32)
    }

    /// High watermark of every partition of `topic`, by partition.
    pub fn end_offsets(&self, topic: &str) -> anyhow::Result<Vec<i64>> {
        let partitions = self.partition_count(topic)?;
        (0..partitions)
            .map(|p| {
                let (_, high) = self
                    .probe
                    .fetch_watermarks(topic, p, REQUEST_TIMEOUT)
                    .with_context(|| format!("watermarks of {topic}/{p}"))?;
                Ok(high)
            })
            .collect()
    }

    /// A reader of `group`'s committed offsets on `topic`.
    pub fn progress(&self, group: &str, topic: &str) -> anyhow::Result<GroupProgress<'_>> {
        let consumer: BaseConsumer = self
            .config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            // Not read_committed: librdkafka would then ask for stable offsets
            // (KIP-447) and block while a killed instance's transaction holds
            // pending offsets. Without it the broker answers at once with the
            // offsets of committed transactions only, which is what we count.
            .set("isolation.level", "read_uncommitted")
            .create()
            .context("creating the group-offset reader")?;
        let partitions = self.partition_count(topic)?;
        Ok(GroupProgress { broker: self, consumer, group: group.to_owned(), topic: topic.to_owned(), partitions })
    }

    /// Members of a classic consumer group and the partitions of `topic`
    /// each holds, by client.id; `None` when the broker does not describe the
    /// group that way (e.g. a KIP-848 group) or it is not stable.
    pub fn group_assignment(&self, group: &str, topic: &str) -> Option<Vec<(String, Vec<i32>)>> {
        let list = self.probe.fetch_group_list(Some(group), REQUEST_TIMEOUT).ok()?;
        let info = list.groups().iter().find(|g| g.name() == group)?;
        if info.state() != "Stable" {
            return None;
        }
        info.members().iter().map(|m| Some((m.client_id().to_owned(), parse_assignment(m.assignment()?, topic)?))).collect()
    }
}

/// Partitions of `topic` in a classic ConsumerProtocolAssignment:
/// version i16, [topic string(i16 len), [partition i32]], user data.
fn parse_assignment(bytes: &[u8], topic: &str) -> Option<Vec<i32>> {
    struct Cursor<'a>(&'a [u8]);
    impl<'a> Cursor<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
            self.0 = rest;
            Some(head)
        }
        fn i16(&mut self) -> Option<i16> {
            Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
        }
        fn i32(&mut self) -> Option<i32> {
            Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
        }
    }
    let mut cursor = Cursor(bytes);
    cursor.i16()?;
    let mut found = Vec::new();
    for _ in 0..cursor.i32()?.max(0) {
        let len = usize::try_from(cursor.i16()?).ok()?;
        let name = cursor.take(len)?;
        for _ in 0..cursor.i32()?.max(0) {
            let partition = cursor.i32()?;
            if name == topic.as_bytes() {
                found.push(partition);
            }
        }
    }
    found.sort_unstable();
    Some(found)
}

/// A consumer group's committed offsets on one input topic, against the
/// topic's end offsets.
pub struct GroupProgress<'a> {
    broker: &'a Broker,
    consumer: BaseConsumer,
    group: String,
    topic: String,
    partitions: i32,
}

impl GroupProgress<'_> {
    /// Committed offset per partition (`None`: nothing committed yet).
    pub fn committed(&self) -> anyhow::Result<Vec<Option<i64>>> {
        let mut request = TopicPartitionList::new();
        request.add_partition_range(&self.topic, 0, self.partitions - 1);
        // The group coordinator moves while a broker starts or restarts
        // (NotCoordinator, CoordinatorLoadInProgress): ask again for a while.
        let started = Instant::now();
        let answer = loop {
            match self.consumer.committed_offsets(request.clone(), REQUEST_TIMEOUT) {
                Ok(answer) => break answer,
                Err(error) if started.elapsed() < COORDINATOR_MOVED => {
                    eprintln!("committed offsets of group {}: {error}; retrying", self.group);
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("committed offsets of group {} on {}", self.group, self.topic));
                }
            }
        };
        let mut committed = vec![None; self.partitions as usize];
        for element in answer.elements_for_topic(&self.topic) {
            if let Offset::Offset(offset) = element.offset() {
                committed[element.partition() as usize] = Some(offset);
            }
        }
        Ok(committed)
    }

    /// Sum of the committed offsets: grows with every committed transaction.
    pub fn committed_total(&self) -> anyhow::Result<i64> {
        Ok(self.committed()?.into_iter().map(|c| c.unwrap_or(0)).sum())
    }

    /// `committed / end` per partition, for messages.
    pub fn describe(&self) -> String {
        let committed = self.committed().map(|c| format!("{c:?}")).unwrap_or_else(|e| format!("? ({e:#})"));
        let end = self.broker.end_offsets(&self.topic).map(|e| format!("{e:?}")).unwrap_or_else(|e| format!("? ({e:#})"));
        format!("group {} on {}: committed {committed}, end offsets {end}", self.group, self.topic)
    }

    /// Waits until the committed total exceeds `beyond`; fails early when one
    /// of `runs` exits. Returns the new total.
    pub fn wait_progress(&self, beyond: i64, runs: &mut [&mut Eoshost], timeout: Duration) -> anyhow::Result<i64> {
        let deadline = Instant::now() + timeout;
        loop {
            let total = self.committed_total()?;
            if total > beyond {
                return Ok(total);
            }
            check_running(runs)?;
            if Instant::now() > deadline {
                bail!("no committed progress beyond {beyond} within {timeout:?}: {}{}", self.describe(), tails(runs));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until every partition's committed offset reaches its end offset
    /// ("all committed"); fails early when one of `runs` exits.
    pub fn wait_all_committed(&self, runs: &mut [&mut Eoshost], timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let end = self.broker.end_offsets(&self.topic)?;
            let committed = self.committed()?;
            if end.iter().zip(&committed).all(|(&end, committed)| end == 0 || committed.is_some_and(|c| c >= end)) {
                return Ok(());
            }
            check_running(runs)?;
            if Instant::now() > deadline {
                bail!("not all committed within {timeout:?}: {}{}", self.describe(), tails(runs));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn check_running(runs: &mut [&mut Eoshost]) -> anyhow::Result<()> {
    for run in runs.iter_mut() {
        if let Some(exit) = run.try_exit() {
            bail!("{} exited ({exit}) while it should be working; stderr tail:\n{}", run.label(), run.stderr_tail(40));
        }
    }
    Ok(())
}

fn tails(runs: &[&mut Eoshost]) -> String {
    runs.iter().map(|run| format!("\n--- {} stderr tail:\n{}", run.label(), run.stderr_tail(25))).collect()
}

fn client_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("log_level", "3");
    config
}

/// Drives one rdkafka admin future to completion on this thread: the admin
/// client's own polling thread completes it, so no async runtime is needed.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park_timeout(Duration::from_millis(50)),
        }
    }
}

impl Broker {
    /// The configuration of `topic` as the broker reports it (every entry
    /// with a value, defaults included): e.g. `cleanup.policy` of a topic
    /// that eoshost created itself.
    pub fn topic_config(&self, topic: &str) -> anyhow::Result<std::collections::HashMap<String, String>> {
        use rdkafka::admin::ResourceSpecifier;
        let options = AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT));
        let results = block_on(self.admin.describe_configs([&ResourceSpecifier::Topic(topic)], &options))
            .with_context(|| format!("describing the configuration of topic {topic}"))?;
        let Some(result) = results.into_iter().next() else { bail!("no configuration returned for topic {topic}") };
        let resource = result.map_err(|code| anyhow::anyhow!("describing the configuration of topic {topic}: {code}"))?;
        Ok(resource.entries.into_iter().filter_map(|entry| Some((entry.name, entry.value?))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_assignment;

    #[test]
    fn assignment_bytes_name_the_partitions_of_one_topic() {
        let mut bytes = vec![0, 1, 0, 0, 0, 2];
        for (topic, partitions) in [("in", &[4i32, 1][..]), ("other", &[0i32][..])] {
            bytes.extend((topic.len() as i16).to_be_bytes());
            bytes.extend(topic.as_bytes());
            bytes.extend((partitions.len() as i32).to_be_bytes());
            for p in partitions {
                bytes.extend(p.to_be_bytes());
            }
        }
        bytes.extend((-1i32).to_be_bytes());
        assert_eq!(parse_assignment(&bytes, "in"), Some(vec![1, 4]));
        assert_eq!(parse_assignment(&bytes[..9], "in"), None);
    }
}
