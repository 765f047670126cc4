//! The precompiled-component cache: compiling a component with cranelift
//! takes tens of milliseconds (seconds for Python or JavaScript plugins), so
//! the machine code is kept on disk, keyed by the component's bytes and the
//! engine's compatibility hash (wasmtime version and every setting that
//! affects code). The second start of a plugin deserializes instead.
//!
//! The directory is `$EOSHOST_CACHE_DIR`, else `$XDG_CACHE_HOME/eoshost`,
//! else `~/.cache/eoshost`; `EOSHOST_CACHE_DIR=off` disables the cache
//! ([`crate::config::environment::plugin_cache_dir`]).
//! Tests and benchmarks name their own with `PluginEngine::with_cache_dir`.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Feeds `Hash` output into a SHA-256, so the engine's compatibility hash
/// becomes a stable file name component.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is read")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cache file name for `wasm` compiled by `engine`.
fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update(wasm);
    let digest = hasher.0.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.cwasm")
}

/// Where a loaded component's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOrigin {
    /// A valid entry of the precompiled cache.
    Cache,
    /// Compiled at load (and stored in the cache when there is one).
    Compiler,
}

/// The compiled component, from the cache in `dir` when a valid entry
/// exists; otherwise compiled now and stored for next time (a cache that
/// cannot be written is logged, never fatal). `dir` `None`: no cache.
pub fn compile_cached(engine: &Engine, dir: Option<&Path>, wasm: &[u8]) -> anyhow::Result<(Component, CodeOrigin)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, wasm)?, CodeOrigin::Compiler));
    };
    let path = dir.join(cache_key(engine, wasm));
    if path.exists() {
        // SAFETY: the file was written by `store` below from
        // `Engine::precompile_component` of these very bytes (the name is
        // their hash with the engine's); wasmtime re-checks its header for
        // version and configuration compatibility.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok((component, CodeOrigin::Cache)),
            Err(error) => tracing::warn!(path = %path.display(), "ignoring an unusable precompiled plugin: {error:#}"),
        }
    }
    let compiled = engine.precompile_component(wasm)?;
    if let Err(error) = store(dir, &path, &compiled) {
        tracing::warn!(dir = %dir.display(), "could not cache the compiled plugin (the next start compiles again): {error:#}");
    }
    // SAFETY: `compiled` was produced just now by this engine.
    Ok((unsafe { Component::deserialize(engine, &compiled) }?, CodeOrigin::Compiler))
}

/// Writes atomically (temporary file, then rename), so a concurrent start
/// never reads half a file.
fn store(dir: &Path, path: &Path, compiled: &[u8]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let temporary = dir.join(format!(".{}.{}.tmp", std::process::id(), path.file_name().unwrap_or_default().to_string_lossy()));
    let mut file = std::fs::File::create(&temporary).with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(compiled)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}
