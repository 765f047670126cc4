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

use super::store::SharedState;
use crate::config::Config;
use crate::defaults;
use crate::failure::Failure;
use crate::kafka::topics::{Admin, OwnTopic};

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

/// Creates the changelog topic `--state-topic` with as many partitions as
/// the input (the most of any input topic) when it is missing, and checks it
/// when present ([`Admin::ensure_compacted`]: changelog partition `p` holds
/// the state of input partition `p`), with a small `segment.bytes`.
pub fn ensure_topic(client: &ClientConfig, config: &Config) -> Result<(), Failure> {
    let admin = Admin::new(client)?;
    let mut partitions = 0;
    for input in &config.inputs {
        partitions = partitions.max(admin.partitions(input)?.unwrap_or(0));
    }
    admin.ensure_compacted(&OwnTopic {
        name: &config.state_topic,
        role: "state topic",
        option: "--state-topic",
        partitions,
        settings: &[("segment.bytes", defaults::STATE_SEGMENT_BYTES.to_string())],
    })?;
    Ok(())
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
