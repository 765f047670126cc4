//! The `eoshost` binary: parse, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = eoshost::cli::Cli::parse();
    eoshost::logging::init();
    if let Err(failure) = eoshost::run(cli) {
        eprintln!("eoshost: {failure}");
        std::process::exit(failure.exit_code());
    }
}
