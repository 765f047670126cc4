//! eoshost: exactly-once WebAssembly transforms for Apache Kafka.
//!
//! The sandbox and the plugin contract live in [`plugin`]; a record's way
//! through the plugins, the same in every mode, in [`processor`] (what
//! happens to a failing record: [`policy`]); the transactional loop in
//! [`pipeline`] and the Kafka transaction in [`kafka::transaction`]; what
//! every long-running mode stands on (signals, metrics, progress, plugin
//! loading) in [`scaffold`]; stateful plugins' exactly-once state in
//! [`state`]; the tables plugins join with (`--table`) in [`tables`].
//!
//! "DESIGN §N" in comments and messages is a section of `docs/design.md`, the
//! project's design (its §1 is pinned: relied on by checks outside the code).

pub mod cli;
pub mod config;
pub mod defaults;
pub mod events;
pub mod failure;
pub mod kafka;
pub mod logging;
pub mod metrics;
pub mod pipeline;
pub mod plugin;
pub mod policy;
pub mod processor;
pub mod progress_line;
pub mod redact;
pub mod relay;
pub mod retry;
pub mod scaffold;
pub mod schemas;
pub mod sink;
pub mod state;
pub mod tables;
pub mod test_command;

use cli::{Cli, Command};
use failure::Failure;

/// Runs what the command line asks for. Logging starts here: the pipeline's
/// log format is part of its configuration.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Some(Command::Test(args)) => {
            logging::init(cli::LogFormat::Text);
            test_command::run(args)
        }
        Some(Command::Inspect(args)) => {
            logging::init(cli::LogFormat::Text);
            inspect(&args.plugin)
        }
        Some(Command::Version) => {
            print!("{}", kafka::librdkafka::version_report());
            Ok(())
        }
        Some(Command::Relay(args)) => {
            // First: a signal from here on is a clean stop (exit 0).
            let stop = scaffold::install_stop_handlers()?;
            logging::init(cli::LogFormat::Text);
            kafka::librdkafka::log_build();
            relay::run(args, stop)
        }
        None => {
            let stop = scaffold::install_stop_handlers()?;
            let config = config::Config::resolve(cli.run)?;
            logging::init(config.log_format);
            kafka::librdkafka::log_build();
            logging::log_effective_configuration(&config);
            match config.postgres {
                Some(_) => sink::postgres::run(config, stop),
                None => pipeline::run(config, stop),
            }
        }
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
