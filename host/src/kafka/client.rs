//! Building the Kafka clients with the settings exactly-once needs, waiting
//! for the cluster at start (and refusing to wait on a broker that rejects
//! the TLS handshake or the credentials), and checking that every topic
//! exists (eoshost never creates topics).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::TopicPartitionList;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;

use super::broker_errors::{Refusal, refusal};
use super::membership::Membership;
use super::secrets;
use crate::config::Config;
use crate::failure::Failure;

/// The longest single metadata request while waiting for the cluster: short,
/// so that a refusal reported meanwhile ends the wait within seconds.
const PROBE_REQUEST: Duration = Duration::from_secs(1);

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
    apply_overrides(&mut client, &config.librdkafka);
    client
}

/// The producer side: idempotent, acks=all, transactional, with the
/// linger and retry backoff of [`crate::defaults`]; `librdkafka` (`-X`)
/// last. The pipeline's producer and the relay's are built from this one
/// place, so both get the same exactly-once settings and commit timings.
pub fn producer_config(bootstrap_servers: &str, librdkafka: &[(String, String)], transactional_id: &str) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", bootstrap_servers)
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("transaction.timeout.ms", crate::defaults::TRANSACTION_TIMEOUT_MS.to_string())
        .set("linger.ms", crate::defaults::PRODUCER_LINGER_MS.to_string())
        .set("retry.backoff.ms", crate::defaults::PRODUCER_RETRY_BACKOFF_MS.to_string())
        .set("queue.buffering.max.kbytes", "65536")
        .set("client.id", format!("eoshost-producer-{transactional_id}"));
    apply_overrides(&mut client, librdkafka);
    client
}

/// `-X` properties, given to both clients (librdkafka ignores, with a
/// warning, what does not apply to one of them), after the CA-location
/// defaults the compiled-in OpenSSL needs.
fn apply_overrides(client: &mut ClientConfig, librdkafka: &[(String, String)]) {
    for (key, value) in super::librdkafka::ca_location_defaults(librdkafka) {
        client.set(key, value);
    }
    for (key, value) in librdkafka {
        client.set(key, value);
    }
}

/// How long a transaction may stay open before the broker aborts it: the
/// last `-X transaction.timeout.ms`, else [`crate::defaults`]'s, as
/// [`producer_config`] sets it.
pub fn transaction_timeout(config: &Config) -> Duration {
    Duration::from_millis(config.librdkafka_value("transaction.timeout.ms").unwrap_or(crate::defaults::TRANSACTION_TIMEOUT_MS))
}

/// Bound on one committed-offset request.
const OFFSET_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The group's committed offsets of `partitions`. Under `read_committed`
/// librdkafka asks with `require_stable`, so a transaction that commits
/// offsets there has completed first. Retried, a partition's own error
/// included, while the coordinator moves or loads, for up to `patience`;
/// `Ok(None)` once a stop is requested. The rewind after an abort and the
/// state restore both fetch through here.
pub fn committed_offsets<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    partitions: &TopicPartitionList,
    patience: Duration,
    stop: &AtomicBool,
) -> Result<Option<TopicPartitionList>, KafkaError> {
    let started = Instant::now();
    loop {
        let fetched =
            consumer.committed_offsets(partitions.clone(), OFFSET_FETCH_TIMEOUT).and_then(|committed| {
                match committed.elements().iter().find_map(|e| e.error().err()) {
                    Some(error) => Err(error),
                    None => Ok(committed),
                }
            });
        match fetched {
            Ok(committed) => return Ok(Some(committed)),
            Err(_) if stop.load(Ordering::Acquire) => return Ok(None),
            Err(error) if started.elapsed() < patience => {
                tracing::warn!("fetching committed offsets failed, retrying: {error}");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(error) => return Err(error),
        }
    }
}

/// The largest record the producer accepts (`message.max.bytes`).
pub fn max_message_bytes(config: &Config) -> usize {
    config.librdkafka_value("message.max.bytes").unwrap_or(1_000_000)
}

/// The start-up probe's context: keeps the first TLS or authentication
/// refusal librdkafka reports (it retries them for ever and never returns
/// them from a call).
struct ConnectProbe {
    bootstrap: String,
    refused: Mutex<Option<Refusal>>,
}

impl ClientContext for ConnectProbe {
    fn error(&self, error: KafkaError, reason: &str) {
        match refusal(&error, reason, &self.bootstrap) {
            Some(found) => {
                self.refused.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(found);
            }
            None => tracing::debug!("librdkafka: {error}: {reason}"),
        }
    }
}

impl ConsumerContext for ConnectProbe {}

impl ConnectProbe {
    fn refused(&self) -> Option<Refusal> {
        self.refused.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A group-less consumer with the pipeline's connection settings, used only
/// while waiting for the cluster.
fn probe(config: &Config) -> Result<BaseConsumer<ConnectProbe>, Failure> {
    let mut client = member_consumer_config(config, None, false);
    client.remove("group.id");
    client.set("client.id", format!("eoshost-probe-{}", config.group));
    let context = ConnectProbe { bootstrap: config.bootstrap_servers.clone(), refused: Mutex::new(None) };
    client
        .create_with_context(context)
        .map_err(|e| Failure::usage(format!("invalid Kafka settings: {}", describe_create_error(&e, config))))
}

/// A client creation error as it may be shown: librdkafka's configuration
/// errors quote the offending value, which may be a secret.
pub fn describe_create_error(error: &KafkaError, config: &Config) -> String {
    match error {
        KafkaError::ClientConfig(_, description, key, _) => {
            format!("{description} (-X {key}=...); check the property name and value against librdkafka's CONFIGURATION.md")
        }
        other => secrets::redact_text(&other.to_string(), &config.librdkafka),
    }
}

/// Waits until the cluster answers metadata, retrying with backoff, and
/// checks that every topic eoshost reads or writes exists. A TLS handshake
/// or authentication failure ends the wait at once (exit 2), naming the
/// broker and librdkafka's cause. The probe is a client of its own: the
/// pipeline's consumer owns the transaction, which needs the cluster first.
pub fn await_cluster(config: &Config) -> Result<(), Failure> {
    let started = Instant::now();
    let probe = probe(config)?;
    let mut backoff = Duration::from_millis(200);
    let metadata = loop {
        let remaining = config.connect_timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(100));
        let answer = probe.fetch_metadata(None, remaining.min(PROBE_REQUEST));
        // Error events are delivered by poll; nothing else is queued on a
        // consumer that has no assignment.
        let _ = probe.poll(Duration::ZERO);
        if let Some(refused) = probe.context().refused() {
            return Err(Failure::usage(secrets::redact_text(&refused.message(), &config.librdkafka)));
        }
        match answer {
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
        backoff = (backoff * 2).min(Duration::from_secs(2));
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
