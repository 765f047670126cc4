//! The plugin contract on the host side: Rust bindings generated from
//! `wit/transform.wit` (the single source of truth for every language), the
//! host's `log`, `state` and `tables` imports, and the output-topic
//! allow-list that a plugin's records are checked against. The bindings are
//! those of the `stateful-table-transformer` world, the superset of every
//! world: a component of any of them links (one that imports no state never
//! reaches the store, one that imports no tables never reads one). The
//! `timers` import and the `timer-handler` export's types come from the
//! `timer-transformer` world's bindings ([`timer_world`]), which share the
//! record types with these.

use super::wasi::SandboxState;
use crate::state::{Clock, Timer};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "stateful-table-transformer",
    // A state call can fail (outside transform, or past --state-max-mb), and
    // a table lookup (outside transform, or a table not given): the call
    // then traps.
    imports: { "eoshost:transform/state": trappable, "eoshost:transform/tables": trappable },
});

/// The bindings of the `timer-transformer` world, for its `timers` import
/// and the types of its `timer-handler` export (the export itself is looked
/// up by name, as it is optional).
pub mod timer_world {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "timer-transformer",
        // A timer call can fail (outside a call, or past --state-max-mb).
        imports: { "eoshost:transform/timers": trappable },
        with: {
            "eoshost:transform/types": super::eoshost::transform::types,
            "eoshost:transform/log": super::eoshost::transform::log,
            "eoshost:transform/state": super::eoshost::transform::state,
        },
    });
}

pub use self::eoshost::transform::log::Level;
pub use self::eoshost::transform::types::{Error as PluginError, Header};
pub use self::timer_world::eoshost::transform::timers::{Clock as WitClock, TimerOutput};

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

impl self::eoshost::transform::state::Host for SandboxState {
    fn get(&mut self, key: Vec<u8>) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.state()?.lock().get(&key)?)
    }

    fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> wasmtime::Result<()> {
        Ok(self.state()?.lock().set(key, value)?)
    }

    fn delete(&mut self, key: Vec<u8>) -> wasmtime::Result<()> {
        Ok(self.state()?.lock().delete(&key)?)
    }
}

impl self::timer_world::eoshost::transform::timers::Host for SandboxState {
    fn schedule(&mut self, clock: WitClock, key: Vec<u8>, time: i64) -> wasmtime::Result<()> {
        Ok(self.state()?.lock().schedule(&Timer { clock: clock.into(), key, time })?)
    }

    fn cancel(&mut self, clock: WitClock, key: Vec<u8>, time: i64) -> wasmtime::Result<()> {
        self.state()?.lock().cancel(&Timer { clock: clock.into(), key, time })?;
        Ok(())
    }

    fn stream_time(&mut self) -> wasmtime::Result<Option<i64>> {
        Ok(self.state()?.lock().stream_time()?)
    }

    fn wall_clock_time(&mut self) -> wasmtime::Result<i64> {
        Ok(self.state()?.lock().wall_clock_ms())
    }
}

impl From<WitClock> for Clock {
    fn from(clock: WitClock) -> Clock {
        match clock {
            WitClock::StreamTime => Clock::Stream,
            WitClock::WallClock => Clock::Wall,
        }
    }
}

impl From<Clock> for WitClock {
    fn from(clock: Clock) -> WitClock {
        match clock {
            Clock::Stream => WitClock::StreamTime,
            Clock::Wall => WitClock::WallClock,
        }
    }
}

impl self::eoshost::transform::tables::Host for SandboxState {
    fn get(&mut self, table: String, key: Vec<u8>) -> wasmtime::Result<Option<Vec<u8>>> {
        let tables = self.tables.as_ref().ok_or_else(|| {
            wasmtime::Error::msg("tables.get may be called only from transform: in init the tables are not loaded yet")
        })?;
        Ok(tables.get(&table, &key)?)
    }
}

impl SandboxState {
    fn state(&self) -> wasmtime::Result<&crate::state::SharedState> {
        self.state.as_ref().ok_or_else(|| {
            wasmtime::Error::msg(
                "this plugin uses the state or timers interface, which only the Kafka pipeline and `eoshost test` \
                 provide (not --sink postgres or the relay)",
            )
        })
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
