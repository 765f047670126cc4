//! The second start of a plugin loads its precompiled machine code from the
//! cache instead of compiling it again.

mod common;

use std::time::Instant;

use common::{limits, plugin_path, scratch};
use eoshost::plugin::{Plugin, PluginEngine};

#[test]
fn second_load_uses_the_precompiled_cache() {
    let cache = scratch("cache");
    // SAFETY: this test binary has one test; nothing else reads the env.
    unsafe { std::env::set_var("EOSHOST_CACHE_DIR", &cache) };
    let engine = PluginEngine::new(limits(1000, 64)).unwrap();
    let path = plugin_path("enrich");

    let started = Instant::now();
    Plugin::load(&engine, &path, vec![]).unwrap();
    let cold = started.elapsed();
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries.len(), 1, "one precompiled artifact expected: {entries:?}");
    assert!(entries[0].to_string_lossy().ends_with(".cwasm"));

    let started = Instant::now();
    Plugin::load(&engine, &path, vec![]).unwrap();
    let warm = started.elapsed();
    assert!(warm < cold, "cached load ({warm:?}) should beat compiling ({cold:?})");

    // A damaged entry is replaced, not trusted.
    let entry = cache.join(&entries[0]);
    std::fs::write(&entry, b"garbage").unwrap();
    Plugin::load(&engine, &path, vec![]).unwrap();
    assert!(std::fs::metadata(&entry).unwrap().len() > 1000);
}
