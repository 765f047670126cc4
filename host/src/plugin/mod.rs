//! The plugin runtime: everything on the WebAssembly side of eoshost. The
//! engine and its limits (`engine`, `limits`), what an instance may reach
//! (`sandbox`), the WIT contract (`contract`), instance lifecycle and trap
//! classification (`instance`), chains of plugins (`chain`), the precompiled
//! cache (`cache`) and the world check behind `eoshost inspect` (`inspect`).

mod cache;
mod chain;
mod contract;
mod engine;
mod inspect;
mod instance;
mod limits;
mod sandbox;

pub use cache::CodeOrigin;
pub use chain::{Chain, PluginSpec, assign_config};
pub use contract::{ForbiddenTopic, Header, InputRecord, OutputRecord, OutputTopics};
pub use engine::{EPOCH_TICK, PluginEngine, SandboxLimits};
pub use inspect::{WORLD, WorldReport};
pub use instance::{CallError, CallStats, InstantiateError, LoadError, Plugin, PluginInstance, Sandbox, Trap, TrapKind, inspect};
