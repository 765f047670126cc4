//! The plugin runtime's figures, printed (not asserted): per-record call
//! cost of `identity` for 100 B, 1 KiB and 64 KiB values and of `enrich` for
//! a typical order (in every language, and in batches for those that take
//! them); trap → fresh instance ready; start-up cold (compiling)
//! and with the precompiled cache; peak resident memory of `eoshost test`
//! with `enrich` over 100,000 orders. Needs `scripts/build-plugins` first.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eoshost::plugin::{CallError, InputRecord, Plugin, PluginEngine, Sandbox, SandboxLimits};

fn plugin_path(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} is missing: run scripts/build-plugins first", path.display());
    path
}

fn record(value: Vec<u8>) -> InputRecord {
    InputRecord {
        topic: "orders".into(),
        partition: 0,
        offset: 0,
        timestamp: Some(1_700_000_000_000),
        key: Some(b"customer-42".to_vec()),
        value: Some(value),
        headers: vec![],
    }
}

/// Median of `rounds` rounds of `per_round` calls, per call.
fn per_call(rounds: usize, per_round: usize, mut call: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..per_round {
                call();
            }
            started.elapsed() / per_round as u32
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let engine = PluginEngine::new(SandboxLimits::default()).expect("engine");

    println!("== per-record call cost (median of 21 rounds) ==");
    let mut identity = Sandbox::new(Plugin::load(&engine, &plugin_path("identity"), vec![]).expect("identity"));
    for (label, size) in [("100 B", 100), ("1 KiB", 1024), ("64 KiB", 64 * 1024)] {
        let input = record(vec![b'x'; size]);
        let per_round = if size > 10_000 { 2_000 } else { 20_000 };
        let cost = per_call(21, per_round, || {
            std::hint::black_box(identity.transform(&input).expect("identity"));
        });
        println!("identity {label:>6} value: {}", micros(cost));
    }
    let mut enrich = Sandbox::new(Plugin::load(&engine, &plugin_path("enrich"), vec![]).expect("enrich"));
    let order = br#"{"order_id":"o-12345","customer_id":"c-678","country":"DE","quantity":3,"unit_price_cents":1999,"note":"gift wrap please"}"#;
    let input = record(order.to_vec());
    let cost = per_call(21, 20_000, || {
        std::hint::black_box(enrich.transform(&input).expect("enrich"));
    });
    println!("enrich   {:>4} B order: {}", order.len(), micros(cost));

    println!("== trap → fresh instance ready (median of 200) ==");
    let mut chaos =
        Sandbox::new(Plugin::load(&engine, &plugin_path("chaos"), vec![("trap_on_value".into(), "boom".into())]).expect("chaos"));
    let boom = record(b"boom".to_vec());
    let fine = record(b"fine".to_vec());
    let mut recoveries: Vec<Duration> = (0..200)
        .map(|_| {
            assert!(matches!(chaos.transform(&boom), Err(CallError::Trap(_))));
            let started = Instant::now();
            chaos.ensure_instance().expect("fresh instance");
            let ready = started.elapsed();
            chaos.transform(&fine).expect("fresh instance works");
            ready
        })
        .collect();
    recoveries.sort();
    println!("instantiate + init after a trap: {} (p99 {})", micros(recoveries[100]), micros(recoveries[197]));

    println!("== start-up: load (compile or cache) + validate + first instance ==");
    let cache = std::env::temp_dir().join(format!("eoshost-bench-cache-{}", std::process::id()));
    let engine = engine.clone().with_cache_dir(Some(cache.clone()));
    for name in ["identity", "enrich"] {
        let _ = std::fs::remove_dir_all(&cache);
        let started = Instant::now();
        Plugin::load(&engine, &plugin_path(name), vec![]).expect("cold load");
        let cold = started.elapsed();
        let mut warm: Vec<Duration> = (0..11)
            .map(|_| {
                let started = Instant::now();
                Plugin::load(&engine, &plugin_path(name), vec![]).expect("cached load");
                started.elapsed()
            })
            .collect();
        warm.sort();
        println!("{name:>8}: cold {:.1} ms, cached {:.2} ms", cold.as_secs_f64() * 1e3, warm[5].as_secs_f64() * 1e3);
    }
    let _ = std::fs::remove_dir_all(&cache);
    let started = Instant::now();
    let engine_again = PluginEngine::new(SandboxLimits::default()).expect("engine");
    println!("engine creation (once per process): {:.2} ms", started.elapsed().as_secs_f64() * 1e3);
    drop(engine_again);

    enrich_in_every_language(&engine);
    peak_memory_of_offline_test(order);
}

/// Records per `transform-batch` call in the table below: the pipeline's
/// largest batch.
const BATCH: usize = 256;

/// The per-language table of plugins/README.md: size, instantiate + init,
/// and per-record cost for a ~150 B and a ~1 KiB order (host call included),
/// one call per record and, for a plugin that takes batches, in batches.
fn enrich_in_every_language(engine: &PluginEngine) {
    println!("== enrich in every language ==");
    println!(
        "| plugin | component size | instantiate + init | per record, ~150 B | per record, ~1 KiB | in batches of {BATCH}, ~150 B | in batches of {BATCH}, ~1 KiB |"
    );
    println!("|---|---|---|---|---|---|---|");
    let small = br#"{"order_id":"o-12345","customer_id":"c-678","country":"DE","quantity":3,"unit_price_cents":1999,"note":"gift wrap please"}"#.to_vec();
    let large = format!(
        r#"{{"order_id":"o-12345","customer_id":"c-678","country":"DE","quantity":3,"unit_price_cents":1999,"note":"{}"}}"#,
        "x".repeat(900)
    )
    .into_bytes();
    for name in ["enrich", "enrich-c", "enrich-go", "enrich-py", "enrich-js"] {
        let path = plugin_path(name);
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        let plugin = Plugin::load(engine, &path, vec![]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut instantiations: Vec<Duration> = (0..21)
            .map(|_| {
                let started = Instant::now();
                let instance = plugin.instantiate().expect("instantiate");
                let elapsed = started.elapsed();
                drop(instance);
                elapsed
            })
            .collect();
        instantiations.sort();
        let batches = plugin.takes_batches();
        let mut sandbox = Sandbox::new(plugin);
        let mut costs = Vec::new();
        let mut batch_costs = Vec::new();
        for value in [&small, &large] {
            let input = record(value.clone());
            let per_round = if name == "enrich" || name == "enrich-c" { 5_000 } else { 500 };
            costs.push(micros(per_call(11, per_round, || {
                std::hint::black_box(sandbox.transform(&input).expect("enrich"));
            })));
            if batches {
                // A pipeline's batch: transform-batch once per BATCH records.
                let batch = vec![input.clone(); BATCH];
                let per_batch = per_call(11, 2, || {
                    std::hint::black_box(sandbox.transform_batch(&batch).expect("enrich"));
                });
                batch_costs.push(micros(per_batch / BATCH as u32));
            } else {
                batch_costs.push("-".to_owned());
            }
        }
        println!(
            "| {name} | {:.0} KB | {:.2} ms | {} | {} | {} | {} |",
            size as f64 / 1000.0,
            instantiations[10].as_secs_f64() * 1e3,
            costs[0],
            costs[1],
            batch_costs[0],
            batch_costs[1]
        );
    }
}

/// Runs `eoshost test` with `enrich` over 100,000 orders, twice (compiling,
/// then with the precompiled cache), and reports each run's peak resident
/// set (the child's VmHWM, sampled until it exits).
fn peak_memory_of_offline_test(order: &[u8]) {
    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/eoshost");
    if !binary.exists() {
        println!("peak RSS: skipped, {} is not built (cargo build --release -p eoshost)", binary.display());
        return;
    }
    let input = std::env::temp_dir().join(format!("eoshost-bench-orders-{}.jsonl", std::process::id()));
    let escaped = String::from_utf8_lossy(order).replace('"', "\\\"");
    let line = format!("{{\"key\":\"k\",\"value\":\"{escaped}\"}}\n");
    std::fs::write(&input, line.repeat(100_000)).expect("writing orders");
    let cache = std::env::temp_dir().join(format!("eoshost-bench-rss-cache-{}", std::process::id()));
    println!("== eoshost test, enrich, 100,000 orders ==");
    for label in ["compiling", "cached"] {
        let started = Instant::now();
        let child = std::process::Command::new(&binary)
            .args(["test", "--plugin", plugin_path("enrich").to_str().unwrap(), "--input", input.to_str().unwrap()])
            .env("EOSHOST_CACHE_DIR", &cache)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("running eoshost test");
        // The kernel's ru_maxrss of a spawned child counts the parent's pages
        // up to exec, so read the child's own high-water mark instead.
        let mut child = child;
        let mut peak_kib = 0u64;
        let status = loop {
            if let Some(kib) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
                .ok()
                .and_then(|text| text.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
                .and_then(|line| line.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()))
            {
                peak_kib = peak_kib.max(kib);
            }
            if let Some(status) = child.try_wait().expect("waiting for eoshost test") {
                break status;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let elapsed = started.elapsed();
        println!(
            "{label:>9}: {status}, {:.2} s ({:.0} records/s), peak RSS {:.1} MiB",
            elapsed.as_secs_f64(),
            100_000.0 / elapsed.as_secs_f64(),
            peak_kib as f64 / 1024.0
        );
    }
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_dir_all(&cache);
}
