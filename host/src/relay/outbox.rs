//! The outbox table as the relay reads it, in the order of the transactions
//! that wrote it (a transaction's rows follow those of every transaction that
//! committed before it began). Ids are taken at insert but rows become
//! visible at commit, so "everything above the highest id relayed" would
//! skip a row whose transaction committed late.
//! Instead each row carries the id of the transaction that wrote it (column
//! `eoshost_xid xid8 default pg_current_xact_id()`, added by the relay), and
//! the relay only reads rows whose transaction is older than the oldest one
//! still running (`pg_snapshot_xmin(pg_current_snapshot())`, the horizon):
//! below it nothing can still appear. Rows are read in `(eoshost_xid, id)`
//! order from a [`Cursor`], which is what the progress topic records.

use postgres::Client;
use postgres::types::Json;

use crate::plugin::Header;
use crate::sink::quote_identifier;

/// The relay's own column: the writing transaction's id.
pub const XID_COLUMN: &str = "eoshost_xid";

/// Where the relay is: every row at or after `(xid, id)` is still to be
/// published, every row before it has been.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub xid: u64,
    pub id: i64,
}

/// One outbox row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub xid: u64,
    pub topic: Option<String>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<Header>,
}

impl OutboxRow {
    /// The cursor just after this row.
    pub fn next_cursor(&self) -> Cursor {
        Cursor { xid: self.xid, id: self.id + 1 }
    }
}

/// Why the outbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(
        "outbox table {table} does not exist; create it: CREATE TABLE {table} (id bigserial primary key, topic text null, \
         key bytea, value bytea, headers jsonb, created_at timestamptz default now())"
    )]
    Missing { table: String },
    #[error(
        "outbox table {table} has the wrong shape ({problems}); it needs id bigint, topic text, key bytea, value bytea, headers jsonb"
    )]
    WrongShape { table: String, problems: String },
    #[error("{0}")]
    Database(#[from] postgres::Error),
}

const COLUMNS: [(&str, &str); 5] =
    [("id", "bigint"), ("topic", "text"), ("key", "bytea"), ("value", "bytea"), ("headers", "jsonb")];

/// Checks the table and adds the relay's column (and its index) if missing.
/// Rows written before the column existed all get the id of the transaction
/// that adds it, and are relayed once it is below the horizon.
pub fn prepare(client: &mut Client, table: &str) -> Result<(), OutboxError> {
    let found = client.query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
        &[&table],
    )?;
    if found.is_empty() {
        return Err(OutboxError::Missing { table: quote_identifier(table) });
    }
    let found: Vec<(String, String)> = found.iter().map(|row| (row.get(0), row.get(1))).collect();
    let problems: Vec<String> = COLUMNS
        .iter()
        .filter_map(|(name, kind)| match found.iter().find(|(n, _)| n == name) {
            None => Some(format!("no column {name}")),
            Some((_, k)) if k != kind => Some(format!("column {name} is {k}, not {kind}")),
            Some(_) => None,
        })
        .collect();
    if !problems.is_empty() {
        return Err(OutboxError::WrongShape { table: quote_identifier(table), problems: problems.join("; ") });
    }
    if found.iter().any(|(name, _)| name == XID_COLUMN) {
        return Ok(());
    }
    let quoted = quote_identifier(table);
    let index = quote_identifier(&format!("{table}_{XID_COLUMN}_idx"));
    let add = format!(
        "ALTER TABLE {quoted} ADD COLUMN IF NOT EXISTS {XID_COLUMN} xid8 NOT NULL DEFAULT pg_current_xact_id(); \
         CREATE INDEX IF NOT EXISTS {index} ON {quoted} ({XID_COLUMN}, id)"
    );
    match client.batch_execute(&add) {
        // Two relays adding the index at once: one loses the race on the
        // catalog; the index exists either way.
        Err(error) if error.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => Ok(client.batch_execute(&add)?),
        other => Ok(other?),
    }
}

/// The horizon: every transaction with a smaller id has ended.
pub fn horizon(client: &mut Client) -> Result<u64, postgres::Error> {
    let row = client.query_one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", &[])?;
    Ok(parse_xid(row.get(0)))
}

/// How long the oldest transaction holding the horizon back has been open,
/// in seconds (0 when none): a long-running transaction anywhere in the
/// database delays the relay.
pub fn oldest_transaction_age(client: &mut Client) -> Result<f64, postgres::Error> {
    let row = client.query_one(
        "SELECT coalesce(extract(epoch FROM now() - min(xact_start))::float8, 0) FROM pg_stat_activity \
         WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
        &[],
    )?;
    Ok(row.get(0))
}

fn parse_xid(text: &str) -> u64 {
    text.parse().unwrap_or(0)
}

/// Up to `limit` rows at or after `from` whose transaction is below `horizon`.
pub fn read(
    client: &mut Client,
    table: &str,
    from: Cursor,
    horizon: u64,
    limit: usize,
) -> Result<Vec<OutboxRow>, postgres::Error> {
    // The ORDER BY names the table's columns through its alias: a bare
    // `eoshost_xid` there would mean the output column `eoshost_xid::text`
    // (PostgreSQL resolves ORDER BY names against the output first) and
    // sort the ids as text, "10000" before "9999".
    let rows = client.query(
        &format!(
            "SELECT outbox.id, outbox.{XID_COLUMN}::text AS xid_text, topic, key, value, headers FROM {} AS outbox \
             WHERE (outbox.{XID_COLUMN}, outbox.id) >= ($1::text::xid8, $2) AND outbox.{XID_COLUMN} < $3::text::xid8 \
             ORDER BY outbox.{XID_COLUMN}, outbox.id LIMIT $4",
            quote_identifier(table)
        ),
        &[&from.xid.to_string(), &from.id, &horizon.to_string(), &(limit as i64)],
    )?;
    Ok(rows
        .iter()
        .map(|row| {
            let headers: Option<Json<serde_json::Value>> = row.get(5);
            OutboxRow {
                id: row.get(0),
                xid: parse_xid(row.get(1)),
                topic: row.get(2),
                key: row.get(3),
                value: row.get(4),
                headers: headers.map(|Json(value)| headers_from_json(&value)).unwrap_or_default(),
            }
        })
        .collect())
}

/// Deletes every row before `cursor` (all published).
pub fn delete_before(client: &mut Client, table: &str, cursor: Cursor) -> Result<u64, postgres::Error> {
    client.execute(
        &format!("DELETE FROM {} WHERE ({XID_COLUMN}, id) < ($1::text::xid8, $2)", quote_identifier(table)),
        &[&cursor.xid.to_string(), &cursor.id],
    )
}

/// Headers as the sink writes them (an array of `{"key", "value_b64"}`), an
/// array of `{"key", "value"}`, or a flat object of text values.
pub fn headers_from_json(value: &serde_json::Value) -> Vec<Header> {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let key = item.get("key")?.as_str()?.to_owned();
                let value = match (item.get("value_b64").and_then(|v| v.as_str()), item.get("value")) {
                    (Some(b64), _) => engine.decode(b64).ok()?,
                    (None, Some(serde_json::Value::String(text))) => text.clone().into_bytes(),
                    (None, Some(other)) => other.to_string().into_bytes(),
                    (None, None) => Vec::new(),
                };
                Some(Header { key, value })
            })
            .collect(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(key, value)| Header {
                key: key.clone(),
                value: value.as_str().map_or_else(|| value.to_string(), str::to_owned).into_bytes(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_order_by_transaction_then_id() {
        let early_txn_high_id = Cursor { xid: 10, id: 900 };
        let late_txn_low_id = Cursor { xid: 11, id: 5 };
        assert!(early_txn_high_id < late_txn_low_id);
        let row = OutboxRow { id: 7, xid: 3, topic: None, key: None, value: None, headers: vec![] };
        assert_eq!(row.next_cursor(), Cursor { xid: 3, id: 8 });
    }

    #[test]
    fn headers_are_read_in_every_accepted_form() {
        let sink_form = serde_json::json!([{"key": "a", "value_b64": "AP8="}, {"key": "a", "value": "x"}]);
        let pairs = |headers: Vec<Header>| headers.into_iter().map(|h| (h.key, h.value)).collect::<Vec<_>>();
        assert_eq!(pairs(headers_from_json(&sink_form)), [("a".to_owned(), vec![0, 255]), ("a".to_owned(), b"x".to_vec())]);
        let flat = serde_json::json!({"trace": "t1"});
        assert_eq!(pairs(headers_from_json(&flat)), [("trace".to_owned(), b"t1".to_vec())]);
    }
}
