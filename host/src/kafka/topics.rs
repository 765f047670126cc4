//! The compacted topics eoshost keeps for itself — a stateful plugin's
//! changelog (`--state-topic`) and the outbox relay's progress topic:
//! created when missing (with the cluster's replication factor and
//! `min.insync.replicas`), checked when present (compacted, enough
//! partitions). Every other topic is the user's: eoshost never creates one.
//! Every refusal names the topic and the option that names another.

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use crate::failure::Failure;

/// Bound on each admin request.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A compacted topic of eoshost's own, as it must be.
pub struct OwnTopic<'a> {
    pub name: &'a str,
    /// What it is, in messages: "state topic", "progress topic".
    pub role: &'a str,
    /// The option that names another one: "--state-topic".
    pub option: &'a str,
    /// Partitions it is created with, and the fewest it may have.
    pub partitions: i32,
    /// Topic settings besides `cleanup.policy=compact`.
    pub settings: &'a [(&'a str, String)],
}

/// An admin client built from the pipeline's connection settings.
pub struct Admin {
    admin: AdminClient<DefaultClientContext>,
    options: AdminOptions,
}

impl Admin {
    pub fn new(client: &ClientConfig) -> Result<Admin, Failure> {
        let admin = client.create().map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot create a Kafka admin client: {e}")))?;
        let options = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT)).operation_timeout(Some(ADMIN_TIMEOUT));
        Ok(Admin { admin, options })
    }

    /// The partition count of `topic`, `None` when it does not exist.
    pub fn partitions(&self, topic: &str) -> Result<Option<i32>, Failure> {
        let metadata = self
            .admin
            .inner()
            .fetch_metadata(Some(topic), ADMIN_TIMEOUT)
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the metadata of topic \"{topic}\": {e}")))?;
        Ok(metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
            .map(|t| t.partitions().len() as i32))
    }

    /// Creates `topic` when missing and checks it: at least
    /// `topic.partitions` partitions, compacted. Returns its partition count.
    pub fn ensure_compacted(&self, topic: &OwnTopic<'_>) -> Result<i32, Failure> {
        let OwnTopic { name, role, option, partitions, .. } = *topic;
        let existing = self.partitions(name)?;
        if existing.is_none() {
            // Replication factor -1: the cluster's default.replication.factor;
            // min.insync.replicas unset: the cluster's.
            let mut new = NewTopic::new(name, partitions, TopicReplication::Fixed(-1)).set("cleanup.policy", "compact");
            for (key, value) in topic.settings {
                new = new.set(key, value);
            }
            let results = block_on(self.admin.create_topics([&new], &self.options))
                .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot create the {role} \"{name}\": {e}")))?;
            for result in results {
                match result {
                    Ok(_) => tracing::info!(topic = name, partitions, "created the {role} (compacted)"),
                    // Another instance created it meanwhile: checked below.
                    Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((_, code)) => {
                        return Err(Failure::usage(format!(
                            "cannot create the {role} \"{name}\": {code}; create it yourself (cleanup.policy=compact, \
                             {partitions} partitions) or name another with {option}"
                        )));
                    }
                }
            }
        }
        let found = match existing {
            Some(found) => found,
            None => self.wait_for(name, role)?,
        };
        if found < partitions {
            return Err(Failure::usage(format!(
                "the {role} \"{name}\" has {found} partitions, but needs {partitions}; add partitions to it \
                 (kafka-topics --alter --partitions {partitions}) or name another with {option}"
            )));
        }
        let described = block_on(self.admin.describe_configs([&ResourceSpecifier::Topic(name)], &self.options))
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the configuration of the {role} \"{name}\": {e}")))?;
        for resource in described {
            let resource = resource.map_err(|code| {
                Failure::Fatal(anyhow::anyhow!("cannot read the configuration of the {role} \"{name}\": {code}"))
            })?;
            let policy = resource.get("cleanup.policy").and_then(|entry| entry.value.clone()).unwrap_or_default();
            if !policy.split(',').any(|p| p.trim() == "compact") {
                return Err(Failure::usage(format!(
                    "the {role} \"{name}\" has cleanup.policy={policy}, but it must be compacted (or what it keeps \
                     would be deleted with old segments): set cleanup.policy=compact on it (kafka-configs --alter \
                     --add-config cleanup.policy=compact) or name another with {option}"
                )));
            }
        }
        Ok(found)
    }

    /// Waits until a just-created topic shows in the metadata.
    fn wait_for(&self, topic: &str, role: &str) -> Result<i32, Failure> {
        let started = Instant::now();
        loop {
            if let Some(found) = self.partitions(topic)? {
                return Ok(found);
            }
            if started.elapsed() > ADMIN_TIMEOUT {
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "the {role} \"{topic}\" was created but does not show in the metadata after {ADMIN_TIMEOUT:?}; \
                     check the brokers' health and restart eoshost"
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(future),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime for admin requests")
            .block_on(future),
    }
}
