//! eoshost: exactly-once WebAssembly transforms for Apache Kafka.
//!
//! The sandbox and the plugin contract live in [`plugin`], the transactional
//! loop in [`pipeline`], what happens to a failing record in [`policy`].

pub mod cli;
pub mod config;
pub mod failure;
pub mod kafka;
pub mod logging;
pub mod metrics;
pub mod offline;
pub mod pipeline;
pub mod plugin;
pub mod policy;
pub mod relay;
pub mod shutdown;
pub mod sink;

use cli::{Cli, Command};
use failure::Failure;

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Some(Command::Test(args)) => offline::run(args),
        Some(Command::Inspect(args)) => inspect(&args.plugin),
        Some(Command::Relay(args)) => relay::run(args),
        None => match config::Config::resolve(cli.run)? {
            config if config.postgres.is_some() => sink::postgres::run(config),
            config => pipeline::run(config),
        },
    }
}

/// `eoshost inspect`: exit 0 when the plugin fits the world, 2 otherwise.
fn inspect(path: &std::path::Path) -> Result<(), Failure> {
    let engine = plugin::PluginEngine::new(plugin::SandboxLimits::default())?;
    let report = plugin::inspect(&engine, path).map_err(|e| Failure::usage(e.to_string()))?;
    print!("{}", report.render(&path.display().to_string()));
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::usage(format!("{} does not implement {}: {}", path.display(), plugin::WORLD, report.problems.join("; "))))
    }
}
