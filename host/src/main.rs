//! The `eoshost` binary: parse, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = eoshost::cli::Cli::parse();
    if let Err(failure) = eoshost::run(cli) {
        eoshost::logging::fatal(&failure.to_string());
        std::process::exit(failure.exit_code());
    }
}
