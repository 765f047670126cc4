//! Shared by the host's tests: where the built plugins and the binary are.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use eoshost::plugin::{InputRecord, Plugin, PluginEngine, SandboxLimits};

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent").to_path_buf()
}

/// `target/plugins/<name>.wasm`, built by `scripts/build-plugins`.
pub fn plugin_path(name: &str) -> PathBuf {
    let path = workspace_root().join("target/plugins").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} is missing: run scripts/build-plugins first", path.display());
    path
}

pub fn limits(timeout_ms: u64, memory_mb: usize) -> SandboxLimits {
    SandboxLimits { call_timeout: Duration::from_millis(timeout_ms), memory_bytes: memory_mb << 20, ..SandboxLimits::default() }
}

pub fn load(engine: &PluginEngine, name: &str, config: &[(&str, &str)]) -> Plugin {
    let config = config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Plugin::load(engine, &plugin_path(name), config).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// Runs the `eoshost` binary built with these tests.
pub fn eoshost(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eoshost")).args(args).env("EOSHOST_LOG", "warn").output().expect("running eoshost")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Checks that a run of `eoshost test` with `plugin` exited 0 and printed
/// exactly the lines of `expected`, naming the first line that differs.
pub fn assert_prints(plugin: &str, output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(0), "{plugin}: {}", stderr(output));
    let actual = stdout(output);
    for (n, (got, want)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "{plugin}: line {} differs", n + 1);
    }
    assert_eq!(actual.lines().count(), expected.lines().count(), "{plugin}: line count");
}

/// A scratch directory unique to this test process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eoshost-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A record from offset 0 of partition 0 of `orders` with this value.
pub fn record(value: &str) -> InputRecord {
    InputRecord {
        topic: "orders".into(),
        partition: 0,
        offset: 0,
        timestamp: None,
        key: None,
        value: Some(value.as_bytes().to_vec()),
        headers: vec![],
    }
}
