//! The state of stateful plugins, in memory, and the one owner of it: a
//! table per (input topic, input partition, plugin), the scope of the record
//! in process, the undo logs that take back the writes of a record that did
//! not complete and of a transaction that aborted, and the keys the open
//! transaction changed (its changelog records). Bounded by `--state-max-mb`.
//! Plugins' timers and their partitions' stream time live here too, each
//! plugin's in a table of their own (`timers.rs`), kept exactly as state.

use super::timers::{self, Clock, TIMERS_SUFFIX, Timer};
use crate::kafka::TopicPartition;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// foldhash, seeded per process, as the tables' maps use: std's SipHash
/// was the largest cost of a state write and of a timer.
type FastHash = foldhash::fast::RandomState;
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
    #[error("the state and timers interfaces may be called only from transform and on-timer, not from init")]
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
    /// The table the last lookup found: records come in runs from one
    /// partition, so this saves most lookups (and their allocations).
    recent: usize,
    /// What `wall-clock-time` answers: `None`, the system clock; `Some`, a
    /// clock that moves only when told (`eoshost test`).
    fixed_wall_clock: Option<i64>,
    /// Writes of the record in process, oldest first.
    record_undo: Vec<Undo>,
    /// Writes of the completed records of the open transaction, oldest
    /// first: also the keys it changed (its changelog records).
    transaction_undo: Vec<Undo>,
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
    entries: Entries,
    /// Timers held (a timers' table's entries but its stream time).
    timers: usize,
    /// A timers' table's stream time, as its entry holds it (asked for on
    /// every record, so kept at hand).
    stream_time: Option<i64>,
    /// The index of the timers' table of this plugin and partition, once
    /// looked up (a state table's).
    timers_table: Option<usize>,
}

/// A table's entries: hashed for a plugin's state, ordered for its timers
/// (the due ones are a range).
enum Entries {
    Hashed(HashMap<Vec<u8>, Vec<u8>, FastHash>),
    Ordered(BTreeMap<Vec<u8>, Vec<u8>>),
}

impl Entries {
    fn get(&self, key: &[u8]) -> Option<&Vec<u8>> {
        match self {
            Entries::Hashed(map) => map.get(key),
            Entries::Ordered(map) => map.get(key),
        }
    }

    fn insert(&mut self, key: Vec<u8>, value: Vec<u8>) -> Option<Vec<u8>> {
        match self {
            Entries::Hashed(map) => map.insert(key, value),
            Entries::Ordered(map) => map.insert(key, value),
        }
    }

    fn remove(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        match self {
            Entries::Hashed(map) => map.remove(key),
            Entries::Ordered(map) => map.remove(key),
        }
    }

    fn len(&self) -> usize {
        match self {
            Entries::Hashed(map) => map.len(),
            Entries::Ordered(map) => map.len(),
        }
    }

    /// Bytes of keys and values.
    fn bytes(&self) -> usize {
        match self {
            Entries::Hashed(map) => map.iter().map(|(k, v)| k.len() + v.len()).sum(),
            Entries::Ordered(map) => map.iter().map(|(k, v)| k.len() + v.len()).sum(),
        }
    }
}

impl Table {
    fn new(scope: Scope) -> Self {
        let entries = match scope.plugin.ends_with(TIMERS_SUFFIX) {
            true => Entries::Ordered(BTreeMap::new()),
            false => Entries::Hashed(HashMap::default()),
        };
        Table { scope, entries, timers: 0, stream_time: None, timers_table: None }
    }

    /// Stores `value` under `key`; returns the value replaced.
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Option<Vec<u8>> {
        let ordered = matches!(self.entries, Entries::Ordered(_));
        if ordered && key == timers::STREAM_TIME_KEY {
            self.stream_time = timers::decode_stream_time(&value);
        }
        let timer = ordered && timers::is_timer(&key);
        let replaced = self.entries.insert(key, value);
        if timer && replaced.is_none() {
            self.timers += 1;
        }
        replaced
    }

    /// Removes `key`; returns its value.
    fn take(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        let removed = self.entries.remove(key);
        if removed.is_some() && matches!(self.entries, Entries::Ordered(_)) {
            if timers::is_timer(key) {
                self.timers -= 1;
            } else if key == timers::STREAM_TIME_KEY {
                self.stream_time = None;
            }
        }
        removed
    }
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
            recent: usize::MAX,
            fixed_wall_clock: None,
            record_undo: Vec::new(),
            transaction_undo: Vec::new(),
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
        if let Some(Some(table)) = self.tables.get(self.recent)
            && table.scope.partition == partition
            && table.scope.topic == topic
            && table.scope.plugin == plugin
        {
            return self.recent;
        }
        let scope = Scope { topic: topic.to_owned(), partition, plugin: plugin.to_owned() };
        let index = match self.index.get(&scope) {
            Some(&index) => index,
            None => {
                self.tables.push(Some(Table::new(scope.clone())));
                let index = self.tables.len() - 1;
                self.index.insert(scope, index);
                index
            }
        };
        self.recent = index;
        index
    }

    /// The timers' table beside state table `index` (same partition, same
    /// plugin), found once and then remembered by the state table.
    fn timers_index(&mut self, index: usize) -> usize {
        let table = self.tables[index].as_ref().expect("a state table in use exists");
        if let Some(timers) = table.timers_table {
            return timers;
        }
        let scope = table.scope.clone();
        let timers = self.table_index(&scope.topic, scope.partition, &format!("{}{TIMERS_SUFFIX}", scope.plugin));
        self.tables[index].as_mut().expect("checked above").timers_table = Some(timers);
        timers
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
        let (index, _) = self.current_table()?;
        let undo = self.write(index, key, value)?;
        self.record_undo.push(undo);
        Ok(())
    }

    /// Writes `value` under `key` in table `index`, within the bounds;
    /// returns how to take it back.
    fn write(&mut self, index: usize, key: Vec<u8>, value: Vec<u8>) -> Result<Undo, StateError> {
        let table = self.tables[index].as_mut().expect("a table being written exists");
        let grows = key.len() + value.len();
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
        // Written first and taken back if over the bound (rare): one
        // lookup instead of two.
        let before = table.put(key.clone(), value);
        let shrinks = before.as_ref().map_or(0, |value| key.len() + value.len());
        if self.bytes - shrinks + grows > self.max_bytes {
            match before {
                Some(value) => table.put(key, value),
                None => table.take(&key),
            };
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
        self.bytes = self.bytes - shrinks + grows;
        Ok(Undo { table: index, key, before })
    }

    pub fn delete(&mut self, key: &[u8]) -> Result<(), StateError> {
        let (index, _) = self.current_table()?;
        self.remove(index, key);
        Ok(())
    }

    /// Removes `key` from table `index` as a write of the record in
    /// process; `false` when it was absent.
    fn remove(&mut self, index: usize, key: &[u8]) -> bool {
        let table = self.tables[index].as_mut().expect("a table being written exists");
        let Some(before) = table.take(key) else { return false };
        self.bytes -= key.len() + before.len();
        self.record_undo.push(Undo { table: index, key: key.to_vec(), before: Some(before) });
        true
    }

    /// The timers' table of the plugin and partition in process.
    fn timers_table(&mut self) -> Result<usize, StateError> {
        let index = self.current.ok_or(StateError::OutsideTransform)?;
        Ok(self.timers_index(index))
    }

    /// Schedules `timer` for the plugin and partition in process, as a
    /// write of the record (or timer) in process.
    pub fn schedule(&mut self, timer: &Timer) -> Result<(), StateError> {
        let index = self.timers_table()?;
        let undo = self.write(index, timers::encode(timer), Vec::new())?;
        self.record_undo.push(undo);
        Ok(())
    }

    /// Cancels `timer` for the plugin and partition in process; `false`
    /// when there was no such timer.
    pub fn cancel(&mut self, timer: &Timer) -> Result<bool, StateError> {
        let index = self.timers_table()?;
        Ok(self.remove(index, &timers::encode(timer)))
    }

    /// The stream time of the partition in process, as the plugin in
    /// process has seen it.
    pub fn stream_time(&mut self) -> Result<Option<i64>, StateError> {
        let index = self.timers_table()?;
        Ok(self.stream_time_of(index))
    }

    fn stream_time_of(&self, index: usize) -> Option<i64> {
        self.tables[index].as_ref()?.stream_time
    }

    /// The wall clock plugins see, in milliseconds since the Unix epoch.
    pub fn wall_clock_ms(&self) -> i64 {
        self.fixed_wall_clock.unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
        })
    }

    /// Stops the wall clock at `ms` (`eoshost test` moves it by hand).
    pub fn fix_wall_clock(&mut self, ms: i64) {
        self.fixed_wall_clock = Some(ms);
    }

    /// A record with timestamp `time` is processed on `topic`/`partition`:
    /// `plugin`'s stream time there moves up to it (never back). The write
    /// belongs to the open transaction whatever becomes of the record, and
    /// is undone only with it.
    pub fn advance_stream_time(&mut self, topic: &str, partition: i32, plugin: &str, time: i64) -> Result<(), StateError> {
        let state = self.table_index(topic, partition, plugin);
        let index = self.timers_index(state);
        if self.stream_time_of(index).is_some_and(|now| now >= time) {
            return Ok(());
        }
        let undo = self.write(index, timers::stream_time_key(), timers::encode_stream_time(time))?;
        self.transaction_undo.push(undo);
        Ok(())
    }

    /// `plugin`'s stream-time timers on `topic`/`partition` that its stream
    /// time there has reached, earliest first.
    pub fn due_stream_timers(&mut self, topic: &str, partition: i32, plugin: &str) -> Vec<Timer> {
        let state = self.table_index(topic, partition, plugin);
        let index = self.timers_index(state);
        match self.stream_time_of(index) {
            Some(now) => self.due_in(index, Clock::Stream, now),
            None => Vec::new(),
        }
    }

    /// Every wall-clock timer due at `now`, with the plugin and partition
    /// it belongs to (the plugin's scope), earliest first in each table.
    pub fn due_wall_timers(&self, now: i64) -> Vec<(Scope, Timer)> {
        let mut due = Vec::new();
        for (index, table) in self.tables.iter().enumerate() {
            let Some(table) = table else { continue };
            let Some(plugin) = table.scope.plugin.strip_suffix(TIMERS_SUFFIX) else { continue };
            if table.timers == 0 {
                continue;
            }
            let scope = Scope { topic: table.scope.topic.clone(), partition: table.scope.partition, plugin: plugin.to_owned() };
            due.extend(self.due_in(index, Clock::Wall, now).into_iter().map(|timer| (scope.clone(), timer)));
        }
        due
    }

    /// Whether any wall-clock timer is due at `now`.
    pub fn wall_timer_due(&self, now: i64) -> bool {
        let (start, end) = timers::due_range(Clock::Wall, now);
        self.tables.iter().flatten().filter(|table| table.timers > 0).any(|table| match &table.entries {
            Entries::Ordered(map) => map.range(start.clone()..end.clone()).next().is_some(),
            Entries::Hashed(_) => false,
        })
    }

    fn due_in(&self, index: usize, clock: Clock, now: i64) -> Vec<Timer> {
        let Some(Table { entries: Entries::Ordered(map), .. }) = &self.tables[index] else { return Vec::new() };
        let (start, end) = timers::due_range(clock, now);
        map.range(start..end).filter_map(|(key, _)| timers::decode(key)).collect()
    }

    /// The timer is about to fire for the plugin and partition in process:
    /// it is removed, as a write of the firing. `false`: it is gone already
    /// (an earlier firing cancelled it).
    pub fn take_timer(&mut self, timer: &Timer) -> Result<bool, StateError> {
        let index = self.timers_table()?;
        Ok(self.remove(index, &timers::encode(timer)))
    }

    /// Timers held, over every table.
    pub fn timers_pending(&self) -> usize {
        self.tables.iter().flatten().map(|table| table.timers).sum()
    }

    /// The write refused since the last call, if any: the caller stops with
    /// its message (a full state is the operator's to fix).
    pub fn take_refusal(&mut self) -> Option<StateError> {
        self.refusal.take()
    }

    /// The record in process completed: its writes join the transaction's.
    pub fn record_completed(&mut self) {
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
                    table.put(key.clone(), value)
                }
                None => table.take(&key),
            };
            if let Some(after) = after {
                self.bytes -= key.len() + after.len();
            }
        }
    }

    /// The keys the open transaction changed (its completed writes, as its
    /// undo log holds them), with their values now (`None`: deleted), for
    /// the changelog: one record per key.
    pub fn changes(&self) -> Vec<Change<'_>> {
        let mut seen: HashSet<(usize, &[u8]), FastHash> =
            HashSet::with_capacity_and_hasher(self.transaction_undo.len(), FastHash::default());
        let mut changes = Vec::new();
        for undo in &self.transaction_undo {
            if !seen.insert((undo.table, &undo.key)) {
                continue;
            }
            let Some(table) = self.tables[undo.table].as_ref() else { continue };
            changes.push(Change { scope: &table.scope, key: &undo.key, value: table.entries.get(&undo.key).map(Vec::as_slice) });
        }
        changes
    }

    /// The open transaction committed: its writes are final.
    pub fn transaction_committed(&mut self) {
        self.transaction_undo.clear();
    }

    /// The open transaction was aborted: every write of its records (and of
    /// the record in process) is taken back.
    pub fn transaction_aborted(&mut self) {
        self.record_undone();
        let mut log = std::mem::take(&mut self.transaction_undo);
        self.undo(&mut log);
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
                self.bytes -= table.entries.bytes();
                self.index.remove(&table.scope);
            }
            self.record_undo.retain(|u| u.table != index);
            self.transaction_undo.retain(|u| u.table != index);
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
                table.put(key.to_vec(), value.to_vec())
            }
            None => table.take(key),
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

    fn timer(clock: Clock, key: &str, time: i64) -> Timer {
        Timer { clock, key: key.as_bytes().to_vec(), time }
    }

    #[test]
    fn timers_are_scheduled_undone_and_committed_like_state() {
        let mut store = store();
        store.schedule(&timer(Clock::Stream, "a", 20)).unwrap();
        store.schedule(&timer(Clock::Stream, "a", 20)).unwrap();
        store.schedule(&timer(Clock::Wall, "b", 5)).unwrap();
        store.record_completed();
        assert_eq!(store.timers_pending(), 2, "scheduling the same timer twice keeps one");
        store.schedule(&timer(Clock::Stream, "c", 1)).unwrap();
        assert!(store.cancel(&timer(Clock::Wall, "b", 5)).unwrap());
        store.record_undone();
        assert_eq!(store.timers_pending(), 2, "the undone record's schedule and cancel are taken back");
        assert_eq!(store.changes().len(), 2, "one changelog record per timer");
        store.transaction_aborted();
        assert_eq!(store.timers_pending(), 0);
        assert_eq!(store.bytes(), 0, "timers count against --state-max-mb and leave nothing behind");
    }

    #[test]
    fn stream_timers_are_due_once_stream_time_reaches_them_and_never_goes_back() {
        let mut store = store();
        store.schedule(&timer(Clock::Stream, "late", 30)).unwrap();
        store.schedule(&timer(Clock::Stream, "b", 10)).unwrap();
        store.schedule(&timer(Clock::Stream, "a", 10)).unwrap();
        store.record_completed();
        store.leave();
        assert!(store.due_stream_timers("orders", 3, "counter").is_empty(), "no stream time yet");
        store.advance_stream_time("orders", 3, "counter", 10).unwrap();
        store.advance_stream_time("orders", 3, "counter", 4).unwrap();
        let due = store.due_stream_timers("orders", 3, "counter");
        assert_eq!(due, [timer(Clock::Stream, "a", 10), timer(Clock::Stream, "b", 10)], "earliest first, then by key");
        assert!(store.due_stream_timers("orders", 4, "counter").is_empty(), "stream time is per partition");
        store.enter("orders", 3, "counter");
        assert_eq!(store.stream_time().unwrap(), Some(10), "an older record does not move stream time back");
        assert!(store.take_timer(&due[0]).unwrap());
        assert!(!store.take_timer(&due[0]).unwrap(), "a timer fires once");
        store.record_completed();
        assert_eq!(store.timers_pending(), 2);
    }

    #[test]
    fn wall_timers_are_due_by_the_wall_clock_on_every_partition() {
        let mut store = store();
        store.fix_wall_clock(1_000);
        store.schedule(&timer(Clock::Wall, "x", 1_000)).unwrap();
        store.schedule(&timer(Clock::Wall, "y", 1_001)).unwrap();
        store.enter("orders", 5, "counter");
        store.schedule(&timer(Clock::Wall, "z", 900)).unwrap();
        store.record_completed();
        store.leave();
        assert!(store.wall_timer_due(store.wall_clock_ms()));
        let mut due = store.due_wall_timers(store.wall_clock_ms());
        due.sort_by_key(|(scope, _)| scope.partition);
        let due: Vec<(i32, &str, i64)> =
            due.iter().map(|(scope, t)| (scope.partition, std::str::from_utf8(&t.key).unwrap(), t.time)).collect();
        assert_eq!(due, [(3, "x", 1_000), (5, "z", 900)]);
        assert!(!store.wall_timer_due(899));
    }

    #[test]
    fn timers_and_stream_time_come_back_from_the_changelog_in_order() {
        let mut store = store();
        store.schedule(&timer(Clock::Stream, "b", 7)).unwrap();
        store.schedule(&timer(Clock::Stream, "a", 9)).unwrap();
        store.record_completed();
        store.leave();
        store.advance_stream_time("orders", 3, "counter", 8).unwrap();
        let changelog: Vec<(Scope, Vec<u8>, Option<Vec<u8>>)> =
            store.changes().iter().map(|c| (c.scope.clone(), c.key.to_vec(), c.value.map(<[u8]>::to_vec))).collect();
        store.transaction_committed();
        let mut restored = StateStore::new(1 << 20);
        for (scope, key, value) in &changelog {
            restored.load(scope, key, value.as_deref()).unwrap();
        }
        assert_eq!(restored.timers_pending(), 2);
        assert_eq!(restored.due_stream_timers("orders", 3, "counter"), [timer(Clock::Stream, "b", 7)]);
        restored.revoked([TopicPartition::new("orders", 3)]);
        assert_eq!(restored.timers_pending(), 0, "a revoked partition's timers go with its state");
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
