//! Log set-up: human-readable lines on stderr (stdout is data for
//! `eoshost test`), level from `EOSHOST_LOG` or `RUST_LOG`, `info` by default.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("EOSHOST_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
