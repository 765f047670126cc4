//! The plugin runtime: everything on the WebAssembly side of eoshost. The
//! engine and its limits (`engine`, `limits`), what an instance may reach
//! (`wasi`), the WIT contract (`contract`), plugins, instances and trap
//! classification (`instance`), the sandbox that throws a trapped instance
//! away (`sandbox`), chains of plugins (`chain`), the precompiled
//! cache (`cache`) and the world check behind `eoshost inspect` (`inspect`).

mod cache;
mod chain;
mod contract;
mod engine;
mod inspect;
mod instance;
mod limits;
mod sandbox;
mod wasi;

pub use cache::CodeOrigin;
pub use chain::{Chain, PluginSpec, assign_config, chain_paths};
pub use contract::{ForbiddenTopic, Header, InputRecord, OutputRecord, OutputTopics, TimerOutput};
pub use engine::PluginEngine;
pub use inspect::{WORLD, WorldReport, inspect};
pub use instance::{CallError, InstantiateError, LoadError, Plugin, PluginInstance, Trap, TrapKind};
pub use limits::{EPOCH_TICK, SandboxLimits};
pub use sandbox::{CallStats, Sandbox};
