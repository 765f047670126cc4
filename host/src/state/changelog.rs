//! The changelog topic of stateful plugins (`--state-topic`, default
//! `<group>.state`): the key format of its records, and making sure it
//! exists as it must — compacted, with as many partitions as the input, a
//! small `segment.bytes` (the active segment is never compacted, so a small
//! one keeps restores short), and the cluster's replication factor and
//! `min.insync.replicas`. Created when missing, checked when present.
//!
//! A record's key is `<input topic> NUL <plugin> NUL <plugin's key>`, on the
//! changelog partition numbered like the input partition; its value is the
//! plugin's value, or a tombstone for a deleted key. Topic names cannot hold
//! a NUL and plugin names (file stems) do not, so the split is unambiguous.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use super::store::SharedState;
use crate::config::Config;
use crate::defaults;
use crate::failure::Failure;

/// Bound on each admin request while checking the changelog topic.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the open transaction and the restore need to know of the changelog.
#[derive(Clone)]
pub struct Changelog {
    pub topic: String,
    pub state: SharedState,
    /// The pipeline's connection and security settings, for the restore's
    /// own consumers.
    pub client: ClientConfig,
    /// How long a restore waits for a changelog partition blocked by an
    /// open transaction (or for the coordinator): longer than a transaction
    /// can stay open, `transaction.timeout.ms` plus [`super::RESTORE_MARGIN`].
    pub restore_patience: Duration,
}

/// The changelog key of `key`, written by `plugin` for a record of `topic`.
pub fn encode_key(topic: &str, plugin: &str, key: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::with_capacity(topic.len() + plugin.len() + 2 + key.len());
    encoded.extend_from_slice(topic.as_bytes());
    encoded.push(0);
    encoded.extend_from_slice(plugin.as_bytes());
    encoded.push(0);
    encoded.extend_from_slice(key);
    encoded
}

/// The input topic, the plugin and the plugin's key of a changelog key;
/// `None` for a key eoshost did not write.
pub fn decode_key(encoded: &[u8]) -> Option<(&str, &str, &[u8])> {
    let first = encoded.iter().position(|&b| b == 0)?;
    let second = first + 1 + encoded[first + 1..].iter().position(|&b| b == 0)?;
    let topic = std::str::from_utf8(&encoded[..first]).ok()?;
    let plugin = std::str::from_utf8(&encoded[first + 1..second]).ok()?;
    Some((topic, plugin, &encoded[second + 1..]))
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        // The pipeline thread is a blocking thread of the runtime.
        Ok(handle) => handle.block_on(future),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime for admin requests")
            .block_on(future),
    }
}

/// Creates the changelog topic `--state-topic` with as many partitions as
/// the input (the most of any input topic) when it is missing, and checks it
/// when present: at least as many partitions
/// (changelog partition `p` holds the state of input partition `p`) and
/// `cleanup.policy` with `compact`. Every refusal names the topic and says
/// what to do (exit code 2).
pub fn ensure_topic(client: &ClientConfig, config: &Config) -> Result<(), Failure> {
    let topic = config.state_topic.as_str();
    let admin: AdminClient<DefaultClientContext> =
        client.create().map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot create a Kafka admin client: {e}")))?;
    let options = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT)).operation_timeout(Some(ADMIN_TIMEOUT));
    let mut partitions = 0;
    for input in &config.inputs {
        partitions = partitions.max(existing_partitions(&admin, input)?.unwrap_or(0));
    }
    let existing = existing_partitions(&admin, topic)?;
    if existing.is_none() {
        let segment_bytes = defaults::STATE_SEGMENT_BYTES.to_string();
        // Replication factor -1: the cluster's default.replication.factor;
        // min.insync.replicas unset: the cluster's.
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1))
            .set("cleanup.policy", "compact")
            .set("segment.bytes", &segment_bytes);
        let results = block_on(admin.create_topics([&new], &options))
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot create the state topic \"{topic}\": {e}")))?;
        for result in results {
            match result {
                Ok(_) => tracing::info!(topic, partitions, "created the state changelog topic (compacted)"),
                // Another instance created it meanwhile: checked below.
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => {
                    return Err(Failure::usage(format!(
                        "cannot create the state topic \"{topic}\" on {}: {code}; create it yourself \
                         (cleanup.policy=compact, {partitions} partitions) or name another with --state-topic",
                        config.bootstrap_servers
                    )));
                }
            }
        }
    }
    let found = match existing {
        Some(found) => found,
        None => wait_for_partitions(&admin, topic)?,
    };
    if found < partitions {
        return Err(Failure::usage(format!(
            "the state topic \"{topic}\" has {found} partitions, but the input has {partitions}: changelog partition p \
             holds the state of input partition p. Add partitions to it (kafka-topics --alter --partitions {partitions}) \
             or name another with --state-topic"
        )));
    }
    let described = block_on(admin.describe_configs([&ResourceSpecifier::Topic(topic)], &options))
        .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the configuration of the state topic \"{topic}\": {e}")))?;
    for resource in described {
        let resource = resource.map_err(|code| {
            Failure::Fatal(anyhow::anyhow!("cannot read the configuration of the state topic \"{topic}\": {code}"))
        })?;
        let policy = resource.get("cleanup.policy").and_then(|entry| entry.value.clone()).unwrap_or_default();
        if !policy.split(',').any(|p| p.trim() == "compact") {
            return Err(Failure::usage(format!(
                "the state topic \"{topic}\" has cleanup.policy={policy}, but a changelog must be compacted (or its \
                 state would be deleted with old segments): set cleanup.policy=compact on it (kafka-configs --alter \
                 --add-config cleanup.policy=compact) or name another with --state-topic"
            )));
        }
    }
    Ok(())
}

/// The partition count of `topic`, `None` when it does not exist.
fn existing_partitions(admin: &AdminClient<DefaultClientContext>, topic: &str) -> Result<Option<i32>, Failure> {
    let metadata = admin
        .inner()
        .fetch_metadata(Some(topic), ADMIN_TIMEOUT)
        .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the metadata of the state topic \"{topic}\": {e}")))?;
    Ok(metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().len() as i32))
}

/// Waits until a just-created topic shows in the metadata.
fn wait_for_partitions(admin: &AdminClient<DefaultClientContext>, topic: &str) -> Result<i32, Failure> {
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = existing_partitions(admin, topic)? {
            return Ok(found);
        }
        if started.elapsed() > ADMIN_TIMEOUT {
            return Err(Failure::Fatal(anyhow::anyhow!(
                "the state topic \"{topic}\" was created but does not show in the metadata after {ADMIN_TIMEOUT:?}; \
                 check the brokers' health and restart eoshost"
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_by_input_topic_and_plugin_and_keep_any_bytes() {
        let encoded = encode_key("orders", "counter", b"k\0\xff");
        assert_eq!(encoded, b"orders\0counter\0k\0\xff");
        assert_eq!(decode_key(&encoded), Some(("orders", "counter", &b"k\0\xff"[..])));
        assert_eq!(decode_key(b"orders\0counter\0"), Some(("orders", "counter", &b""[..])));
        assert_eq!(decode_key(b"no separator"), None);
    }
}
