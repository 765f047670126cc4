//! A chain of plugins (`--plugin a.wasm --plugin b.wasm …`): which plugin
//! each `--plugin-config` pair belongs to, and running one input record
//! through them all — every output of one plugin becomes an input of the
//! next (with the source record's topic, partition, offset and timestamp,
//! so a stateful plugin anywhere in the chain sees the source partition's
//! state). The last plugin's outputs, and their topic choice, are what is
//! written. A trap or a rejection anywhere is the source record's, and
//! names the plugin. Each plugin has its own [`Sandbox`]: its own instance,
//! limits and, if stateful, its own state.

use std::path::{Path, PathBuf};

use super::contract::{InputRecord, OutputRecord, TimerOutput};
use super::engine::PluginEngine;
use super::instance::{CallError, Plugin, Trap};
use super::limits::SandboxLimits;
use super::sandbox::Sandbox;
use crate::failure::Failure;
use crate::state::{SharedState, Timer};
use crate::tables::Tables;

/// One plugin of a chain as configured: its file and its `init` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    pub path: PathBuf,
    pub config: Vec<(String, String)>,
}

impl PluginSpec {
    /// The plugin's name: its file stem, as in logs, dead letters and state.
    pub fn name(&self) -> String {
        stem(&self.path)
    }
}

/// The plugins' files in chain order, as logs show them: `a.wasm -> b.wasm`.
pub fn chain_paths(specs: &[PluginSpec]) -> String {
    specs.iter().map(|p| p.path.display().to_string()).collect::<Vec<_>>().join(" -> ")
}

fn stem(path: &Path) -> String {
    path.file_stem().map_or("plugin".into(), |s| s.to_string_lossy().into_owned())
}

/// Gives each plugin of the chain its `--plugin-config` pairs. With one
/// plugin, every pair is its own (`NAME:key=value` naming it is accepted
/// too). In a chain, each pair must name its plugin by file stem:
/// `--plugin-config router:inventory_topic=stock`. Plugins of a chain must
/// have distinct names (their state and error messages are told apart by
/// name).
pub fn assign_config(paths: &[PathBuf], pairs: Vec<(String, String)>) -> Result<Vec<PluginSpec>, String> {
    let names: Vec<String> = paths.iter().map(|p| stem(p)).collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(format!(
                "two plugins of the chain are named \"{name}\" (the file stem): give each a distinct file name, since \
                 --plugin-config, state and error messages tell them apart by name"
            ));
        }
    }
    let mut specs: Vec<PluginSpec> = paths.iter().map(|path| PluginSpec { path: path.clone(), config: Vec::new() }).collect();
    for (key, value) in pairs {
        let named = key.split_once(':').and_then(|(name, rest)| names.iter().position(|n| n == name).map(|i| (i, rest)));
        match named {
            Some((i, rest)) if !rest.is_empty() => specs[i].config.push((rest.to_owned(), value)),
            _ if specs.len() == 1 => specs[0].config.push((key, value)),
            _ => {
                return Err(format!(
                    "--plugin-config {key}={value} does not name a plugin of the chain ({}); write it as \
                     --plugin-config NAME:{key}={value}",
                    names.join(", ")
                ));
            }
        }
    }
    Ok(specs)
}

/// The live chain: one sandbox per plugin, in order.
pub struct Chain {
    links: Vec<Sandbox>,
    name: String,
}

impl Chain {
    /// Loads every plugin of `specs` (one engine with `limits`), the one way
    /// every mode loads plugins. When any plugin is stateful, `state` makes
    /// the one store the chain's stateful plugins share (each with its own
    /// tables), returned beside the chain. Plugins that import `tables` read
    /// `tables` (filled by the caller before the first record). A plugin that
    /// cannot be loaded or refuses its configuration, or reads tables when
    /// none is given, is a usage error (exit 2).
    pub fn load(
        specs: &[PluginSpec],
        limits: SandboxLimits,
        state: impl FnOnce() -> SharedState,
        tables: &Tables,
    ) -> Result<(Chain, Option<SharedState>), Failure> {
        let engine = PluginEngine::new(limits).map_err(Failure::Fatal)?;
        let mut plugins = Vec::with_capacity(specs.len());
        for spec in specs {
            let mut plugin = Plugin::load(&engine, &spec.path, spec.config.clone()).map_err(|e| Failure::usage(e.to_string()))?;
            if plugin.reads_tables() && tables.is_empty() {
                return Err(Failure::usage(format!(
                    "plugin {} reads tables (it imports the tables interface) but no --table was given; add --table \
                     NAME=TOPIC for each table it reads (see its documentation for the names; eoshost relay reads no tables)",
                    spec.path.display()
                )));
            }
            plugin.attach_tables(tables);
            plugins.push(plugin);
        }
        if let Some(early) = plugins.iter().rev().skip(1).find(|plugin| plugin.has_timers()) {
            return Err(Failure::usage(format!(
                "plugin {} has timers (it exports timer-handler) but is not the last of the chain; put it last, so that \
                 what its timers write is what the chain writes",
                early.path().display()
            )));
        }
        let state = plugins.iter().any(Plugin::is_stateful).then(state);
        if let Some(state) = &state {
            for plugin in &mut plugins {
                plugin.attach_state(state.clone());
            }
        }
        Ok((Chain::new(plugins.into_iter().map(Sandbox::new).collect()), state))
    }

    /// `links` must not be empty.
    pub fn new(links: Vec<Sandbox>) -> Self {
        assert!(!links.is_empty(), "a chain has at least one plugin");
        let name = links.iter().map(|s| s.plugin().name().to_owned()).collect::<Vec<_>>().join(",");
        Chain { links, name }
    }

    /// The plugins' names, comma-separated (one name for a single plugin).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn links(&self) -> &[Sandbox] {
        &self.links
    }

    /// Makes every plugin's instance ready outside a record's call.
    pub fn ensure_instances(&mut self) -> Result<(), Trap> {
        for link in &mut self.links {
            link.ensure_instance()?;
        }
        Ok(())
    }

    /// Whether [`Chain::transform_batch`] may be used: one plugin, which
    /// exports `transform-batch` and keeps no state.
    pub fn takes_batches(&self) -> bool {
        match self.links.as_slice() {
            [only] => only.plugin().takes_batches() && !only.plugin().is_stateful(),
            _ => false,
        }
    }

    /// Runs `records` through the chain's one plugin in one call (see
    /// [`Chain::takes_batches`]): a result for each record, or the trap that
    /// ended the call (then nothing is known of any record).
    pub fn transform_batch(&mut self, records: &[InputRecord]) -> Result<Vec<Result<Vec<OutputRecord>, CallError>>, Trap> {
        assert!(self.takes_batches(), "transform_batch on a chain that does not take batches");
        self.links[0].transform_batch(records)
    }

    /// The names of the plugins with timers (at most the last one).
    pub fn timer_plugins(&self) -> Vec<String> {
        self.links.iter().filter(|link| link.plugin().has_timers()).map(|link| link.plugin().name().to_owned()).collect()
    }

    /// Fires `timer` of plugin `plugin` (one of [`Chain::timer_plugins`])
    /// for input partition `topic`/`partition`: its outputs are what the
    /// chain writes (the plugin is the last).
    pub fn on_timer(&mut self, plugin: &str, topic: &str, partition: i32, timer: &Timer) -> Result<Vec<TimerOutput>, CallError> {
        let chained = self.links.len() > 1;
        let link =
            self.links.iter_mut().find(|link| link.plugin().name() == plugin).expect("timers belong to a plugin of the chain");
        link.on_timer(topic, partition, timer).map_err(|e| blame(chained, link, e))
    }

    /// Runs `record` through every plugin in order. Errors name the plugin
    /// when there is more than one.
    pub fn transform(&mut self, record: &InputRecord) -> Result<Vec<OutputRecord>, CallError> {
        let chained = self.links.len() > 1;
        let (first, rest) = self.links.split_first_mut().expect("a chain has at least one plugin");
        let mut outputs = first.transform(record).map_err(|e| blame(chained, first, e))?;
        for link in rest {
            let mut next = Vec::with_capacity(outputs.len());
            for output in outputs {
                let input = InputRecord {
                    topic: record.topic.clone(),
                    partition: record.partition,
                    offset: record.offset,
                    timestamp: record.timestamp,
                    key: output.key,
                    value: output.value,
                    headers: output.headers,
                };
                next.extend(link.transform(&input).map_err(|e| blame(chained, link, e))?);
            }
            outputs = next;
        }
        Ok(outputs)
    }
}

fn blame(chained: bool, link: &Sandbox, error: CallError) -> CallError {
    if !chained {
        return error;
    }
    let name = link.plugin().name();
    match error {
        CallError::Rejected(reason) => CallError::Rejected(format!("plugin {name}: {reason}")),
        CallError::Trap(trap) => CallError::Trap(Trap { kind: trap.kind, message: format!("plugin {name}: {}", trap.message) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_single_plugin_takes_every_pair_and_a_chain_wants_them_named() {
        let one = assign_config(&["p/enrich.wasm".into()], pairs(&[("a", "1"), ("enrich:b", "2")])).unwrap();
        assert_eq!(one[0].config, pairs(&[("a", "1"), ("b", "2")]));

        let paths: Vec<PathBuf> = vec!["p/enrich.wasm".into(), "p/router.wasm".into()];
        let chain = assign_config(&paths, pairs(&[("router:inventory_topic", "stock")])).unwrap();
        assert!(chain[0].config.is_empty());
        assert_eq!(chain[1].config, pairs(&[("inventory_topic", "stock")]));
        let unnamed = assign_config(&paths, pairs(&[("inventory_topic", "stock")])).unwrap_err();
        assert!(unnamed.contains("NAME:inventory_topic=stock"), "{unnamed}");
    }

    #[test]
    fn plugins_of_a_chain_need_distinct_names() {
        let twice = assign_config(&["a/counter.wasm".into(), "b/counter.wasm".into()], Vec::new()).unwrap_err();
        assert!(twice.contains("\"counter\""), "{twice}");
    }
}
