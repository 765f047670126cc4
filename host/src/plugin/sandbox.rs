//! The sandbox of one plugin: its live instance, thrown away after every
//! trap, here and only here — a trapped store cannot be re-entered, and an
//! instance that trapped is never called again. (What an instance can reach
//! is `wasi.rs`; its limits `limits.rs`.)

use std::time::Instant;

use super::contract::{InputRecord, OutputRecord, TimerOutput};
use super::instance::{CallError, InstantiateError, Plugin, PluginInstance, Trap, TrapKind};
use crate::state::Timer;

/// The live instance of a plugin, replaced after every trap.
pub struct Sandbox {
    plugin: Plugin,
    live: Option<PluginInstance>,
}

/// Whether the last call made a fresh instance first, and how long that took.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallStats {
    pub fresh_instance: Option<std::time::Duration>,
}

impl Sandbox {
    pub fn new(plugin: Plugin) -> Self {
        Sandbox { plugin, live: None }
    }

    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Makes the instance the next call will use, if there is none, so the
    /// cost of recovering from a trap is paid outside the record's call.
    pub fn ensure_instance(&mut self) -> Result<(), Trap> {
        if self.live.is_none() {
            let instance = self.plugin.instantiate().map_err(|error| match error {
                InstantiateError::Trap(trap) => trap,
                // init accepted this configuration when the plugin was loaded.
                InstantiateError::Config(message) => {
                    Trap { kind: TrapKind::Other, message: format!("init refused a configuration it accepted before: {message}") }
                }
            })?;
            self.live = Some(instance);
        }
        Ok(())
    }

    /// Calls `transform` on the live instance (making one if needed). After
    /// a trap the instance is dropped here, and only here. A stateful
    /// plugin's state calls reach the table of the record's partition and
    /// this plugin during the call; whether its writes stay is the caller's
    /// to say ([`crate::state::StateStore::record_completed`]).
    pub fn transform(&mut self, record: &InputRecord) -> Result<Vec<OutputRecord>, CallError> {
        self.call_in_partition(&record.topic, record.partition, |instance| instance.transform(record))
    }

    /// Runs `call` on the live instance (making one if needed) with the
    /// plugin's state and timer calls reaching the tables of input
    /// partition `topic`/`partition`; after a trap the instance is dropped.
    fn call_in_partition<T>(
        &mut self,
        topic: &str,
        partition: i32,
        call: impl FnOnce(&mut PluginInstance) -> Result<T, CallError>,
    ) -> Result<T, CallError> {
        self.ensure_instance()?;
        let instance = self.live.as_mut().expect("ensure_instance leaves a live instance");
        if let Some(state) = self.plugin.state() {
            state.lock().enter(topic, partition, self.plugin.name());
        }
        let outcome = call(instance);
        if let Some(state) = self.plugin.state() {
            state.lock().leave();
        }
        if let Err(CallError::Trap(_)) = &outcome {
            self.live = None;
        }
        outcome
    }

    /// Calls `transform-batch` with `records` on the live instance (making
    /// one if needed): a result for each record. After a trap the instance
    /// is dropped, as for [`Sandbox::transform`], and nothing is known of
    /// any record: the caller sends them through `transform` one by one.
    /// Only for a plugin that takes batches and keeps no state (its writes
    /// could not be kept or undone record by record).
    pub fn transform_batch(&mut self, records: &[InputRecord]) -> Result<Vec<Result<Vec<OutputRecord>, CallError>>, Trap> {
        debug_assert!(self.plugin.takes_batches() && !self.plugin.is_stateful());
        self.ensure_instance()?;
        let instance = self.live.as_mut().expect("ensure_instance leaves a live instance");
        let outcome = instance.transform_batch(records);
        if outcome.is_err() {
            self.live = None;
        }
        outcome
    }

    /// Calls `on-timer` for `timer` of input partition `topic`/`partition`
    /// on the live instance (making one if needed); its state and timer
    /// calls reach that partition's tables. After a trap the instance is
    /// dropped, as for [`Sandbox::transform`].
    pub fn on_timer(&mut self, topic: &str, partition: i32, timer: &Timer) -> Result<Vec<TimerOutput>, CallError> {
        self.call_in_partition(topic, partition, |instance| instance.on_timer(timer))
    }

    /// Like [`Sandbox::transform`], also saying how long making a fresh
    /// instance took when one was needed.
    pub fn transform_timed(&mut self, record: &InputRecord) -> (Result<Vec<OutputRecord>, CallError>, CallStats) {
        let mut stats = CallStats::default();
        if self.live.is_none() {
            let started = Instant::now();
            if let Err(trap) = self.ensure_instance() {
                return (Err(trap.into()), stats);
            }
            stats.fresh_instance = Some(started.elapsed());
        }
        (self.transform(record), stats)
    }
}
