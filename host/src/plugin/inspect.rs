//! The world check behind `eoshost inspect` and every plugin load: lists a
//! component's imports and exports and names what does not fit the
//! `eoshost:transform/transformer` world — a missing or mistyped export, an
//! import the host does not provide.

use std::fmt::Write as _;

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::engine::PluginEngine;
use super::instance::{LoadError, link, read_component};

/// The world plugins implement, as `inspect` prints it.
pub const WORLD: &str = "eoshost:transform/transformer@0.1.0";
/// The interface a stateful plugin imports (world `stateful-transformer`).
pub const STATE_IMPORT: &str = "eoshost:transform/state@0.1.0";
/// The interface a plugin that joins with tables imports (worlds
/// `table-transformer`, `stateful-table-transformer`).
pub const TABLES_IMPORT: &str = "eoshost:transform/tables@0.1.0";
/// The interface a plugin that takes records in batches exports (world
/// `batch-transformer`), and its function.
pub const BATCH_EXPORT: &str = "eoshost:transform/batch@0.1.0";
pub const BATCH_FUNC: &str = "transform-batch";
/// The interface a plugin with timers imports, and the one it exports, with
/// its function (world `timer-transformer`).
pub const TIMERS_IMPORT: &str = "eoshost:transform/timers@0.1.0";
pub const TIMER_EXPORT: &str = "eoshost:transform/timer-handler@0.1.0";
pub const TIMER_FUNC: &str = "on-timer";
/// The non-WASI imports the host provides: the log function, the state,
/// tables and timers interfaces, and the type-only interface a component
/// imports to name the record types.
const HOST_IMPORTS: [&str; 5] =
    ["eoshost:transform/log@0.1.0", STATE_IMPORT, TABLES_IMPORT, TIMERS_IMPORT, "eoshost:transform/types@0.1.0"];
/// Exports the world requires.
const REQUIRED_EXPORTS: [&str; 2] = ["init", "transform"];

/// A component's imports and exports, and what does not fit the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldReport {
    pub imports: Vec<(String, &'static str)>,
    pub exports: Vec<(String, &'static str)>,
    pub problems: Vec<String>,
}

fn kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "func",
        ComponentItem::CoreFunc(_) => "core func",
        ComponentItem::Module(_) => "module",
        ComponentItem::Component(_) => "component",
        ComponentItem::ComponentInstance(_) => "instance",
        ComponentItem::Type(_) => "type",
        ComponentItem::Resource(_) => "resource",
    }
}

/// Lists `component`'s imports and exports and checks them against the world.
pub fn describe(engine: &Engine, component: &Component) -> WorldReport {
    let ty = component.component_type();
    let imports: Vec<_> = ty.imports(engine).map(|(name, item)| (name.to_owned(), kind(&item.ty))).collect();
    let exports: Vec<_> = ty.exports(engine).map(|(name, item)| (name.to_owned(), kind(&item.ty))).collect();
    let mut problems = Vec::new();
    for required in REQUIRED_EXPORTS {
        match exports.iter().find(|(name, _)| name == required) {
            None => problems.push(format!("missing export `{required}`")),
            Some((_, "func")) => {}
            Some((_, other)) => problems.push(format!("export `{required}` is a {other}, not a func")),
        }
    }
    for (name, _) in &imports {
        let provided = HOST_IMPORTS.contains(&name.as_str()) || name.starts_with("wasi:");
        if !provided {
            problems.push(format!(
                "imports `{name}`, which eoshost does not provide (it provides {} and WASI 0.2)",
                HOST_IMPORTS.join(", ")
            ));
        }
    }
    WorldReport { imports, exports, problems }
}

impl WorldReport {
    /// The report as `eoshost inspect` prints it.
    pub fn render(&self, plugin: &str) -> String {
        let mut out = String::new();
        let verdict = if self.problems.is_empty() { "ok" } else { "MISMATCH" };
        let _ = writeln!(out, "plugin: {plugin}");
        let _ = writeln!(out, "world:  {WORLD} ({verdict})");
        if self.imports.iter().any(|(name, _)| name == STATE_IMPORT) {
            let _ = writeln!(out, "state:  imports {STATE_IMPORT} (stateful: needs a changelog topic, --state-topic)");
        }
        if self.exports.iter().any(|(name, _)| name == BATCH_EXPORT) {
            let _ =
                writeln!(out, "batch:  exports {BATCH_EXPORT} (takes records in batches when it runs alone and keeps no state)");
        }
        if self.exports.iter().any(|(name, _)| name == TIMER_EXPORT) {
            let _ = writeln!(
                out,
                "timers: exports {TIMER_EXPORT} (keeps timers with its state: needs a changelog topic, --state-topic)"
            );
        }
        if self.imports.iter().any(|(name, _)| name == TABLES_IMPORT) {
            let _ = writeln!(out, "tables: imports {TABLES_IMPORT} (reads tables: give each with --table NAME=TOPIC)");
        }
        let _ = writeln!(out, "exports:");
        for (name, kind) in &self.exports {
            let _ = writeln!(out, "  {name} ({kind})");
        }
        let _ = writeln!(out, "imports:");
        for (name, kind) in &self.imports {
            let _ = writeln!(out, "  {name} ({kind})");
        }
        for problem in &self.problems {
            let _ = writeln!(out, "problem: {problem}");
        }
        out
    }
}

/// The report `eoshost inspect` prints: the component's imports and exports,
/// and every way it does not fit the world (including mistyped functions).
pub fn inspect(engine: &PluginEngine, path: &Path) -> Result<WorldReport, LoadError> {
    let (component, _) = read_component(engine, path)?;
    let mut report = describe(engine.engine(), &component);
    if report.problems.is_empty()
        && let Err(LoadError::WrongWorld { reason, .. }) = link(engine, path, &component)
    {
        report.problems.push(format!("{reason:#}"));
    }
    Ok(report)
}
