//! One table's rows: the latest value per key, applied in the topic's
//! order (a tombstone deletes), read by any number of plugin instances at
//! once. Bounded by `--table-max-mb` of key and value bytes.

use std::collections::HashMap;
use std::sync::RwLock;

/// Applying a record would grow a table past `--table-max-mb`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "table \"{table}\" would grow past --table-max-mb ({max_mb} MiB of keys and values); raise --table-max-mb or \
     compact the table's topic (cleanup.policy=compact) so it holds one record per key"
)]
pub struct TableFull {
    pub table: String,
    pub max_mb: usize,
}

#[derive(Debug, Default)]
struct Rows {
    /// foldhash, seeded per process: std's SipHash made loading slower by
    /// a third (`benches/table_memory.rs`).
    map: HashMap<Box<[u8]>, Box<[u8]>, foldhash::fast::RandomState>,
    /// Key and value bytes held.
    bytes: usize,
}

/// One table. Readers share a lock with the one writer, its follower.
#[derive(Debug)]
pub struct Table {
    name: String,
    max_bytes: usize,
    rows: RwLock<Rows>,
}

impl Table {
    pub fn new(name: &str, max_bytes: usize) -> Table {
        Table { name: name.to_owned(), max_bytes, rows: RwLock::new(Rows::default()) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value under `key`, copied out.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.rows.read().unwrap_or_else(|p| p.into_inner()).map.get(key).map(|value| value.to_vec())
    }

    /// Puts `value` under `key`, or deletes `key` for a tombstone (`None`).
    /// Refused, with the table unchanged, past the bound.
    pub fn apply(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), TableFull> {
        let mut guard = self.rows.write().unwrap_or_else(|p| p.into_inner());
        let rows = &mut *guard;
        let Some(value) = value else {
            if let Some(old) = rows.map.remove(key) {
                rows.bytes -= key.len() + old.len();
            }
            return Ok(());
        };
        let full = || TableFull { table: self.name.clone(), max_mb: self.max_bytes >> 20 };
        // One lookup for a key held (the common case of a compacted topic's
        // updates), two for a new one.
        match rows.map.get_mut(key) {
            Some(old) => {
                let bytes = rows.bytes - old.len() + value.len();
                if bytes > self.max_bytes {
                    return Err(full());
                }
                *old = value.into();
                rows.bytes = bytes;
            }
            None => {
                let bytes = rows.bytes + key.len() + value.len();
                if bytes > self.max_bytes {
                    return Err(full());
                }
                rows.map.insert(key.into(), value.into());
                rows.bytes = bytes;
            }
        }
        Ok(())
    }

    /// Keys held.
    pub fn records(&self) -> usize {
        self.rows.read().unwrap_or_else(|p| p.into_inner()).map.len()
    }

    /// Key and value bytes held.
    pub fn bytes(&self) -> usize {
        self.rows.read().unwrap_or_else(|p| p.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_value_wins_and_a_tombstone_deletes() {
        let table = Table::new("t", 1 << 20);
        table.apply(b"k", Some(b"one")).unwrap();
        table.apply(b"k", Some(b"three")).unwrap();
        table.apply(b"j", Some(b"x")).unwrap();
        assert_eq!(table.get(b"k").as_deref(), Some(&b"three"[..]));
        assert_eq!((table.records(), table.bytes()), (2, 1 + 5 + 1 + 1));
        table.apply(b"k", None).unwrap();
        table.apply(b"absent", None).unwrap();
        assert_eq!(table.get(b"k"), None);
        assert_eq!((table.records(), table.bytes()), (1, 2));
    }

    #[test]
    fn growing_past_the_bound_is_refused_naming_the_flag_and_leaves_the_table_unchanged() {
        let table = Table::new("customers", 10);
        table.apply(b"k", Some(b"12345678")).unwrap();
        let full = table.apply(b"j", Some(b"1")).unwrap_err();
        assert!(full.to_string().contains("--table-max-mb") && full.to_string().contains("\"customers\""), "{full}");
        assert_eq!((table.records(), table.bytes()), (1, 9));
        // Replacing a value by a smaller one frees room.
        table.apply(b"k", Some(b"1")).unwrap();
        table.apply(b"j", Some(b"1")).unwrap();
        assert_eq!(table.bytes(), 4);
    }
}
