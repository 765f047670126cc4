//! What a timer costs the host: prints, per timer scheduled and fired,
//! (1) the state store's own work — scheduling, moving stream time, finding
//! the due timers, removing each, and collecting the changelog records of
//! the transaction — and (2) the whole path through the [`Processor`] with
//! the real `window-count` plugin (each record opens a window, so schedules
//! a timer; one later record fires them all), against the same records
//! through `counter` (a state read and write per record, no timers): the
//! difference is what timers add, guest calls to `on-timer` included. Run
//! with `cargo bench -p eoshost --bench timers`; `TIMERS=N` for another
//! count (default 200,000), `TIMERS_STORE_ONLY=1` for (1) alone. Needs
//! `scripts/build-plugins` first.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eoshost::metrics::Metrics;
use eoshost::plugin::{Chain, InputRecord, PluginSpec, SandboxLimits};
use eoshost::policy::OnError;
use eoshost::processor::{Fate, OutputRules, Processor, TimerFate};
use eoshost::state::{Clock, SharedState, StateStore, Timer};
use eoshost::tables::Tables;

const TOPIC: &str = "clicks";
const PLUGIN: &str = "window-count";
/// Records per transaction, as a busy pipeline commits them.
const PER_TRANSACTION: usize = 1_000;

fn plugin_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target/plugins").join(format!("{name}.wasm"))
}

/// The store's work for `count` timers: scheduled by records (one each),
/// then made due by stream time and fired, committed every
/// `PER_TRANSACTION` records.
fn store_work(count: usize) -> Duration {
    let mut store = StateStore::new(usize::MAX);
    let keys: Vec<Vec<u8>> = (0..count).map(|i| format!("user-{i:08}").into_bytes()).collect();
    let started = Instant::now();
    for (i, key) in keys.iter().enumerate() {
        store.advance_stream_time(TOPIC, 0, PLUGIN, 1_000).expect("unbounded");
        store.enter(TOPIC, 0, PLUGIN);
        store.schedule(&Timer { clock: Clock::Stream, key: key.clone(), time: 10_000 }).expect("unbounded");
        store.leave();
        store.record_completed();
        if i % PER_TRANSACTION == PER_TRANSACTION - 1 {
            std::hint::black_box(store.changes().len());
            store.transaction_committed();
        }
    }
    store.advance_stream_time(TOPIC, 0, PLUGIN, 10_000).expect("unbounded");
    let due = store.due_stream_timers(TOPIC, 0, PLUGIN);
    assert_eq!(due.len(), count);
    for (i, timer) in due.iter().enumerate() {
        store.enter(TOPIC, 0, PLUGIN);
        assert!(store.take_timer(timer).expect("inside a call"));
        store.leave();
        store.record_completed();
        if i % PER_TRANSACTION == PER_TRANSACTION - 1 {
            std::hint::black_box(store.changes().len());
            store.transaction_committed();
        }
    }
    store.transaction_committed();
    assert_eq!(store.timers_pending(), 0);
    started.elapsed()
}

fn record(offset: i64, key: Vec<u8>, timestamp: i64) -> InputRecord {
    InputRecord {
        topic: TOPIC.to_owned(),
        partition: 0,
        offset,
        timestamp: Some(timestamp),
        key: Some(key),
        value: Some(b"v".to_vec()),
        headers: Vec::new(),
    }
}

/// `count` records with distinct keys through `plugin` (then one far
/// ahead, which closes every window), committed every `PER_TRANSACTION`:
/// the time taken and the outputs written.
fn through_processor(plugin: &str, config: &[(&str, &str)], count: usize) -> (Duration, usize) {
    let spec =
        PluginSpec { path: plugin_path(plugin), config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    let tables = Tables::new(&[], usize::MAX);
    let (chain, state) = Chain::load(&[spec], SandboxLimits::default(), || SharedState::new(usize::MAX), &tables)
        .unwrap_or_else(|e| panic!("cannot load {plugin} (run scripts/build-plugins): {e}"));
    let state = state.expect("both plugins are stateful");
    let rules = OutputRules { topics: None, max_message_bytes: None };
    let mut processor = Processor::new(chain, rules, OnError::Skip, 0, Some(state.clone()), Arc::new(Metrics::new()));
    let mut records: Vec<InputRecord> =
        (0..count).map(|i| record(i as i64, format!("user-{i:08}").into_bytes(), 1_000)).collect();
    records.push(record(count as i64, b"closer".to_vec(), 1_000_000));
    let mut written = 0;
    let started = Instant::now();
    for (i, record) in records.iter().enumerate() {
        match processor.process(record).expect("no state bound") {
            Fate::Write(outputs) => written += outputs.len(),
            other => panic!("{plugin} did not take record {i}: {other:?}"),
        }
        for firing in processor.fire_stream_timers(record).expect("no state bound") {
            match firing.fate {
                TimerFate::Write(outputs) => written += outputs.len(),
                other => panic!("{plugin}: a timer failed: {other:?}"),
            }
        }
        if i % PER_TRANSACTION == PER_TRANSACTION - 1 || i == records.len() - 1 {
            std::hint::black_box(state.lock().changes().len());
            state.lock().transaction_committed();
        }
    }
    (started.elapsed(), written)
}

fn main() {
    let count: usize = std::env::var("TIMERS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let store = store_work(count);
    println!("timers_store timers={count} host_ns_per_timer={:.0}", store.as_nanos() as f64 / count as f64);
    if std::env::var_os("TIMERS_STORE_ONLY").is_some() {
        return;
    }

    let (windows, emitted) = through_processor("window-count", &[("size", "10s")], count);
    assert_eq!(emitted, count, "every window closes once");
    let (counts, outputs) = through_processor("counter", &[], count);
    assert_eq!(outputs, count + 1);
    let per = |d: Duration| d.as_nanos() as f64 / count as f64;
    println!(
        "timers_processor timers={count} window_count_ns_per_record_and_timer={:.0} counter_ns_per_record={:.0} \
         timer_ns_added={:.0}",
        per(windows),
        per(counts),
        per(windows) - per(counts)
    );
}
