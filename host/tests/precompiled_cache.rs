//! The second start of a plugin loads its precompiled machine code from the
//! cache instead of compiling it again, and a damaged entry is replaced.

mod common;

use common::{limits, plugin_path, scratch};
use eoshost::plugin::{CodeOrigin, Plugin, PluginEngine};

#[test]
fn second_load_uses_the_precompiled_cache() {
    let cache = scratch("cache");
    let _ = std::fs::remove_dir_all(&cache);
    let engine = PluginEngine::new(limits(1000, 64)).unwrap().with_cache_dir(Some(cache.clone()));
    let path = plugin_path("enrich");

    // Each plugin is dropped at once: a loaded one maps its cache entry,
    // which the test damages below.
    let origin = |engine: &PluginEngine| Plugin::load(engine, &path, vec![]).unwrap().code_origin();
    assert_eq!(origin(&engine), CodeOrigin::Compiler, "an empty cache cannot hold the plugin");
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries.len(), 1, "one precompiled artifact expected: {entries:?}");
    assert!(entries[0].to_string_lossy().ends_with(".cwasm"));

    assert_eq!(origin(&engine), CodeOrigin::Cache, "the second load must come from the cache");

    // A damaged entry is replaced, not trusted.
    let entry = cache.join(&entries[0]);
    std::fs::write(&entry, b"garbage").unwrap();
    assert_eq!(origin(&engine), CodeOrigin::Compiler, "a damaged entry must be compiled again");
    assert!(std::fs::metadata(&entry).unwrap().len() > 1000);
    assert_eq!(origin(&engine), CodeOrigin::Cache, "the replaced entry must be used");
}

#[test]
fn without_a_cache_directory_every_load_compiles() {
    let engine = PluginEngine::new(limits(1000, 64)).unwrap().with_cache_dir(None);
    let path = plugin_path("identity");
    for _ in 0..2 {
        assert_eq!(Plugin::load(&engine, &path, vec![]).unwrap().code_origin(), CodeOrigin::Compiler);
    }
}
