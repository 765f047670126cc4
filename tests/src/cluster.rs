//! The three-node cluster of the broker-bounce scenario, driven through
//! `scripts/kafka` (DESIGN §1.3): the loopback broker switched from one node
//! to three (RF 3, `min.insync.replicas=2`), nodes killed with SIGKILL and
//! restarted on their storage, which node leads a partition or coordinates a
//! transactional id or group, and the single node put back afterwards — on
//! success, on failure and on panic — so the next test binary finds the
//! broker it expects. Switching wipes the broker's data (`scripts/kafka
//! start` formats afresh): nothing else may use the broker meanwhile, and
//! a cluster replaced by someone else's `scripts/kafka start` is detected.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::process::workspace_root;
use crate::timeouts::CLUSTER_WARM_UP;

/// The bootstrap list `scripts/kafka start --brokers 3` prints.
pub const THREE_NODES: &str = "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096";
/// The bootstrap of the single node every other test uses.
pub const ONE_NODE: &str = "127.0.0.1:9092";

/// Partitions of `__transaction_state` and `__consumer_offsets` (the
/// broker defaults; `scripts/kafka` does not change them).
const COORDINATOR_PARTITIONS: i32 = 50;

/// The cluster while the scenario runs; dropping it restores what ran before.
pub struct ThreeNodeCluster {
    log_dir: PathBuf,
    log: PathBuf,
    /// Whether a broker ran before the switch (then one node is restored,
    /// else the cluster is just stopped).
    was_running: bool,
    /// `CLUSTER_ID` of `scripts/kafka`'s state: another `scripts/kafka
    /// start` (a demo, a bench, another test run) replaces it.
    cluster_id: String,
    restored: bool,
}

impl ThreeNodeCluster {
    /// Replaces the running broker with three nodes; script output goes to
    /// `<log_dir>/kafka-script.log`. `start --brokers 3` stops a single
    /// node and starts afresh under the script's lock, so no other
    /// `scripts/kafka start` can slip in between.
    pub fn start(log_dir: &Path) -> anyhow::Result<ThreeNodeCluster> {
        let log = log_dir.join("kafka-script.log");
        let was_running = script(&log, &["status"]).is_ok();
        let mut cluster =
            ThreeNodeCluster { log_dir: log_dir.to_owned(), log, was_running, cluster_id: String::new(), restored: false };
        let bootstrap = script(&cluster.log, &["start", "--brokers", "3"]).inspect_err(|_| {
            // Put the single node back before the error goes up.
            cluster.restore_quietly();
        })?;
        if bootstrap != THREE_NODES {
            cluster.restore_quietly();
            bail!("scripts/kafka start --brokers 3 printed {bootstrap:?}, expected {THREE_NODES:?}");
        }
        cluster.cluster_id = cluster_env("CLUSTER_ID").unwrap_or_default();
        if let Err(error) = warm_up(THREE_NODES) {
            cluster.restore_quietly();
            return Err(error);
        }
        Ok(cluster)
    }

    /// Fails when the cluster is no longer the one this scenario started:
    /// something else ran `scripts/kafka start` or `stop` meanwhile (a demo,
    /// a bench, a test run that found no broker), and every count after
    /// that would be about the interference, not about eoshost.
    pub fn ensure_still_ours(&self) -> anyhow::Result<()> {
        let now = cluster_env("CLUSTER_ID").unwrap_or_default();
        let brokers = cluster_env("BROKERS").unwrap_or_default();
        anyhow::ensure!(
            now == self.cluster_id && brokers == "3",
            "the three-node cluster {} was replaced by another scripts/kafka command (now cluster {now:?} with \
             {brokers:?} node(s)): something else started or stopped the broker during this test; run it when \
             nothing else uses the broker",
            self.cluster_id
        );
        Ok(())
    }

    /// SIGKILL node `k` (1..=3); its data stays.
    pub fn kill_node(&self, k: i32) -> anyhow::Result<()> {
        script(&self.log, &["stop-node", &k.to_string(), "--kill"]).map(drop)
    }

    /// Restarts node `k`; returns once it is back and, with every node up,
    /// no partition is under-replicated.
    pub fn start_node(&self, k: i32) -> anyhow::Result<()> {
        script(&self.log, &["start-node", &k.to_string()]).map(drop)
    }

    /// Back to what ran before: one node (afresh, empty), or nothing.
    pub fn restore(mut self) -> anyhow::Result<()> {
        self.restored = true;
        self.restore_now()
    }

    fn restore_now(&self) -> anyhow::Result<()> {
        // The nodes' logs, before `start` wipes the state directory.
        for k in 1..=3 {
            let from = state_dir().join(format!("node-{k}/server.log"));
            let _ = std::fs::copy(&from, self.log_dir.join(format!("kafka-node-{k}-server.log")));
        }
        if self.was_running {
            let bootstrap = script(&self.log, &["start"])?;
            anyhow::ensure!(bootstrap == ONE_NODE, "scripts/kafka start printed {bootstrap:?}, expected {ONE_NODE:?}");
            // The next test binary reads committed offsets at once.
            warm_up(ONE_NODE)
        } else {
            script(&self.log, &["stop"]).map(drop)
        }
    }

    fn restore_quietly(&mut self) {
        self.restored = true;
        if let Err(error) = self.restore_now() {
            eprintln!("could not restore the Kafka broker: {error:#}; run scripts/kafka start");
        }
    }
}

impl Drop for ThreeNodeCluster {
    fn drop(&mut self) {
        if !self.restored {
            self.restore_quietly();
        }
    }
}

/// Waits until a fresh cluster coordinates groups and transactions: the
/// first request of each kind creates `__consumer_offsets` or
/// `__transaction_state`, and until their partitions are loaded the broker
/// answers `NOT_COORDINATOR` or `COORDINATOR_LOAD_IN_PROGRESS` — an error
/// for a test that reads committed offsets right away.
fn warm_up(bootstrap: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + CLUSTER_WARM_UP;
    let id = format!("eos-warm-up-{}", crate::scenario::unique_suffix());
    let config = |config: &mut ClientConfig| {
        config.set("bootstrap.servers", bootstrap).set("log_level", "3");
    };
    let mut consumer_config = ClientConfig::new();
    config(&mut consumer_config);
    let consumer: BaseConsumer = consumer_config
        .set("group.id", &id)
        .set("enable.auto.commit", "false")
        .create()
        .context("creating the warm-up consumer")?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(&id, 0);
    loop {
        match consumer.committed_offsets(partitions.clone(), Duration::from_secs(5)) {
            Ok(_) => break,
            Err(error) if Instant::now() > deadline => {
                bail!("{bootstrap} coordinates no consumer group after {CLUSTER_WARM_UP:?}: {error}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    loop {
        let mut producer_config = ClientConfig::new();
        config(&mut producer_config);
        let producer: BaseProducer =
            producer_config.set("transactional.id", &id).create().context("creating the warm-up producer")?;
        match producer.init_transactions(Duration::from_secs(20)) {
            Ok(()) => return Ok(()),
            Err(error) if Instant::now() > deadline => {
                bail!("{bootstrap} coordinates no transaction after {CLUSTER_WARM_UP:?}: {error}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// `scripts/kafka`'s state directory (`EOSHOST_KAFKA_STATE`).
fn state_dir() -> PathBuf {
    std::env::var_os("EOSHOST_KAFKA_STATE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp/eoshost-kafka"))
}

/// A `KEY=value` of `<state>/cluster.env`, which `scripts/kafka start` writes.
fn cluster_env(key: &str) -> Option<String> {
    let text = std::fs::read_to_string(state_dir().join("cluster.env")).ok()?;
    text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
}

/// Runs `scripts/kafka ARGS`, appending its stderr to `log`; returns the
/// last line of its stdout (the bootstrap list, for most commands).
fn script(log: &Path, args: &[&str]) -> anyhow::Result<String> {
    let started = Instant::now();
    let output = Command::new(workspace_root().join("scripts/kafka"))
        .args(args)
        .env_remove("EOSHOST_KAFKA_EXTRA_CONFIG")
        .output()
        .with_context(|| format!("running scripts/kafka {}", args.join(" ")))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let _ = std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut file| {
        use std::io::Write as _;
        writeln!(file, "$ scripts/kafka {} ({:?}, {}):\n{stderr}{stdout}", args.join(" "), started.elapsed(), output.status)
    });
    if !output.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
        bail!("scripts/kafka {} failed ({}):\n{}", args.join(" "), output.status, tail.join("\n"));
    }
    Ok(stdout.lines().last().unwrap_or_default().trim().to_owned())
}

/// Java's `String.hashCode` of an ASCII (or BMP) string, which the broker
/// hashes coordinator keys with.
pub fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The partition of `__transaction_state` (or `__consumer_offsets`) that
/// holds `key`: `Utils.abs(key.hashCode()) % 50`, as the broker computes it.
pub fn coordinator_partition(key: &str) -> i32 {
    let hash = java_string_hash(key);
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % COORDINATOR_PARTITIONS
}

/// Waits until every node's own metadata lists `topic` with `partitions`
/// led partitions: a topic just created is known to the node that answered
/// first, and a client asking another node a moment later would be told it
/// does not exist.
pub fn wait_topic_on_every_node(topic: &str, partitions: usize, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    for node in THREE_NODES.split(',') {
        loop {
            // A fresh client knows only its bootstrap node: the metadata
            // request goes to that node.
            let probe: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", node)
                .set("log_level", "3")
                .create()
                .context("creating a metadata probe")?;
            let known = probe.fetch_metadata(Some(topic), Duration::from_secs(5)).ok().is_some_and(|metadata| {
                metadata.topics().iter().any(|t| {
                    t.name() == topic
                        && t.error().is_none()
                        && t.partitions().len() == partitions
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            });
            if known {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "node {node} does not know topic {topic} after {timeout:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(())
}

/// Which node leads what, from metadata.
pub struct Leaders {
    probe: BaseConsumer,
}

impl Leaders {
    pub fn new(config: &ClientConfig) -> anyhow::Result<Leaders> {
        Ok(Leaders { probe: config.create().context("creating the leader probe")? })
    }

    /// The node leading `topic`/`partition`, when it has a leader.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let metadata = self.probe.fetch_metadata(Some(topic), Duration::from_secs(10)).ok()?;
        let found = metadata.topics().iter().find(|t| t.name() == topic)?;
        let leader = found.partitions().iter().find(|p| p.id() == partition)?.leader();
        (leader >= 0).then_some(leader)
    }

    /// The node coordinating the transactions of `transactional_id`.
    pub fn transaction_coordinator(&self, transactional_id: &str) -> Option<i32> {
        self.leader("__transaction_state", coordinator_partition(transactional_id))
    }

    /// The node coordinating consumer group `group`.
    pub fn group_coordinator(&self, group: &str) -> Option<i32> {
        self.leader("__consumer_offsets", coordinator_partition(group))
    }

    /// The node that coordinates both `group` and the transactions of every
    /// id in `transactional_ids`, if one node does.
    pub fn sole_coordinator(&self, group: &str, transactional_ids: &[String]) -> Option<i32> {
        let node = self.group_coordinator(group)?;
        transactional_ids.iter().all(|id| self.transaction_coordinator(id) == Some(node)).then_some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_java_does() {
        // "hello".hashCode() == 99162322, "".hashCode() == 0,
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(coordinator_partition("polygenelubricants"), 0);
        assert_eq!(coordinator_partition("hello"), 99_162_322 % 50);
    }
}
