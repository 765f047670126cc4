//! The sink's side of PostgreSQL: the connection (re-made after it breaks),
//! reading `eoshost_offsets`, and committing a batch — rows, dead letters and
//! offsets in one database transaction, guarded against zombies.
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
use std::time::Duration;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{Json, ToSql, Type};
use postgres::{Client, NoTls};

use super::batch::{Batch, Partition};
use super::schema::{self, OFFSETS_TABLE, quote_identifier};
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
    /// checked).
    pub fn open(url: &str, group: &str, table: &str) -> Result<Database, OpenError> {
        let (config, mut client) = connect(url).map_err(OpenError::Connect)?;
        schema::prepare(&mut client, table)?;
        Ok(Database {
            config,
            url: url.to_owned(),
            group: group.to_owned(),
            table: table.to_owned(),
            client: Some(client),
            commit_unknown: false,
        })
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

    /// Commits the batch (rows, dead letters, offsets) in one transaction,
    /// or finds that it may not (a zombie's stale batch).
    pub fn commit(&mut self, batch: &Batch) -> Result<Outcome, DbError> {
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
        let result = self.try_commit(batch);
        if let Err(error) = &result {
            self.forget_on(error);
        }
        result
    }

    fn try_commit(&mut self, batch: &Batch) -> Result<Outcome, DbError> {
        let group = self.group.clone();
        let table = quote_identifier(&self.table);
        let dead_letters = quote_identifier(&schema::dead_letter_table(&self.table));
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

        copy_rows(&mut txn, &table, batch)?;
        copy_dead_letters(&mut txn, &dead_letters, batch)?;

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

fn copy_dead_letters(txn: &mut postgres::Transaction<'_>, table: &str, batch: &Batch) -> Result<(), DbError> {
    if batch.dead_letters.is_empty() {
        return Ok(());
    }
    let statement = format!(
        "INSERT INTO {table} (source_topic, source_partition, source_offset, key, value, headers, error, plugin) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    );
    let statement = txn.prepare(&statement).map_err(|e| copy_error(table, e))?;
    for letter in &batch.dead_letters {
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
}
