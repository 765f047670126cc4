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
use crate::config::Config;
use crate::failure::Failure;
use crate::redact;
use crate::retry::Backoff;

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
        client.set("statistics.interval.ms", STATISTICS_INTERVAL_MS.to_string());
    }
    apply_overrides(&mut client, &config.librdkafka);
    client
}

/// How often librdkafka's statistics (the source of the lag gauge) are
/// emitted: often enough that a partition's lag shows within seconds of
/// its assignment.
const STATISTICS_INTERVAL_MS: u64 = 1000;

/// Whether the consumer's statistics run: they feed `eoshost_consumer_lag`
/// and the progress line's lag, so they run when either is on.
pub fn consumer_statistics(config: &Config) -> bool {
    config.metrics_addr.is_some() || config.progress_interval.is_some()
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
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_millis(500));
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
                backoff.wait(stop);
            }
            Err(error) => return Err(error),
        }
    }
}

/// The largest record the producer accepts (`message.max.bytes`).
pub fn max_message_bytes(librdkafka: &[(String, String)]) -> usize {
    crate::config::librdkafka_value(librdkafka, "message.max.bytes").unwrap_or(1_000_000)
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

/// A group-less consumer with the run's connection settings (`client`),
/// used only while waiting for the cluster.
fn probe(client: ClientConfig, bootstrap: &str, librdkafka: &[(String, String)]) -> Result<BaseConsumer<ConnectProbe>, Failure> {
    let context = ConnectProbe { bootstrap: bootstrap.to_owned(), refused: Mutex::new(None) };
    client
        .create_with_context(context)
        .map_err(|e| Failure::usage(format!("invalid Kafka settings: {}", describe_create_error_with(&e, librdkafka))))
}

/// A client creation error as it may be shown: librdkafka's configuration
/// errors quote the offending value, which may be a secret.
pub fn describe_create_error(error: &KafkaError, config: &Config) -> String {
    describe_create_error_with(error, &config.librdkafka)
}

fn describe_create_error_with(error: &KafkaError, librdkafka: &[(String, String)]) -> String {
    match error {
        KafkaError::ClientConfig(_, description, key, _) => {
            format!("{description} (-X {key}=...); check the property name and value against librdkafka's CONFIGURATION.md")
        }
        other => redact::known_secrets(&other.to_string(), librdkafka),
    }
}

/// Where a run's Kafka clients connect, and the topics it needs.
pub struct Cluster<'a> {
    pub bootstrap: &'a str,
    pub librdkafka: &'a [(String, String)],
    pub connect_timeout: Duration,
    /// Names the run's clients (`client.id`).
    pub name: &'a str,
    /// Each topic the run reads or writes, with its role in messages
    /// ("input", "output", "dead-letter").
    pub topics: Vec<(&'a str, &'a str)>,
}

/// [`Cluster`] for the pipeline and the sink: their inputs, outputs,
/// dead-letter topic and tables' topics.
pub fn await_cluster(config: &Config, stop: &AtomicBool) -> Result<bool, Failure> {
    let mut topics: Vec<(&str, &str)> = config.inputs.iter().map(|t| (t.as_str(), "input")).collect();
    topics.extend(config.outputs.iter().map(|t| (t.as_str(), "output")));
    topics.extend(config.dlq_topic.iter().map(|t| (t.as_str(), "dead-letter")));
    topics.extend(config.tables.iter().map(|t| (t.source.as_str(), "table")));
    let cluster = Cluster {
        bootstrap: &config.bootstrap_servers,
        librdkafka: &config.librdkafka,
        connect_timeout: config.connect_timeout,
        name: &config.group,
        topics,
    };
    cluster.wait(stop)
}

/// The client a table's follower reads with: the consumer's settings
/// (connection, `-X`) without a group.
pub fn table_reader_config(config: &Config) -> ClientConfig {
    let mut client = member_consumer_config(config, None, false);
    client.remove("group.id");
    client
}

/// A client with the run's connection settings only: bootstrap servers,
/// the CA-location defaults and every `-X` (TLS, SASL…), for the clients
/// beside the transactional producer and the group consumer (start-up
/// probe, admin, progress reader).
pub fn connection_config(bootstrap: &str, librdkafka: &[(String, String)], client_id: &str) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", bootstrap).set("client.id", client_id);
    apply_overrides(&mut client, librdkafka);
    client
}

impl Cluster<'_> {
    /// Waits until the cluster answers metadata, retrying with backoff, and
    /// checks that every topic eoshost reads or writes exists. A TLS handshake
    /// or authentication failure ends the wait at once (exit 2), naming the
    /// broker and librdkafka's cause. The probe is a client of its own: the
    /// pipeline's consumer owns the transaction, which needs the cluster first.
    /// `Ok(false)`: a stop came while waiting.
    /// Waits for the cluster and checks the topics (see above).
    pub fn wait(&self, stop: &AtomicBool) -> Result<bool, Failure> {
        let started = Instant::now();
        tracing::info!(bootstrap = %self.bootstrap, "waiting for Kafka");
        let client = connection_config(self.bootstrap, self.librdkafka, &format!("eoshost-probe-{}", self.name));
        let probe = probe(client, self.bootstrap, self.librdkafka)?;
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
        let metadata = loop {
            if stop.load(Ordering::Acquire) {
                return Ok(false);
            }
            let remaining = self.connect_timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(100));
            let answer = probe.fetch_metadata(None, remaining.min(PROBE_REQUEST));
            // Error events are delivered by poll; nothing else is queued on a
            // consumer that has no assignment.
            let _ = probe.poll(Duration::ZERO);
            if let Some(refused) = probe.context().refused() {
                return Err(Failure::usage(redact::known_secrets(&refused.message(), self.librdkafka)));
            }
            match answer {
                Ok(metadata) if !metadata.brokers().is_empty() => break metadata,
                Ok(_) => tracing::warn!("Kafka answered with no brokers; retrying"),
                Err(error) => tracing::warn!(bootstrap = %self.bootstrap, "cannot reach Kafka yet: {error}; retrying"),
            }
            if started.elapsed() >= self.connect_timeout {
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "cannot reach Kafka at {} after {:.0?}; check --bootstrap-servers and that the brokers are up \
                 (for a local broker: scripts/kafka start)",
                    self.bootstrap,
                    started.elapsed()
                )));
            }
            if !backoff.wait(stop) {
                return Ok(false);
            }
        };

        let exists = |name: &str| {
            metadata
                .topics()
                .iter()
                .any(|topic| topic.name() == name && topic.error().is_none() && !topic.partitions().is_empty())
        };
        for &(topic, role) in &self.topics {
            if !exists(topic) {
                return Err(Failure::usage(format!(
                    "{role} topic \"{topic}\" does not exist on {}; eoshost does not create topics: create it first \
                 (e.g. scripts/kafka topics create {topic} 6)",
                    self.bootstrap
                )));
            }
        }
        Ok(true)
    }
}
