//! Everything eoshost reads from its process environment besides its
//! options (clap reads those, `EOSHOST_<OPTION>`, in `cli.rs`): librdkafka
//! properties, the log filter, the colour switch, the plugin cache and the
//! slot lock directory. Read here and nowhere else, so that this file lists
//! them all; docs/options.md ("Environment") says the same.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::kafka::secrets;

/// `EOSHOST_LIBRDKAFKA_<PROPERTY>` variables as librdkafka properties
/// ([`secrets::from_env_vars`]).
pub fn librdkafka_properties() -> Vec<(String, String)> {
    secrets::from_env_vars(
        std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?))),
    )
}

/// The Schema Registry client settings of the `EOSHOST_SCHEMA_REGISTRY_*`
/// variables (`crate::schemas::settings`).
pub fn registry_settings() -> Vec<(String, String)> {
    crate::schemas::settings::from_env_vars(
        std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?))),
    )
}

/// The log filter: `EOSHOST_LOG`, else `RUST_LOG` (tracing's `EnvFilter`
/// syntax), if either is set.
pub fn log_filter() -> Option<String> {
    std::env::var("EOSHOST_LOG").or_else(|_| std::env::var("RUST_LOG")).ok()
}

/// `NO_COLOR` is set (<https://no-color.org>): no colour even on a terminal.
pub fn no_colour() -> bool {
    std::env::var_os("NO_COLOR").is_some()
}

/// Where precompiled plugins are kept, or `None` when caching is off:
/// `$EOSHOST_CACHE_DIR` (`off` turns the cache off), else
/// `$XDG_CACHE_HOME/eoshost`, else `~/.cache/eoshost`.
pub fn plugin_cache_dir() -> Option<PathBuf> {
    cache_dir_from(std::env::var_os("EOSHOST_CACHE_DIR"), std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
}

/// Whether plugins' machine code is announced to `perf`
/// (`EOSHOST_PERF_MAP=1`: wasmtime writes /tmp/perf-PID.map, so `perf
/// record`/`perf report` name each Wasm function of a plugin). For
/// profiling; it costs a little at load.
pub fn perf_map() -> bool {
    std::env::var_os("EOSHOST_PERF_MAP").is_some_and(|v| v == "1")
}

/// The directory of the transactional-id slot locks: `$EOSHOST_LOCK_DIR`,
/// else `$XDG_RUNTIME_DIR/eoshost`, else `eoshost-slots` in the temporary
/// directory.
pub fn slot_lock_dir() -> PathBuf {
    lock_dir_from(std::env::var_os("EOSHOST_LOCK_DIR"), std::env::var_os("XDG_RUNTIME_DIR"))
        .unwrap_or_else(|| std::env::temp_dir().join("eoshost-slots"))
}

fn cache_dir_from(explicit: Option<OsString>, xdg_cache: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    match explicit {
        Some(dir) if dir == "off" => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => xdg_cache
            .map(PathBuf::from)
            .or_else(|| home.map(|home| PathBuf::from(home).join(".cache")))
            .map(|base| base.join("eoshost")),
    }
}

fn lock_dir_from(explicit: Option<OsString>, runtime: Option<OsString>) -> Option<PathBuf> {
    explicit.map(PathBuf::from).or_else(|| runtime.map(|dir| PathBuf::from(dir).join("eoshost")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(value: &str) -> Option<OsString> {
        Some(OsString::from(value))
    }

    #[test]
    fn the_plugin_cache_is_the_named_dir_else_xdg_else_home_and_off_turns_it_off() {
        assert_eq!(cache_dir_from(os("/c"), os("/x"), os("/h")), Some(PathBuf::from("/c")));
        assert_eq!(cache_dir_from(os("off"), os("/x"), os("/h")), None);
        assert_eq!(cache_dir_from(None, os("/x"), os("/h")), Some(PathBuf::from("/x/eoshost")));
        assert_eq!(cache_dir_from(None, None, os("/h")), Some(PathBuf::from("/h/.cache/eoshost")));
        assert_eq!(cache_dir_from(None, None, None), None);
    }

    #[test]
    fn the_slot_locks_are_in_the_named_dir_else_the_runtime_dir() {
        assert_eq!(lock_dir_from(os("/l"), os("/run/user/1")), Some(PathBuf::from("/l")));
        assert_eq!(lock_dir_from(None, os("/run/user/1")), Some(PathBuf::from("/run/user/1/eoshost")));
        assert_eq!(lock_dir_from(None, None), None);
    }
}
