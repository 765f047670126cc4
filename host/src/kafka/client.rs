//! Building the Kafka clients with the settings exactly-once needs, waiting
//! for the cluster at start, and checking that every topic exists (eoshost
//! never creates topics).

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::membership::Membership;
use crate::config::Config;
use crate::failure::Failure;

/// The consumer side, with the static membership known from the
/// configuration alone (`--group-instance-id` or `--transactional-id`). An
/// instance on a transactional-id slot knows its id only once it holds the
/// slot: build its consumer with [`member_consumer_config`].
pub fn consumer_config(config: &Config, with_statistics: bool) -> ClientConfig {
    let known = config.transactional_id.as_deref().or(config.group_instance_id.as_deref());
    let membership = known.map(|id| Membership::new(config, id));
    member_consumer_config(config, membership.as_ref(), with_statistics)
}

/// The consumer side: read_committed, no auto-commit, offsets only through
/// the transaction, and `group.instance.id` when `membership` is static.
/// Prefetch is bounded so memory stays small.
pub fn member_consumer_config(config: &Config, membership: Option<&Membership>, with_statistics: bool) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.bootstrap_servers)
        .set("group.id", &config.group)
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("queued.max.messages.kbytes", "32768")
        // librdkafka pauses a partition's fetching for this long once the
        // prefetch queue is full; its default (1 s) starves the loop.
        .set("fetch.queue.backoff.ms", "5")
        .set("fetch.max.bytes", "16777216")
        .set("client.id", format!("eoshost-consumer-{}", config.group));
    if let Some(instance_id) = membership.and_then(Membership::instance_id) {
        client.set("group.instance.id", instance_id);
    }
    if with_statistics {
        client.set("statistics.interval.ms", "5000");
    }
    apply_overrides(&mut client, config);
    client
}

/// The producer side: idempotent, acks=all, transactional.
pub fn producer_config(config: &Config, transactional_id: &str) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.bootstrap_servers)
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("transaction.timeout.ms", "10000")
        .set("linger.ms", "20")
        .set("queue.buffering.max.kbytes", "65536")
        .set("client.id", format!("eoshost-producer-{transactional_id}"));
    apply_overrides(&mut client, config);
    client
}

/// `-X` properties, given to both clients (librdkafka ignores, with a
/// warning, what does not apply to one of them), after the CA-location
/// defaults the compiled-in OpenSSL needs.
fn apply_overrides(client: &mut ClientConfig, config: &Config) {
    for (key, value) in super::librdkafka::ca_location_defaults(&config.librdkafka) {
        client.set(key, value);
    }
    for (key, value) in &config.librdkafka {
        client.set(key, value);
    }
}

/// The largest record the producer accepts (`message.max.bytes`).
pub fn max_message_bytes(config: &Config) -> usize {
    config
        .librdkafka
        .iter()
        .rev()
        .find(|(key, _)| key == "message.max.bytes")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(1_000_000)
}

/// Waits until the cluster answers metadata, retrying with backoff, and
/// checks that every topic eoshost reads or writes exists.
pub fn await_cluster(config: &Config) -> Result<(), Failure> {
    // A client of its own: the pipeline's consumer owns the transaction,
    // which needs the cluster up first.
    let consumer: BaseConsumer =
        consumer_config(config, false).create().map_err(|e| Failure::usage(format!("invalid Kafka consumer settings: {e}")))?;
    let started = Instant::now();
    let mut backoff = Duration::from_millis(200);
    let metadata = loop {
        let remaining = config.connect_timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(100));
        match consumer.fetch_metadata(None, remaining.min(Duration::from_secs(5))) {
            Ok(metadata) if !metadata.brokers().is_empty() => break metadata,
            Ok(_) => tracing::warn!("Kafka answered with no brokers; retrying"),
            Err(error) => tracing::warn!(bootstrap = %config.bootstrap_servers, "cannot reach Kafka yet: {error}; retrying"),
        }
        if started.elapsed() >= config.connect_timeout {
            return Err(Failure::Fatal(anyhow::anyhow!(
                "cannot reach Kafka at {} after {:.0?}; check --bootstrap-servers and that the brokers are up \
                 (for a local broker: scripts/kafka start)",
                config.bootstrap_servers,
                started.elapsed()
            )));
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(5));
    };

    let exists = |name: &str| {
        metadata.topics().iter().any(|topic| topic.name() == name && topic.error().is_none() && !topic.partitions().is_empty())
    };
    let mut wanted: Vec<(&str, &str)> = config.inputs.iter().map(|t| (t.as_str(), "input")).collect();
    wanted.extend(config.outputs.iter().map(|t| (t.as_str(), "output")));
    wanted.extend(config.dlq_topic.iter().map(|t| (t.as_str(), "dead-letter")));
    for (topic, role) in wanted {
        if !exists(topic) {
            return Err(Failure::usage(format!(
                "{role} topic \"{topic}\" does not exist on {}; eoshost does not create topics: create it first \
                 (e.g. scripts/kafka topics create {topic} 6)",
                config.bootstrap_servers
            )));
        }
    }
    Ok(())
}
