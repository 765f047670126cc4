//! Tables: the latest value per key of a compacted Kafka topic that the
//! operator names with `--table NAME=TOPIC` (the `tables` interface of
//! `wit/transform.wit`). Every instance sees the whole table, loaded up to
//! the topic's end at start-up before the first record and kept current in
//! the background. Read-only; call [`get`] from
//! [`crate::Transform::transform`] (in `init` it traps).
//!
//! Outside WebAssembly (native unit tests) the tables are maps of the
//! current thread: fill them with [`insert`], empty them with [`clear`]. A
//! lookup in a table that was never filled panics with the same advice the
//! host gives (name it with `--table`), as the host's call traps.

/// The latest value under `key` in the table `table` (the NAME of
/// `--table NAME=TOPIC`), or `None` when the key is absent or deleted.
/// Traps when the operator gave no table of that name.
pub fn get(table: &str, key: &[u8]) -> Option<Vec<u8>> {
    #[cfg(target_family = "wasm")]
    return crate::wit::eoshost::transform::tables::get(table, key);
    #[cfg(not(target_family = "wasm"))]
    return native::TABLES.with(|tables| match tables.borrow().get(table) {
        Some(rows) => rows.get(key).cloned(),
        None => panic!("no table \"{table}\": give it with --table {table}=TOPIC (in native tests: tables::insert)"),
    });
}

/// Puts `value` under `key` in the native test table `table`, creating the
/// table (native unit tests only).
#[cfg(not(target_family = "wasm"))]
pub fn insert(table: &str, key: &[u8], value: &[u8]) {
    native::TABLES.with(|tables| {
        tables.borrow_mut().entry(table.to_owned()).or_default().insert(key.to_vec(), value.to_vec());
    });
}

/// Creates the native test table `table` empty, or empties it (native unit
/// tests only): lookups in it then find nothing instead of panicking.
#[cfg(not(target_family = "wasm"))]
pub fn create(table: &str) {
    native::TABLES.with(|tables| {
        tables.borrow_mut().insert(table.to_owned(), Default::default());
    });
}

/// Removes every native test table (native unit tests only).
#[cfg(not(target_family = "wasm"))]
pub fn clear() {
    native::TABLES.with(|tables| tables.borrow_mut().clear());
}

#[cfg(not(target_family = "wasm"))]
mod native {
    use std::cell::RefCell;
    use std::collections::HashMap;

    type Rows = HashMap<Vec<u8>, Vec<u8>>;

    thread_local! {
        pub static TABLES: RefCell<HashMap<String, Rows>> = RefCell::new(HashMap::new());
    }
}
