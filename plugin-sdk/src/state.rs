//! Per-key state that eoshost keeps exactly once for the input partition
//! of the record in process (the `state` interface of `wit/transform.wit`).
//! Writes are visible to later records at once and become final when the
//! record completes and its transaction commits; a rejected, skipped,
//! dead-lettered or trapping record leaves no write behind. Call these only
//! from [`crate::Transform::transform`] or [`crate::OnTimer::on_timer`] (a
//! timer's writes commit with its outputs): in `init` they trap.
//!
//! Outside WebAssembly (native unit tests) the state is a map of the
//! current thread, shared by every partition; [`clear`] empties it.

/// The value stored under `key` for this record's partition, if any.
pub fn get(key: &[u8]) -> Option<Vec<u8>> {
    #[cfg(target_family = "wasm")]
    return crate::wit::eoshost::transform::state::get(key);
    #[cfg(not(target_family = "wasm"))]
    return native::MAP.with(|map| map.borrow().get(key).cloned());
}

/// Stores `value` under `key` for this record's partition. Past the
/// operator's `--state-max-mb` the call traps and eoshost stops, naming it.
pub fn set(key: &[u8], value: &[u8]) {
    #[cfg(target_family = "wasm")]
    crate::wit::eoshost::transform::state::set(key, value);
    #[cfg(not(target_family = "wasm"))]
    native::MAP.with(|map| map.borrow_mut().insert(key.to_vec(), value.to_vec()));
}

/// Removes `key` from this record's partition's state (nothing happens
/// when it is absent).
pub fn delete(key: &[u8]) {
    #[cfg(target_family = "wasm")]
    crate::wit::eoshost::transform::state::delete(key);
    #[cfg(not(target_family = "wasm"))]
    native::MAP.with(|map| map.borrow_mut().remove(key));
}

/// Empties the native test state (native unit tests only).
#[cfg(not(target_family = "wasm"))]
pub fn clear() {
    native::MAP.with(|map| map.borrow_mut().clear());
}

#[cfg(not(target_family = "wasm"))]
mod native {
    use std::cell::RefCell;
    use std::collections::HashMap;

    thread_local! {
        pub static MAP: RefCell<HashMap<Vec<u8>, Vec<u8>>> = RefCell::new(HashMap::new());
    }
}
