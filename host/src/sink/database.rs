//! The sink's side of PostgreSQL: the connection (re-made after it breaks),
//! reading `eoshost_offsets`, and committing a batch — rows (or, under
//! `--columns auto`, the changes to the user's table), dead letters and
//! offsets in one database transaction, guarded against zombies. A change
//! PostgreSQL refuses (a CHECK, a trigger, NOT NULL) is found record by
//! record, each in a savepoint, and that record follows `--on-error`; the
//! others commit.
//!
//! The guard: the transaction locks the offset rows of the batch's
//! partitions (`SELECT … FOR UPDATE`, in key order so two instances never
//! deadlock) and goes on only if each `next_offset` is still the one the
//! batch was built on (or, for a partition new to the group, if its row can
//! be inserted). An instance that lost its partitions while paused finds
//! another owner's offsets there and rolls back. A COMMIT whose answer never
//! came is resolved by reading `next_offset` again before anything else.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{Json, ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls};

use super::batch::{Batch, DeadLetterRow, Partition, RecordChanges};
use super::columns::{ColumnsSpec, UserTable};
use super::schema::{self, OFFSETS_TABLE, STATE_TABLE, quote_identifier};
use crate::policy::{OnError, RecordId};
use crate::redact;

/// Bound on connecting; the loop retries with backoff.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a commit attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Rows and offsets are in the database.
    Committed,
    /// Another instance moved one of the batch's partitions: nothing was
    /// written; the batch must be dropped and its partitions re-read.
    Stale(String),
}

/// Why the database could not be used; the caller decides.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Down, unreachable, restarting, or a transient conflict: keep the
    /// batch, retry with backoff.
    #[error("PostgreSQL is unavailable: {0}")]
    Unavailable(String),
    /// The database refuses what eoshost asks (a table dropped, rows the
    /// offsets say were never written): retrying cannot help.
    #[error("{0}")]
    Fatal(String),
    /// PostgreSQL refused a record's change under `--on-error fail`:
    /// nothing of the batch was committed.
    #[error("record at {record} failed: {error}")]
    Refused { record: RecordId, error: String },
    /// PostgreSQL refused these records' changes and a stateful plugin's
    /// writes cannot be taken back record by record: nothing of the batch
    /// was committed; the caller condemns them (`--on-error` applies when
    /// they come back) and processes the batch again.
    #[error("PostgreSQL refused the changes of {} record(s); processing the batch again without them", .0.len())]
    RefusedStateful(Vec<(RecordId, String)>),
}

/// One key of a stateful plugin's state as the sink's state table holds it
/// (`value` `None`: deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRow {
    pub partition: Partition,
    pub plugin: String,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// A record whose change PostgreSQL refused, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub record: RecordId,
    pub error: String,
    /// Written to the dead-letter table (`--on-error dlq`), else skipped.
    pub dead_lettered: bool,
}

/// What the user's table needs at commit, under `--columns auto`.
struct UserTarget {
    table: Arc<UserTable>,
    on_error: OnError,
    plugin: String,
}

/// The sink's connection and the group whose offsets it keeps.
pub struct Database {
    config: postgres::Config,
    url: String,
    group: String,
    table: String,
    client: Option<Client>,
    /// A COMMIT was sent and its answer lost: resolve before anything else.
    commit_unknown: bool,
    /// `--columns auto`: the user's table; `None`: the landing table.
    user: Option<UserTarget>,
    /// The records refused in the last commit ([`Database::take_refused`]).
    refused: Vec<Refusal>,
    /// A plugin keeps state: it lives in `eoshost_state`.
    stateful: bool,
}

/// Whether an error means "the database is not there right now" (or a
/// transient conflict), as opposed to one retrying cannot fix.
pub fn is_unavailable(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        // No SQLSTATE: an I/O or protocol failure, or a timeout.
        None => true,
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::LOCK_NOT_AVAILABLE,
                    SqlState::QUERY_CANCELED,
                ]
                .contains(code)
        }
    }
}

fn classify(what: &str, error: postgres::Error) -> DbError {
    if is_unavailable(&error) {
        DbError::Unavailable(format!("{what}: {error}"))
    } else {
        DbError::Fatal(format!("{what}: {error}"))
    }
}

/// Parses and opens a connection, with the bounded connect timeout.
pub fn connect(url: &str) -> Result<(postgres::Config, Client), DbError> {
    let mut config = postgres::Config::from_str(url).map_err(|e| {
        DbError::Fatal(format!(
            "--postgres-url {} is not a PostgreSQL connection URL ({e}); write postgres://USER@HOST:PORT/DATABASE",
            redact::urls(url)
        ))
    })?;
    config.connect_timeout(CONNECT_TIMEOUT);
    config.application_name("eoshost");
    let client = config.connect(NoTls).map_err(|e| classify(&format!("cannot connect to {}", redact::urls(url)), e))?;
    Ok((config, client))
}

impl Database {
    /// Connects and prepares the tables (created when missing, their shape
    /// checked); under `--columns auto` (`columns`) reads the user's table
    /// instead of creating the landing table. `on_error` and `plugin` say
    /// what a record PostgreSQL refuses becomes.
    pub fn open(
        url: &str,
        group: &str,
        table: &str,
        columns: Option<ColumnsSpec>,
        on_error: OnError,
        plugin: &str,
        stateful: bool,
    ) -> Result<Database, OpenError> {
        let (config, mut client) = connect(url).map_err(OpenError::Connect)?;
        // The user's table is checked before eoshost creates any of its own.
        let user = match columns {
            None => None,
            Some(spec) => Some(UserTarget {
                table: Arc::new(UserTable::open(&mut client, table, spec).map_err(OpenError::UserTable)?),
                on_error,
                plugin: plugin.to_owned(),
            }),
        };
        schema::prepare(&mut client, table, user.is_none(), stateful)?;
        Ok(Database {
            user,
            refused: Vec::new(),
            stateful,
            config,
            url: url.to_owned(),
            group: group.to_owned(),
            table: table.to_owned(),
            client: Some(client),
            commit_unknown: false,
        })
    }

    /// The user's table under `--columns auto`.
    pub fn user_table(&self) -> Option<Arc<UserTable>> {
        self.user.as_ref().map(|user| user.table.clone())
    }

    /// The records PostgreSQL refused in the last commit that succeeded.
    pub fn take_refused(&mut self) -> Vec<Refusal> {
        std::mem::take(&mut self.refused)
    }

    fn client(&mut self) -> Result<&mut Client, DbError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            let client =
                self.config.connect(NoTls).map_err(|e| classify(&format!("cannot connect to {}", redact::urls(&self.url)), e))?;
            tracing::info!(url = %redact::urls(&self.url), "connected to PostgreSQL");
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Drops the connection after an error that may have left it unusable.
    fn forget_on(&mut self, error: &DbError) {
        if matches!(error, DbError::Unavailable(_)) {
            self.client = None;
        }
    }

    /// The committed next offset of each partition that has a row and,
    /// when a plugin keeps state, the state those offsets belong to: read
    /// in one snapshot, so they agree.
    pub fn read_seed(&mut self, partitions: &[Partition]) -> Result<(HashMap<Partition, i64>, Vec<StateRow>), DbError> {
        if !self.stateful {
            return Ok((self.read_offsets(partitions)?, Vec::new()));
        }
        let (topics, numbers): (Vec<&str>, Vec<i32>) = partitions.iter().map(|tp| (tp.topic.as_str(), tp.partition)).unzip();
        let group = self.group.clone();
        let result = self.client().and_then(|client| {
            let read = |e| classify(&format!("cannot read {OFFSETS_TABLE} and {STATE_TABLE}"), e);
            let mut txn = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(read)?;
            let offsets = txn
                .query(
                    &format!(
                        "SELECT topic, partition, next_offset FROM {OFFSETS_TABLE} WHERE group_id = $1 \
                         AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))"
                    ),
                    &[&group, &topics, &numbers],
                )
                .map_err(read)?;
            let state = txn
                .query(
                    &format!(
                        "SELECT topic, partition, plugin, key, value FROM {STATE_TABLE} WHERE group_id = $1 \
                         AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))"
                    ),
                    &[&group, &topics, &numbers],
                )
                .map_err(read)?;
            txn.commit().map_err(read)?;
            Ok((offsets, state))
        });
        match result {
            Ok((offsets, state)) => Ok((
                offsets.iter().map(|row| (Partition::new(row.get::<_, String>(0), row.get(1)), row.get(2))).collect(),
                state
                    .iter()
                    .map(|row| StateRow {
                        partition: Partition::new(row.get::<_, String>(0), row.get(1)),
                        plugin: row.get(2),
                        key: row.get(3),
                        value: row.get(4),
                    })
                    .collect(),
            )),
            Err(error) => {
                self.forget_on(&error);
                Err(error)
            }
        }
    }

    /// The committed next offset of each partition that has a row.
    pub fn read_offsets(&mut self, partitions: &[Partition]) -> Result<HashMap<Partition, i64>, DbError> {
        let (topics, numbers): (Vec<&str>, Vec<i32>) = partitions.iter().map(|tp| (tp.topic.as_str(), tp.partition)).unzip();
        let group = self.group.clone();
        let result = self.client().and_then(|client| {
            client
                .query(
                    &format!(
                        "SELECT topic, partition, next_offset FROM {OFFSETS_TABLE} WHERE group_id = $1 \
                         AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))"
                    ),
                    &[&group, &topics, &numbers],
                )
                .map_err(|e| classify(&format!("cannot read {OFFSETS_TABLE}"), e))
        });
        match result {
            Ok(rows) => Ok(rows.iter().map(|row| (Partition::new(row.get::<_, String>(0), row.get(1)), row.get(2))).collect()),
            Err(error) => {
                self.forget_on(&error);
                Err(error)
            }
        }
    }

    /// Commits the batch (rows, dead letters, offsets, and `state`: the
    /// stateful plugins' keys the batch changed) in one transaction, or
    /// finds that it may not (a zombie's stale batch).
    pub fn commit(&mut self, batch: &Batch, state: &[StateRow]) -> Result<Outcome, DbError> {
        if self.commit_unknown {
            // The last COMMIT may have landed: the offsets say whether.
            let partitions: Vec<Partition> = batch.spans.keys().cloned().collect();
            let found = self.read_offsets(&partitions)?;
            self.commit_unknown = false;
            if batch.spans.iter().all(|(partition, span)| found.get(partition) == Some(&span.next)) {
                tracing::info!("the COMMIT whose answer was lost had succeeded (the offsets moved)");
                return Ok(Outcome::Committed);
            }
            tracing::info!("the COMMIT whose answer was lost had not succeeded; committing the batch again");
        }
        let result = self.try_commit(batch, state);
        if let Err(error) = &result {
            self.forget_on(error);
        }
        result
    }

    fn try_commit(&mut self, batch: &Batch, state: &[StateRow]) -> Result<Outcome, DbError> {
        let group = self.group.clone();
        let table = quote_identifier(&self.table);
        let dead_letters = quote_identifier(&schema::dead_letter_table(&self.table));
        self.refused.clear();
        let user = self.user.as_ref().map(|user| (user.table.clone(), user.on_error, user.plugin.clone()));
        let stateful = self.stateful;
        let client = self.client()?;
        let mut txn = client.transaction().map_err(|e| classify("cannot begin a transaction", e))?;

        let (topics, numbers): (Vec<&str>, Vec<i32>) = batch.spans.keys().map(|tp| (tp.topic.as_str(), tp.partition)).unzip();
        let locked = txn
            .query(
                &format!(
                    "SELECT topic, partition, next_offset FROM {OFFSETS_TABLE} WHERE group_id = $1 \
                     AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[])) \
                     ORDER BY topic, partition FOR UPDATE"
                ),
                &[&group, &topics, &numbers],
            )
            .map_err(|e| classify(&format!("cannot lock the offset rows in {OFFSETS_TABLE}"), e))?;
        let found: HashMap<Partition, i64> =
            locked.iter().map(|row| (Partition::new(row.get::<_, String>(0), row.get(1)), row.get(2))).collect();
        let (mut new, mut moved) = (Vec::new(), Vec::new());
        for (partition, span) in &batch.spans {
            match (span.base, found.get(partition)) {
                (None, None) => new.push((partition, span.next)),
                (Some(base), Some(now)) if base == *now => moved.push((partition, span.next)),
                (base, now) => {
                    return Ok(Outcome::Stale(format!(
                        "{}/{}: the batch starts after offset {} but {OFFSETS_TABLE} holds {}",
                        partition.topic,
                        partition.partition,
                        base.map_or("(none)".to_owned(), |b| b.to_string()),
                        now.map_or("no row".to_owned(), |n| n.to_string()),
                    )));
                }
            }
        }

        let refused = match &user {
            None => {
                copy_rows(&mut txn, &table, batch)?;
                Vec::new()
            }
            Some((user, on_error, plugin)) => {
                let refused = apply_changes(&mut txn, user, &batch.changes, *on_error)?;
                if stateful && !refused.is_empty() {
                    let refused = refused.into_iter().map(|(_, refusal)| (refusal.record, refusal.error)).collect();
                    return Err(DbError::RefusedStateful(refused));
                }
                let letters: Vec<DeadLetterRow> = refused
                    .iter()
                    .filter(|(_, refusal)| refusal.dead_lettered)
                    .map(|(record, refusal)| DeadLetterRow {
                        source: record.source.clone(),
                        key: record.key.clone(),
                        value: record.value.clone(),
                        headers: record.headers.clone(),
                        error: refusal.error.clone(),
                        plugin: plugin.clone(),
                    })
                    .collect();
                insert_dead_letters(&mut txn, &dead_letters, &letters)?;
                refused.into_iter().map(|(_, refusal)| refusal).collect()
            }
        };
        insert_dead_letters(&mut txn, &dead_letters, &batch.dead_letters)?;
        write_state(&mut txn, &group, state)?;

        if !new.is_empty() {
            let (topics, numbers, nexts) = columns(&new);
            let inserted = txn
                .execute(
                    &format!(
                        "INSERT INTO {OFFSETS_TABLE} (group_id, topic, partition, next_offset) \
                         SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[]) ON CONFLICT DO NOTHING"
                    ),
                    &[&group, &topics, &numbers, &nexts],
                )
                .map_err(|e| classify(&format!("cannot insert into {OFFSETS_TABLE}"), e))?;
            if inserted != new.len() as u64 {
                return Ok(Outcome::Stale("another instance started a partition of this batch at the same time".into()));
            }
        }
        if !moved.is_empty() {
            let (topics, numbers, nexts) = columns(&moved);
            txn.execute(
                &format!(
                    "UPDATE {OFFSETS_TABLE} o SET next_offset = n.next FROM unnest($2::text[], $3::int[], $4::bigint[]) \
                     AS n(topic, partition, next) WHERE o.group_id = $1 AND o.topic = n.topic AND o.partition = n.partition"
                ),
                &[&group, &topics, &numbers, &nexts],
            )
            .map_err(|e| classify(&format!("cannot update {OFFSETS_TABLE}"), e))?;
        }
        if let Err(error) = txn.commit() {
            let error = classify("COMMIT failed", error);
            if matches!(error, DbError::Unavailable(_)) {
                self.commit_unknown = true;
            }
            return Err(error);
        }
        self.refused = refused;
        Ok(Outcome::Committed)
    }
}

fn columns(spans: &[(&Partition, i64)]) -> (Vec<String>, Vec<i32>, Vec<i64>) {
    let mut topics = Vec::with_capacity(spans.len());
    let mut numbers = Vec::with_capacity(spans.len());
    let mut nexts = Vec::with_capacity(spans.len());
    for (tp, next) in spans {
        topics.push(tp.topic.clone());
        numbers.push(tp.partition);
        nexts.push(*next);
    }
    (topics, numbers, nexts)
}

/// A row conflict here means the rows table holds records that
/// `eoshost_offsets` says were never written: someone changed one table
/// without the other.
fn copy_error(table: &str, error: postgres::Error) -> DbError {
    if error.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return DbError::Fatal(format!(
            "{table} already holds rows for source offsets that {OFFSETS_TABLE} says were never written ({error}); \
             the two tables disagree: restore {OFFSETS_TABLE}, or delete those rows, before restarting"
        ));
    }
    classify(&format!("cannot write rows to {table}"), error)
}

fn copy_rows(txn: &mut postgres::Transaction<'_>, table: &str, batch: &Batch) -> Result<(), DbError> {
    if batch.rows.is_empty() {
        return Ok(());
    }
    let sink = txn
        .copy_in(&format!(
            "COPY {table} (source_topic, source_partition, source_offset, output_index, topic, key, value, headers) \
             FROM STDIN (FORMAT binary)"
        ))
        .map_err(|e| copy_error(table, e))?;
    let types = [Type::TEXT, Type::INT4, Type::INT8, Type::INT4, Type::TEXT, Type::BYTEA, Type::BYTEA, Type::JSONB];
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    for row in &batch.rows {
        let headers = Json(&row.headers);
        let values: [&(dyn ToSql + Sync); 8] = [
            &row.source.topic,
            &row.source.partition,
            &row.source.offset,
            &row.output_index,
            &row.topic,
            &row.key,
            &row.value,
            &headers,
        ];
        writer.write(&values).map_err(|e| copy_error(table, e))?;
    }
    writer.finish().map_err(|e| copy_error(table, e))?;
    Ok(())
}

/// The topic, partition, plugin and key columns of state rows.
type StateColumns<'a> = (Vec<&'a str>, Vec<i32>, Vec<&'a str>, Vec<&'a [u8]>);

/// The topic, partition, plugin and key columns of `rows`.
fn state_columns<'a>(rows: &[&'a StateRow]) -> StateColumns<'a> {
    let topics = rows.iter().map(|r| r.partition.topic.as_str()).collect();
    let partitions = rows.iter().map(|r| r.partition.partition).collect();
    let plugins = rows.iter().map(|r| r.plugin.as_str()).collect();
    let keys = rows.iter().map(|r| r.key.as_slice()).collect();
    (topics, partitions, plugins, keys)
}

/// Writes the changed keys of stateful plugins: upserts, then deletes.
fn write_state(txn: &mut postgres::Transaction<'_>, group: &str, rows: &[StateRow]) -> Result<(), DbError> {
    let what = || format!("cannot write {STATE_TABLE}");
    let (mut set, mut deleted): (Vec<&StateRow>, Vec<&StateRow>) = (Vec::new(), Vec::new());
    for row in rows {
        if row.value.is_some() { set.push(row) } else { deleted.push(row) }
    }
    if !set.is_empty() {
        let (topics, partitions, plugins, keys) = state_columns(&set);
        let values: Vec<&[u8]> = set.iter().map(|r| r.value.as_deref().expect("set rows have values")).collect();
        txn.execute(
            &format!(
                "INSERT INTO {STATE_TABLE} (group_id, topic, partition, plugin, key, value) \
                 SELECT $1, * FROM unnest($2::text[], $3::int[], $4::text[], $5::bytea[], $6::bytea[]) \
                 ON CONFLICT (group_id, topic, partition, plugin, key) DO UPDATE SET value = EXCLUDED.value"
            ),
            &[&group, &topics, &partitions, &plugins, &keys, &values],
        )
        .map_err(|e| classify(&what(), e))?;
    }
    if !deleted.is_empty() {
        let (topics, partitions, plugins, keys) = state_columns(&deleted);
        txn.execute(
            &format!(
                "DELETE FROM {STATE_TABLE} s USING unnest($2::text[], $3::int[], $4::text[], $5::bytea[]) AS d(topic, partition, plugin, key) \
                 WHERE s.group_id = $1 AND s.topic = d.topic AND s.partition = d.partition AND s.plugin = d.plugin AND s.key = d.key"
            ),
            &[&group, &topics, &partitions, &plugins, &keys],
        )
        .map_err(|e| classify(&what(), e))?;
    }
    Ok(())
}

/// Whether PostgreSQL refused a row for what it holds (a CHECK or NOT NULL
/// or unique constraint, a value out of range, a trigger's exception):
/// that record's, not the batch's, problem.
fn is_refusal(error: &postgres::Error) -> bool {
    error.code().is_some_and(|code| matches!(&code.code()[..2], "22" | "23" | "27" | "P0"))
}

/// Writes the records' changes to the user's table in one go; when
/// PostgreSQL refuses one, again record by record, each in a savepoint, so
/// that only the records it refuses are left out: each is returned with
/// its refusal (dead-lettered or skipped, by `--on-error`; under `fail` the
/// first one ends the commit).
fn apply_changes<'b>(
    txn: &mut postgres::Transaction<'_>,
    user: &UserTable,
    records: &'b [RecordChanges],
    on_error: OnError,
) -> Result<Vec<(&'b RecordChanges, Refusal)>, DbError> {
    let what = || format!("cannot write to table {}", user.name());
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut all = txn.savepoint("eoshost_batch").map_err(|e| classify(&what(), e))?;
    match user.apply(&mut all, records.iter().flat_map(|r| &r.changes)) {
        Ok(()) => {
            all.commit().map_err(|e| classify(&what(), e))?;
            return Ok(Vec::new());
        }
        Err(error) if is_refusal(&error) => drop(all),
        Err(error) => return Err(classify(&what(), error)),
    }
    let mut refused = Vec::new();
    for record in records {
        let mut one = txn.savepoint("eoshost_record").map_err(|e| classify(&what(), e))?;
        match user.apply(&mut one, &record.changes) {
            Ok(()) => one.commit().map_err(|e| classify(&what(), e))?,
            Err(error) if is_refusal(&error) => {
                drop(one);
                let reason = error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_owned());
                let error = format!("rejected: PostgreSQL refused the row in table {}: {reason}", user.name());
                if on_error == OnError::Fail {
                    return Err(DbError::Refused { record: record.source.clone(), error });
                }
                let dead_lettered = on_error == OnError::Dlq;
                refused.push((record, Refusal { record: record.source.clone(), error, dead_lettered }));
            }
            Err(error) => return Err(classify(&what(), error)),
        }
    }
    Ok(refused)
}

fn insert_dead_letters(txn: &mut postgres::Transaction<'_>, table: &str, letters: &[DeadLetterRow]) -> Result<(), DbError> {
    if letters.is_empty() {
        return Ok(());
    }
    let statement = format!(
        "INSERT INTO {table} (source_topic, source_partition, source_offset, key, value, headers, error, plugin) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    );
    let statement = txn.prepare(&statement).map_err(|e| copy_error(table, e))?;
    for letter in letters {
        let headers = Json(&letter.headers);
        txn.execute(
            &statement,
            &[
                &letter.source.topic,
                &letter.source.partition,
                &letter.source.offset,
                &letter.key,
                &letter.value,
                &headers,
                &letter.error,
                &letter.plugin,
            ],
        )
        .map_err(|e| copy_error(table, e))?;
    }
    Ok(())
}

/// Why the sink could not start on the database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Connect(DbError),
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    /// `--columns auto` and the user's table do not fit.
    #[error("{0}")]
    UserTable(String),
}
