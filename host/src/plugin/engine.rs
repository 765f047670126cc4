//! The one wasmtime `Engine` of the process, narrowed to what plugins need:
//! the component model, epoch interruption driven by a ticker thread (the
//! wall-clock budget of a call), a pooling allocator sized for a handful of
//! live instances, the memory cap every instance gets, and (for profiling,
//! `EOSHOST_PERF_MAP=1`) a perf map of the plugins' machine code.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::limits::{EPOCH_TICK, SandboxLimits};

/// The process's wasmtime engine, the limits it was built for, and where
/// it keeps precompiled plugins.
#[derive(Clone)]
pub struct PluginEngine {
    engine: Engine,
    limits: SandboxLimits,
    cache_dir: Option<PathBuf>,
    _ticker: Arc<EpochTicker>,
}

impl PluginEngine {
    /// Builds the engine and starts its epoch ticker. Precompiled plugins
    /// are kept in the directory the environment names
    /// ([`crate::config::environment::plugin_cache_dir`]).
    pub fn new(limits: SandboxLimits) -> anyhow::Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        // A pipeline holds one live instance, plus one being built after a
        // trap; tests and benchmarks hold a few more. Components from
        // componentize-py and componentize-js link many core modules.
        pool.total_component_instances(16)
            .total_core_instances(16 * 48)
            .max_core_instances_per_component(48)
            .total_memories(64)
            .max_memories_per_component(8)
            .total_tables(256)
            .max_tables_per_component(32)
            .table_elements(200_000)
            .max_core_instance_size(8 << 20)
            .max_component_instance_size(8 << 20)
            .max_memory_size(limits.memory_bytes)
            .max_unused_warm_slots(4);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.stack_bytes)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if crate::config::environment::perf_map() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(anyhow::Error::from).context("could not configure the WebAssembly engine")?;
        let ticker = EpochTicker::start(&engine);
        Ok(PluginEngine { engine, limits, cache_dir: crate::config::environment::plugin_cache_dir(), _ticker: Arc::new(ticker) })
    }

    /// Keeps precompiled plugins in `dir` (`None`: compile every time)
    /// instead of the directory from the environment.
    pub fn with_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn limits(&self) -> SandboxLimits {
        self.limits
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is gone.
/// It holds only a weak reference, so it never keeps an engine alive.
struct EpochTicker;

impl EpochTicker {
    fn start(engine: &Engine) -> Self {
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("eoshost-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawning the epoch ticker thread");
        EpochTicker
    }
}
