//! Each hostile fixture is stopped by the bound it attacks, with the trap
//! labelled by kind, and the sandbox recovers on a fresh instance.

mod common;

use std::time::Instant;

use common::{limits, load, record};
use eoshost::plugin::{CallError, EPOCH_TICK, PluginEngine, Sandbox, TrapKind};

fn trap_of(result: Result<Vec<eoshost::plugin::OutputRecord>, CallError>) -> eoshost::plugin::Trap {
    match result {
        Err(CallError::Trap(trap)) => trap,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn spin_is_interrupted_as_timeout_within_twice_the_budget() {
    let engine = PluginEngine::new(limits(200, 64)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "spin", &[]));
    sandbox.ensure_instance().unwrap();
    let started = Instant::now();
    let trap = trap_of(sandbox.transform(&record("x")));
    let elapsed = started.elapsed();
    assert_eq!(trap.kind, TrapKind::Timeout, "{trap}");
    assert!(elapsed.as_millis() >= 200 - EPOCH_TICK.as_millis(), "stopped early: {elapsed:?}");
    assert!(elapsed.as_millis() < 400, "took {elapsed:?} for a 200 ms budget");
}

#[test]
fn hog_is_stopped_at_the_memory_cap_as_memory() {
    let engine = PluginEngine::new(limits(5000, 16)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "hog", &[]));
    let trap = trap_of(sandbox.transform(&record("x")));
    assert_eq!(trap.kind, TrapKind::Memory, "{trap}");
}

#[test]
fn deep_exhausts_the_stack_as_stack() {
    let engine = PluginEngine::new(limits(5000, 64)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "deep", &[]));
    let trap = trap_of(sandbox.transform(&record("x")));
    assert_eq!(trap.kind, TrapKind::Stack, "{trap}");
}

#[test]
fn a_panic_is_labelled_panic_with_the_plugins_message() {
    let engine = PluginEngine::new(limits(1000, 64)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "chaos", &[("trap_on_value", "boom")]));
    let trap = trap_of(sandbox.transform(&record("boom")));
    assert_eq!(trap.kind, TrapKind::Panic, "{trap}");
    assert!(trap.message.contains("chaos: injected trap"), "{trap}");
}

#[test]
fn after_a_trap_the_next_record_succeeds_on_a_fresh_instance() {
    let engine = PluginEngine::new(limits(1000, 64)).unwrap();
    let mut sandbox = Sandbox::new(load(&engine, "chaos", &[("trap_on_value", "boom")]));
    assert_eq!(sandbox.transform(&record("before")).unwrap().len(), 1);
    trap_of(sandbox.transform(&record("boom")));
    let (result, stats) = sandbox.transform_timed(&record("after"));
    assert_eq!(result.unwrap()[0].value.as_deref(), Some(&b"after"[..]));
    assert!(stats.fresh_instance.is_some(), "the trapped instance must not be reused");
    let (_, stats) = sandbox.transform_timed(&record("again"));
    assert!(stats.fresh_instance.is_none(), "a healthy instance is kept");
}

#[test]
fn every_hostile_trap_leaves_the_sandbox_usable() {
    for (name, memory_mb) in [("spin", 64), ("hog", 16), ("deep", 64)] {
        let engine = PluginEngine::new(limits(100, memory_mb)).unwrap();
        let mut sandbox = Sandbox::new(load(&engine, name, &[]));
        for _ in 0..3 {
            trap_of(sandbox.transform(&record("x")));
        }
    }
}
