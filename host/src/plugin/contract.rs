//! The plugin contract on the host side: Rust bindings generated from
//! `wit/transform.wit` (the single source of truth for every language), the
//! host's `log` import, and the output-topic allow-list that a plugin's
//! records are checked against.

use super::sandbox::SandboxState;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "transformer",
});

pub use self::eoshost::transform::log::Level;
pub use self::eoshost::transform::types::{Error as PluginError, Header};

impl self::eoshost::transform::types::Host for SandboxState {}

impl self::eoshost::transform::log::Host for SandboxState {
    fn log(&mut self, level: Level, message: String) {
        let plugin = &*self.plugin_name;
        match level {
            Level::Trace => tracing::trace!(target: "eoshost::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "eoshost::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "eoshost::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "eoshost::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "eoshost::plugin", plugin, "{message}"),
        }
    }
}

/// The topics a plugin may write to: `--output`, the first being the default
/// for records that name none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTopics {
    allowed: Vec<String>,
}

/// A plugin named a topic outside `--output`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the plugin wrote to topic \"{topic}\", which is not in --output ({allowed}); add it to --output or fix the plugin")]
pub struct ForbiddenTopic {
    pub topic: String,
    pub allowed: String,
}

impl OutputTopics {
    /// `topics` must not be empty: the first is the default output.
    pub fn new(topics: Vec<String>) -> Self {
        assert!(!topics.is_empty(), "OutputTopics needs a default topic");
        OutputTopics { allowed: topics }
    }

    pub fn default_topic(&self) -> &str {
        &self.allowed[0]
    }

    pub fn all(&self) -> &[String] {
        &self.allowed
    }

    /// The topic `record` goes to, or why it may not be written.
    pub fn resolve<'a>(&'a self, record: &'a OutputRecord) -> Result<&'a str, ForbiddenTopic> {
        match &record.topic {
            None => Ok(self.default_topic()),
            Some(topic) if self.allowed.iter().any(|allowed| allowed == topic) => Ok(topic),
            Some(topic) => Err(ForbiddenTopic { topic: topic.clone(), allowed: self.allowed.join(",") }),
        }
    }
}
