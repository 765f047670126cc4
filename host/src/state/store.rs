//! The state of stateful plugins, in memory, and the one owner of it: a
//! table per (input topic, input partition, plugin), the scope of the record
//! in process, the undo logs that take back the writes of a record that did
//! not complete and of a transaction that aborted, and the keys the open
//! transaction changed (its changelog records). Bounded by `--state-max-mb`.

use crate::kafka::TopicPartition;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// The store, shared by the plugin instances' host calls, the open
/// transaction (commit, abort) and the restore on assignment. Never held
/// across a plugin call or a Kafka call.
#[derive(Clone)]
pub struct SharedState(Arc<Mutex<StateStore>>);

impl SharedState {
    pub fn new(max_bytes: usize) -> Self {
        SharedState(Arc::new(Mutex::new(StateStore::new(max_bytes))))
    }

    pub fn lock(&self) -> MutexGuard<'_, StateStore> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whose state a table is: the input partition and the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub topic: String,
    pub partition: i32,
    pub plugin: String,
}

/// Why a state call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error(
        "the state of the partitions this instance owns would grow past --state-max-mb ({max_mb} MiB) with a write of \
         {bytes} bytes by plugin {plugin} on {topic}/{partition}; raise --state-max-mb, run more instances, or make the \
         plugin delete keys it no longer needs"
    )]
    Full { max_mb: usize, bytes: usize, plugin: String, topic: String, partition: i32 },
    #[error(
        "plugin {plugin} wrote a state entry of {bytes} bytes on {topic}/{partition}, more than a changelog record may \
         hold ({max} bytes, from message.max.bytes); raise -X message.max.bytes=… (and the state topic's \
         max.message.bytes) or make the plugin store smaller values"
    )]
    TooLarge { bytes: usize, max: usize, plugin: String, topic: String, partition: i32 },
    #[error("the state interface may be called only from transform, not from init")]
    OutsideTransform,
}

/// A key the open transaction changed: one changelog record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<'a> {
    pub scope: &'a Scope,
    pub key: &'a [u8],
    /// The value now; `None`: deleted (a tombstone).
    pub value: Option<&'a [u8]>,
}

struct Undo {
    table: usize,
    key: Vec<u8>,
    /// The value before the write; `None`: the key was absent.
    before: Option<Vec<u8>>,
}

/// Every table, the scope of the call in progress, and the undo logs.
pub struct StateStore {
    tables: Vec<Option<Table>>,
    index: HashMap<Scope, usize>,
    /// Bytes of keys and values held, over every table.
    bytes: usize,
    max_bytes: usize,
    /// The largest key and value one changelog record may carry.
    max_entry_bytes: usize,
    /// The table of the record in process, while a plugin call runs.
    current: Option<usize>,
    /// Writes of the record in process, oldest first.
    record_undo: Vec<Undo>,
    /// Writes of the completed records of the open transaction.
    transaction_undo: Vec<Undo>,
    /// Keys the open transaction's completed records changed.
    changed: HashSet<(usize, Vec<u8>)>,
    /// The first refused write since the last look ([`StateStore::take_refusal`]).
    refusal: Option<StateError>,
    /// Input partitions whose state must be (re)read from the changelog
    /// before their records are processed.
    to_restore: BTreeSet<TopicPartition>,
    /// Every owned partition must be restored (a commit whose outcome is
    /// unknown failed).
    restore_all: bool,
}

struct Table {
    scope: Scope,
    entries: HashMap<Vec<u8>, Vec<u8>>,
}

impl StateStore {
    pub fn new(max_bytes: usize) -> Self {
        StateStore {
            tables: Vec::new(),
            index: HashMap::new(),
            bytes: 0,
            max_bytes,
            max_entry_bytes: usize::MAX,
            current: None,
            record_undo: Vec::new(),
            transaction_undo: Vec::new(),
            changed: HashSet::new(),
            refusal: None,
            to_restore: BTreeSet::new(),
            restore_all: false,
        }
    }

    /// Refuses entries whose changelog record would be larger than
    /// `bytes` (what the producer accepts, less the record's framing).
    pub fn limit_entries(&mut self, bytes: usize) {
        self.max_entry_bytes = bytes;
    }

    fn table_index(&mut self, topic: &str, partition: i32, plugin: &str) -> usize {
        if let Some(index) = self.current
            && let Some(table) = &self.tables[index]
            && table.scope.partition == partition
            && table.scope.topic == topic
            && table.scope.plugin == plugin
        {
            return index;
        }
        let scope = Scope { topic: topic.to_owned(), partition, plugin: plugin.to_owned() };
        if let Some(&index) = self.index.get(&scope) {
            return index;
        }
        self.tables.push(Some(Table { scope: scope.clone(), entries: HashMap::new() }));
        let index = self.tables.len() - 1;
        self.index.insert(scope, index);
        index
    }

    /// The plugin `plugin` is about to be called on a record of
    /// `topic`/`partition`: its state calls go to that table.
    pub fn enter(&mut self, topic: &str, partition: i32, plugin: &str) {
        self.current = Some(self.table_index(topic, partition, plugin));
    }

    /// The plugin call is over (the table stays current as a cache for the
    /// next record, but calls outside a transform are refused again).
    pub fn leave(&mut self) -> Option<usize> {
        self.current.take()
    }

    fn current_table(&self) -> Result<(usize, &Table), StateError> {
        let index = self.current.ok_or(StateError::OutsideTransform)?;
        Ok((index, self.tables[index].as_ref().expect("the current table exists")))
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let (_, table) = self.current_table()?;
        Ok(table.entries.get(key).cloned())
    }

    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError> {
        let (index, table) = self.current_table()?;
        let before_len = table.entries.get(&key).map(Vec::len);
        let grows = key.len() + value.len();
        let shrinks = before_len.map_or(0, |len| key.len() + len);
        // The changelog key also carries the topic and the plugin.
        let entry = grows + table.scope.topic.len() + table.scope.plugin.len() + 2;
        if entry > self.max_entry_bytes {
            let scope = &table.scope;
            let refusal = StateError::TooLarge {
                bytes: entry,
                max: self.max_entry_bytes,
                plugin: scope.plugin.clone(),
                topic: scope.topic.clone(),
                partition: scope.partition,
            };
            self.refusal.get_or_insert(refusal.clone());
            return Err(refusal);
        }
        if self.bytes - shrinks + grows > self.max_bytes {
            let scope = &table.scope;
            let refusal = StateError::Full {
                max_mb: self.max_bytes >> 20,
                bytes: grows,
                plugin: scope.plugin.clone(),
                topic: scope.topic.clone(),
                partition: scope.partition,
            };
            self.refusal.get_or_insert(refusal.clone());
            return Err(refusal);
        }
        let table = self.tables[index].as_mut().expect("the current table exists");
        let before = table.entries.insert(key.clone(), value);
        self.bytes = self.bytes - shrinks + grows;
        self.record_undo.push(Undo { table: index, key, before });
        Ok(())
    }

    pub fn delete(&mut self, key: &[u8]) -> Result<(), StateError> {
        let (index, _) = self.current_table()?;
        let table = self.tables[index].as_mut().expect("the current table exists");
        if let Some(before) = table.entries.remove(key) {
            self.bytes -= key.len() + before.len();
            self.record_undo.push(Undo { table: index, key: key.to_vec(), before: Some(before) });
        }
        Ok(())
    }

    /// The write refused since the last call, if any: the caller stops with
    /// its message (a full state is the operator's to fix).
    pub fn take_refusal(&mut self) -> Option<StateError> {
        self.refusal.take()
    }

    /// The record in process completed: its writes join the transaction's.
    pub fn record_completed(&mut self) {
        for undo in &self.record_undo {
            if !self.changed.contains(&(undo.table, undo.key.clone())) {
                self.changed.insert((undo.table, undo.key.clone()));
            }
        }
        self.transaction_undo.append(&mut self.record_undo);
    }

    /// The record in process did not complete: its writes are taken back.
    pub fn record_undone(&mut self) {
        let mut log = std::mem::take(&mut self.record_undo);
        self.undo(&mut log);
    }

    fn undo(&mut self, log: &mut Vec<Undo>) {
        while let Some(Undo { table, key, before }) = log.pop() {
            let Some(table) = self.tables[table].as_mut() else { continue };
            let after = match before {
                Some(value) => {
                    self.bytes += key.len() + value.len();
                    table.entries.insert(key.clone(), value)
                }
                None => table.entries.remove(&key),
            };
            if let Some(after) = after {
                self.bytes -= key.len() + after.len();
            }
        }
    }

    /// The keys the open transaction changed, with their values now
    /// (`None`: deleted), for the changelog: one record per key.
    pub fn changes(&self) -> Vec<Change<'_>> {
        self.changed
            .iter()
            .filter_map(|(index, key)| {
                let table = self.tables[*index].as_ref()?;
                Some(Change { scope: &table.scope, key, value: table.entries.get(key).map(Vec::as_slice) })
            })
            .collect()
    }

    /// The open transaction committed: its writes are final.
    pub fn transaction_committed(&mut self) {
        self.transaction_undo.clear();
        self.changed.clear();
    }

    /// The open transaction was aborted: every write of its records (and of
    /// the record in process) is taken back.
    pub fn transaction_aborted(&mut self) {
        self.record_undone();
        let mut log = std::mem::take(&mut self.transaction_undo);
        self.undo(&mut log);
        self.changed.clear();
    }

    /// A commit failed in a way that may have committed it after all: the
    /// state of every owned partition is read again from the changelog.
    pub fn restore_everything(&mut self) {
        self.restore_all = true;
    }

    /// Partitions were assigned: their state is read from the changelog
    /// before any of their records is processed.
    pub fn assigned(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        for tp in partitions {
            self.forget_partition(&tp.topic, tp.partition);
            self.to_restore.insert(tp);
        }
    }

    /// Partitions were revoked or lost: their state is dropped.
    pub fn revoked(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        for tp in partitions {
            self.forget_partition(&tp.topic, tp.partition);
            self.to_restore.remove(&tp);
        }
    }

    /// What to restore now: the partitions waiting, or `None` for every
    /// owned one. Taken: a failed restore is the caller's to report.
    pub fn take_restore(&mut self) -> Option<Option<BTreeSet<TopicPartition>>> {
        if std::mem::take(&mut self.restore_all) {
            self.to_restore.clear();
            return Some(None);
        }
        if self.to_restore.is_empty() {
            return None;
        }
        Some(Some(std::mem::take(&mut self.to_restore)))
    }

    /// Drops every table of an input partition (all plugins).
    pub fn forget_partition(&mut self, topic: &str, partition: i32) {
        let doomed: Vec<usize> = self
            .index
            .iter()
            .filter(|(scope, _)| scope.partition == partition && scope.topic == topic)
            .map(|(_, &index)| index)
            .collect();
        for index in doomed {
            if let Some(table) = self.tables[index].take() {
                self.bytes -= table.entries.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
                self.index.remove(&table.scope);
            }
            self.record_undo.retain(|u| u.table != index);
            self.transaction_undo.retain(|u| u.table != index);
            self.changed.retain(|(table, _)| *table != index);
            if self.current == Some(index) {
                self.current = None;
            }
        }
    }

    /// One entry read back from the changelog (`None`: deleted), outside
    /// any transaction.
    pub fn load(&mut self, scope: &Scope, key: &[u8], value: Option<&[u8]>) -> Result<(), StateError> {
        let index = self.table_index(&scope.topic, scope.partition, &scope.plugin);
        let table = self.tables[index].as_mut().expect("just found");
        let before = match value {
            Some(value) => {
                let replaced = table.entries.get(key).map_or(0, |v| key.len() + v.len());
                if self.bytes - replaced + key.len() + value.len() > self.max_bytes {
                    return Err(StateError::Full {
                        max_mb: self.max_bytes >> 20,
                        bytes: key.len() + value.len(),
                        plugin: scope.plugin.clone(),
                        topic: scope.topic.clone(),
                        partition: scope.partition,
                    });
                }
                self.bytes += key.len() + value.len();
                table.entries.insert(key.to_vec(), value.to_vec())
            }
            None => table.entries.remove(key),
        };
        if let Some(before) = before {
            self.bytes -= key.len() + before.len();
        }
        Ok(())
    }

    /// Keys held for an input partition, over every plugin.
    pub fn keys_of(&self, topic: &str, partition: i32) -> usize {
        self.tables
            .iter()
            .flatten()
            .filter(|t| t.scope.partition == partition && t.scope.topic == topic)
            .map(|t| t.entries.len())
            .sum()
    }

    /// Bytes of keys and values held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StateStore {
        let mut store = StateStore::new(1 << 20);
        store.enter("orders", 3, "counter");
        store
    }

    #[test]
    fn a_record_that_does_not_complete_leaves_no_write_behind() {
        let mut store = store();
        store.set(b"k".to_vec(), b"1".to_vec()).unwrap();
        store.record_completed();
        store.set(b"k".to_vec(), b"2".to_vec()).unwrap();
        store.set(b"j".to_vec(), b"x".to_vec()).unwrap();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"2"[..]));
        store.record_undone();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(store.get(b"j").unwrap(), None);
        assert_eq!(store.bytes(), 2);
        let changes = store.changes();
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].key, changes[0].value), (&b"k"[..], Some(&b"1"[..])));
    }

    #[test]
    fn an_aborted_transaction_takes_back_every_write_and_a_commit_keeps_them() {
        let mut store = store();
        store.set(b"k".to_vec(), b"1".to_vec()).unwrap();
        store.record_completed();
        store.transaction_committed();
        store.set(b"k".to_vec(), b"2".to_vec()).unwrap();
        store.record_completed();
        store.delete(b"k").unwrap();
        store.record_completed();
        assert_eq!(store.get(b"k").unwrap(), None);
        assert_eq!(store.changes().len(), 1, "one changelog record per changed key");
        assert_eq!(store.changes()[0].value, None, "a deleted key is a tombstone");
        store.transaction_aborted();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"1"[..]));
        assert!(store.changes().is_empty());
        assert_eq!(store.bytes(), 2);
    }

    #[test]
    fn state_is_scoped_to_the_input_partition_and_the_plugin() {
        let mut store = store();
        store.set(b"k".to_vec(), b"p3".to_vec()).unwrap();
        store.enter("orders", 4, "counter");
        assert_eq!(store.get(b"k").unwrap(), None);
        store.enter("orders", 3, "dedup");
        assert_eq!(store.get(b"k").unwrap(), None);
        store.enter("orders", 3, "counter");
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"p3"[..]));
        store.leave();
        assert_eq!(store.get(b"k"), Err(StateError::OutsideTransform));
    }

    #[test]
    fn a_write_past_the_bound_is_refused_with_the_flag_to_raise() {
        let mut store = StateStore::new(10);
        store.enter("orders", 0, "counter");
        store.set(b"k".to_vec(), b"12345678".to_vec()).unwrap();
        let refused = store.set(b"j".to_vec(), b"1".to_vec()).unwrap_err();
        assert!(refused.to_string().contains("--state-max-mb"), "{refused}");
        assert_eq!(store.take_refusal(), Some(refused));
        // Replacing a value with one of the same size fits.
        store.set(b"k".to_vec(), b"87654321".to_vec()).unwrap();
    }

    #[test]
    fn an_entry_larger_than_a_changelog_record_may_hold_is_refused() {
        let mut store = store();
        store.limit_entries(64);
        store.set(b"k".to_vec(), vec![0; 40]).unwrap();
        let refused = store.set(b"k".to_vec(), vec![0; 60]).unwrap_err();
        assert!(refused.to_string().contains("message.max.bytes"), "{refused}");
        assert_eq!(store.get(b"k").unwrap().map(|v| v.len()), Some(40), "the refused write left nothing behind");
    }

    #[test]
    fn revoking_a_partition_drops_its_tables_and_their_pending_writes() {
        let mut store = store();
        store.set(b"k".to_vec(), b"1".to_vec()).unwrap();
        store.record_completed();
        store.revoked([TopicPartition::new("orders", 3)]);
        assert_eq!(store.bytes(), 0);
        assert!(store.changes().is_empty());
        assert_eq!(store.keys_of("orders", 3), 0);
    }
}
