//! Plugins and their instances: a [`Plugin`] is loaded, checked against the
//! world and pre-instantiated once; a [`PluginInstance`] is made from it (and
//! `init` called) in microseconds, and its traps are classified here. The
//! [`super::Sandbox`] (`sandbox.rs`) decides when an instance is thrown away.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::{Component, ComponentExportIndex, Func, HasSelf, Linker};
use wasmtime::{Store, Trap as WasmTrap};

use super::cache::{self, CodeOrigin};
use super::contract::{
    InputRecord, OutputRecord, PluginError, StatefulTableTransformer as Transformer,
    StatefulTableTransformerPre as TransformerPre, TimerOutput, WitClock, timer_world,
};
use super::engine::PluginEngine;
use super::inspect::{BATCH_EXPORT, BATCH_FUNC, STATE_IMPORT, TABLES_IMPORT, TIMER_EXPORT, TIMER_FUNC, TIMERS_IMPORT, describe};
use super::wasi::SandboxState;
use crate::state::SharedState;
use crate::state::Timer;
use crate::tables::Tables;

/// Longest line of plugin output copied into the host's log.
const MAX_LOG_LINE_CHARS: usize = 500;

/// Why a plugin could not be loaded. Every message names the file and says
/// what to do; the caller exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read plugin {path}: {source}; check the --plugin path")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a WebAssembly file; --plugin takes a component built for wasm32-wasip2")]
    NotWasm { path: PathBuf },
    #[error(
        "{path} is a core WebAssembly module, not a component; build it with --target wasm32-wasip2 \
         or wrap it with `wasm-tools component new`"
    )]
    CoreModule { path: PathBuf },
    #[error("{path} is not a valid WebAssembly component: {reason:#}")]
    Invalid { path: PathBuf, reason: anyhow::Error },
    #[error(
        "{path} does not implement the eoshost:transform/transformer world: {reason:#}; \
         run `eoshost inspect --plugin {path}` to compare its imports and exports with the world"
    )]
    WrongWorld { path: PathBuf, reason: anyhow::Error },
    #[error("plugin {path} refused its configuration: {message}; fix --plugin-config")]
    Config { path: PathBuf, message: String },
    #[error("plugin {path} failed while starting: {trap}")]
    InitTrapped { path: PathBuf, trap: Trap },
}

/// What `transform-batch` returns, as the host lifts it.
type BatchResults = Vec<Result<Vec<OutputRecord>, PluginError>>;
/// The typed `transform-batch`: the batch's records in, a result each out.
type BatchFunc<'a> = wasmtime::component::TypedFunc<(&'a [InputRecord],), (BatchResults,)>;
/// The typed `on-timer`: the timer's clock, key and time in, its outputs out.
type TimerFunc<'a> = wasmtime::component::TypedFunc<(WitClock, &'a [u8], i64), (Result<Vec<TimerOutput>, PluginError>,)>;

/// How a call ended abnormally. Labels are the `kind` of
/// `eoshost_plugin_traps_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// The plugin panicked, aborted or exited.
    Panic,
    /// The call ran past `--plugin-timeout-ms`.
    Timeout,
    /// The instance tried to grow past `--plugin-memory-mb`.
    Memory,
    /// The Wasm stack was exhausted.
    Stack,
    /// Anything else (an out-of-bounds access, a host-side failure).
    Other,
}

impl TrapKind {
    pub const ALL: [TrapKind; 5] = [TrapKind::Panic, TrapKind::Timeout, TrapKind::Memory, TrapKind::Stack, TrapKind::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            TrapKind::Panic => "panic",
            TrapKind::Timeout => "timeout",
            TrapKind::Memory => "memory",
            TrapKind::Stack => "stack",
            TrapKind::Other => "other",
        }
    }
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trap: the instance is gone, the record may succeed on a fresh one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} trap: {message}")]
pub struct Trap {
    pub kind: TrapKind,
    pub message: String,
}

/// How a `transform` call failed. The caller decides: a rejection is final
/// for the record; a trap may be retried on a fresh instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("rejected: {0}")]
    Rejected(String),
    #[error(transparent)]
    Trap(#[from] Trap),
}

/// A validated, pre-instantiated plugin: the expensive work done once.
pub struct Plugin {
    name: Arc<str>,
    path: PathBuf,
    engine: PluginEngine,
    pre: TransformerPre<SandboxState>,
    config: Vec<(String, String)>,
    code_origin: CodeOrigin,
    /// Whether the component imports the `state` interface.
    stateful: bool,
    /// The store its state calls reach ([`Plugin::attach_state`]).
    state: Option<SharedState>,
    /// Whether the component imports the `tables` interface.
    reads_tables: bool,
    /// The tables its lookups reach ([`Plugin::attach_tables`]).
    tables: Option<Tables>,
    /// `transform-batch` of the `batch` export, if the component has it
    /// (world `batch-transformer`).
    batch: Option<ComponentExportIndex>,
    /// `on-timer` of the `timer-handler` export, if the component has it
    /// (world `timer-transformer`).
    on_timer: Option<ComponentExportIndex>,
}

/// What kind of file a path holds, from its first eight bytes.
fn check_header(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    match bytes.get(..8) {
        Some([0x00, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00]) => Err(LoadError::CoreModule { path: path.into() }),
        Some([0x00, b'a', b's', b'm', _, _, 0x01, 0x00]) => Ok(()),
        _ => Err(LoadError::NotWasm { path: path.into() }),
    }
}

/// The linker every instance is made with: WASI preview 2 (restricted by
/// the sandbox's context) and the `log` and `state` imports.
fn linker(engine: &PluginEngine) -> anyhow::Result<Linker<SandboxState>> {
    let mut linker = Linker::new(engine.engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    Transformer::add_to_linker::<SandboxState, HasSelf<SandboxState>>(&mut linker, |state| state)?;
    timer_world::eoshost::transform::timers::add_to_linker::<SandboxState, HasSelf<SandboxState>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// Reads and compiles (or loads from the precompiled cache) the component
/// at `path`.
pub(super) fn read_component(engine: &PluginEngine, path: &Path) -> Result<(Component, CodeOrigin), LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Unreadable { path: path.into(), source })?;
    check_header(path, &bytes)?;
    cache::compile_cached(engine.engine(), engine.cache_dir(), &bytes)
        .map_err(|reason| LoadError::Invalid { path: path.into(), reason })
}

/// Checks `component` against the world and pre-instantiates it.
pub(super) fn link(engine: &PluginEngine, path: &Path, component: &Component) -> Result<TransformerPre<SandboxState>, LoadError> {
    let wrong_world = |reason| LoadError::WrongWorld { path: path.into(), reason };
    let report = describe(engine.engine(), component);
    if !report.problems.is_empty() {
        return Err(wrong_world(anyhow::anyhow!(report.problems.join("; "))));
    }
    let linker = linker(engine).map_err(|reason| LoadError::Invalid { path: path.into(), reason })?;
    let instance_pre = linker.instantiate_pre(component).map_err(|e| wrong_world(e.into()))?;
    TransformerPre::new(instance_pre).map_err(|e| wrong_world(e.into()))
}

impl Plugin {
    /// Reads, compiles (or loads from the precompiled cache), checks against
    /// the world and pre-instantiates the component at `path`, then makes one
    /// instance to run `init` with `config`, so bad configuration is refused
    /// at start rather than on the first record.
    pub fn load(engine: &PluginEngine, path: &Path, config: Vec<(String, String)>) -> Result<Plugin, LoadError> {
        let (component, code_origin) = read_component(engine, path)?;
        let pre = link(engine, path, &component)?;
        let imports = describe(engine.engine(), &component).imports;
        let reads_tables = imports.iter().any(|(name, _)| name == TABLES_IMPORT);
        let batch = component
            .get_export_index(None, BATCH_EXPORT)
            .and_then(|interface| component.get_export_index(Some(&interface), BATCH_FUNC));
        let on_timer = component
            .get_export_index(None, TIMER_EXPORT)
            .and_then(|interface| component.get_export_index(Some(&interface), TIMER_FUNC));
        // Timers are kept with the state: a plugin with timers needs the
        // store and the changelog even if it calls no state function.
        let stateful = on_timer.is_some() || imports.iter().any(|(name, _)| name == STATE_IMPORT || name == TIMERS_IMPORT);
        let name: Arc<str> = path.file_stem().map_or("plugin".into(), |s| s.to_string_lossy().into());
        // Init runs without a store or tables: state and table calls there trap.
        let plugin = Plugin {
            name,
            path: path.into(),
            engine: engine.clone(),
            pre,
            config,
            code_origin,
            stateful,
            state: None,
            reads_tables,
            tables: None,
            batch,
            on_timer,
        };
        match plugin.instantiate() {
            Ok(instance) => {
                if let Some(func) = instance.batch {
                    func.typed::<(&[InputRecord],), (BatchResults,)>(&instance.store).map_err(|reason| {
                        LoadError::WrongWorld {
                            path: path.into(),
                            reason: anyhow::Error::from(reason)
                                .context(format!("{BATCH_EXPORT} exports {BATCH_FUNC} with the wrong type")),
                        }
                    })?;
                }
                if let Some(func) = instance.on_timer {
                    func.typed::<(WitClock, &[u8], i64), (Result<Vec<TimerOutput>, PluginError>,)>(&instance.store).map_err(
                        |reason| LoadError::WrongWorld {
                            path: path.into(),
                            reason: anyhow::Error::from(reason)
                                .context(format!("{TIMER_EXPORT} exports {TIMER_FUNC} with the wrong type")),
                        },
                    )?;
                }
                Ok(plugin)
            }
            Err(InstantiateError::Config(message)) => Err(LoadError::Config { path: path.into(), message }),
            Err(InstantiateError::Trap(trap)) => Err(LoadError::InitTrapped { path: path.into(), trap }),
        }
    }

    /// The plugin's name: its file stem (`enrich` for `enrich.wasm`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the component imports the `state` or `timers` interface or
    /// exports `timer-handler` (worlds `stateful-transformer`,
    /// `timer-transformer`): it then needs a store and a changelog.
    pub fn is_stateful(&self) -> bool {
        self.stateful
    }

    /// Gives the plugin's state calls `state` (only a stateful plugin's
    /// instances get it).
    pub fn attach_state(&mut self, state: SharedState) {
        if self.stateful {
            self.state = Some(state);
        }
    }

    /// Whether the component imports the `tables` interface (worlds
    /// `table-transformer`, `stateful-table-transformer`): it then needs
    /// `--table`.
    pub fn reads_tables(&self) -> bool {
        self.reads_tables
    }

    /// Gives the plugin's table lookups `tables` (only a plugin that reads
    /// tables gets them).
    pub fn attach_tables(&mut self, tables: &Tables) {
        if self.reads_tables {
            self.tables = Some(tables.clone());
        }
    }

    /// Whether the component exports `transform-batch` (world
    /// `batch-transformer`).
    pub fn takes_batches(&self) -> bool {
        self.batch.is_some()
    }

    /// Whether the component exports `on-timer` (world `timer-transformer`).
    pub fn has_timers(&self) -> bool {
        self.on_timer.is_some()
    }

    /// The store this plugin's state calls reach, if it is stateful.
    pub fn state(&self) -> Option<&SharedState> {
        self.state.as_ref()
    }

    /// Whether the machine code came from the precompiled cache.
    pub fn code_origin(&self) -> CodeOrigin {
        self.code_origin
    }

    /// A fresh instance with `init` already called.
    pub fn instantiate(&self) -> Result<PluginInstance, InstantiateError> {
        let limits = self.engine.limits();
        let state = SandboxState::new(
            self.name.clone(),
            limits.memory_bytes,
            limits.output_bytes_per_call,
            self.state.clone(),
            self.tables.clone(),
        );
        let mut store = Store::new(self.engine.engine(), state);
        store.limiter(|state| &mut state.memory);
        store.set_epoch_deadline(limits.deadline_ticks());
        store.epoch_deadline_trap();
        let made = self.pre.instance_pre().instantiate(&mut store).and_then(|instance| {
            let bindings = Transformer::new(&mut store, &instance)?;
            let batch =
                self.batch.map(|index| instance.get_func(&mut store, index).expect("the component exports transform-batch"));
            let on_timer =
                self.on_timer.map(|index| instance.get_func(&mut store, index).expect("the component exports on-timer"));
            Ok((bindings, batch, on_timer))
        });
        let (bindings, batch, on_timer) = match made {
            Ok(made) => made,
            Err(error) => return Err(InstantiateError::Trap(classify(&error, &store))),
        };
        let mut instance = PluginInstance { store, bindings, batch, on_timer, deadline_ticks: limits.deadline_ticks() };
        instance.store.set_epoch_deadline(instance.deadline_ticks);
        let outcome = instance.bindings.call_init(&mut instance.store, &self.config);
        let result = match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(InstantiateError::Config(message)),
            Err(error) => Err(InstantiateError::Trap(classify(&error, &instance.store))),
        };
        instance.forward_output();
        result.map(|()| instance)
    }
}

/// Why a fresh instance could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantiateError {
    #[error("init refused the configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Trap(#[from] Trap),
}

/// One live instance. Used only through [`Sandbox`], which never calls it
/// again after a trap.
pub struct PluginInstance {
    store: Store<SandboxState>,
    bindings: Transformer,
    /// `transform-batch`, if the plugin exports it (its type checked at load).
    batch: Option<Func>,
    /// `on-timer`, if the plugin exports it (its type checked at load).
    on_timer: Option<Func>,
    deadline_ticks: u64,
}

impl PluginInstance {
    pub(super) fn transform(&mut self, record: &InputRecord) -> Result<Vec<OutputRecord>, CallError> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        let outcome = self.bindings.call_transform(&mut self.store, record);
        let result = match outcome {
            Ok(Ok(outputs)) => Ok(outputs),
            Ok(Err(PluginError::Rejected(reason))) => Err(CallError::Rejected(reason)),
            Err(error) => Err(CallError::Trap(classify(&error, &self.store))),
        };
        self.forward_output();
        result
    }

    /// Calls `transform-batch` with `records`: a result for each, in order.
    /// The call has the time budget of one call (`--plugin-timeout-ms`). `Err`
    /// when the call trapped or answered with the wrong number of results;
    /// the caller then makes a fresh instance and goes record by record.
    pub(super) fn transform_batch(&mut self, records: &[InputRecord]) -> Result<Vec<Result<Vec<OutputRecord>, CallError>>, Trap> {
        let func = self.batch.expect("transform_batch is called only on a plugin that takes batches");
        let typed: BatchFunc<'_> = func.typed(&self.store).map_err(|error| classify(&error, &self.store))?;
        self.store.set_epoch_deadline(self.deadline_ticks);
        let outcome = typed.call(&mut self.store, (records,)).map_err(|error| classify(&error, &self.store));
        self.forward_output();
        let (results,) = outcome?;
        if results.len() != records.len() {
            return Err(Trap {
                kind: TrapKind::Other,
                message: format!("transform-batch returned {} results for {} records", results.len(), records.len()),
            });
        }
        Ok(results
            .into_iter()
            .map(|result| result.map_err(|PluginError::Rejected(reason)| CallError::Rejected(reason)))
            .collect())
    }

    /// Calls `on-timer` for `timer`: its outputs, or why it failed.
    pub(super) fn on_timer(&mut self, timer: &Timer) -> Result<Vec<TimerOutput>, CallError> {
        let func = self.on_timer.expect("on_timer is called only on a plugin with timers");
        let typed: TimerFunc<'_> = func.typed(&self.store).map_err(|error| classify(&error, &self.store))?;
        self.store.set_epoch_deadline(self.deadline_ticks);
        let outcome = typed.call(&mut self.store, (timer.clock.into(), &timer.key, timer.time));
        // Classified before the output is forwarded: a trap's message ends
        // with what the plugin printed last.
        let result = match outcome {
            Ok((Ok(outputs),)) => Ok(outputs),
            Ok((Err(PluginError::Rejected(reason)),)) => Err(CallError::Rejected(reason)),
            Err(error) => Err(CallError::Trap(classify(&error, &self.store))),
        };
        self.forward_output();
        result
    }

    /// Sends what the plugin printed during the call to the host's log.
    fn forward_output(&mut self) {
        let state = self.store.data();
        for (stream, captured) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
            let (text, dropped) = captured.drain();
            let plugin = &*state.plugin_name;
            for line in text.lines().filter(|line| !line.is_empty()) {
                let line: String = line.chars().take(MAX_LOG_LINE_CHARS).collect();
                tracing::info!(target: "eoshost::plugin", plugin, stream, "{line}");
            }
            if dropped > 0 {
                tracing::warn!(target: "eoshost::plugin", plugin, stream, dropped, "plugin output over the per-call bound was dropped");
            }
        }
    }
}

/// Labels a failed call. A refused memory growth wins over the trap it
/// caused (an allocator abort, or an access past the end).
fn classify(error: &wasmtime::Error, store: &Store<SandboxState>) -> Trap {
    let state = store.data();
    let kind = if state.memory.denied_growth() {
        TrapKind::Memory
    } else {
        match error.downcast_ref::<WasmTrap>() {
            Some(WasmTrap::Interrupt) => TrapKind::Timeout,
            Some(WasmTrap::StackOverflow) => TrapKind::Stack,
            Some(WasmTrap::UnreachableCodeReached) => TrapKind::Panic,
            _ if error.downcast_ref::<wasmtime_wasi::I32Exit>().is_some() => TrapKind::Panic,
            _ => TrapKind::Other,
        }
    };
    let mut message = match error.downcast_ref::<WasmTrap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    // The plugin's own last words (a Rust panic message, a Python traceback
    // line) are the most useful part for the operator.
    if let Some(last) = state.stderr.peek_last_line() {
        message.push_str(": ");
        message.push_str(&last);
    }
    Trap { kind, message }
}
