//! `--columns auto`: the sink into the user's own table (DESIGN §1.7). At
//! start the table's columns and types are read (the table must exist:
//! eoshost never creates or alters it); each output then becomes a
//! [`RowChange`] — its JSON fields checked and converted to the columns'
//! types, or the record rejected with a reason naming the field and the
//! column — and a batch's changes are written with one set-based statement
//! per shape (`INSERT … SELECT … FROM unnest(…)`, with `ON CONFLICT … DO
//! UPDATE` under `--write upsert`), several changes of one key collapsed in
//! order first (last wins, deletes included).

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use postgres::types::ToSql;
use serde_json::value::RawValue;

use super::schema::quote_identifier;

/// foldhash, seeded per process: the batch's keys are hashed once each.
type FastHash = foldhash::fast::RandomState;
use crate::plugin::OutputRecord;

/// `--write`: how a row is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// `INSERT` every row.
    Insert,
    /// `INSERT … ON CONFLICT (--key-columns) DO UPDATE` of the columns the
    /// record gives.
    Upsert,
}

/// `--columns`: where the sink's rows go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnsMode {
    /// The landing table eoshost owns (source offsets, key, value bytes).
    None,
    /// The user's table: each JSON field to the column of its name.
    Auto,
}

/// How `--columns auto` writes, as the options give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnsSpec {
    pub write: WriteMode,
    pub key_columns: Vec<String>,
    pub delete_on_tombstone: bool,
}

/// What a column takes, by its type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Text,
    Integer {
        min: i64,
        max: i64,
    },
    /// numeric, real, double precision: the JSON number as written.
    Number,
    Bool,
    Timestamp,
    Date,
    Json,
    Bytes,
    Uuid,
    /// A one-dimensional array of simple elements.
    Array(Box<Kind>),
    /// Any other type: text handed to PostgreSQL's own input function.
    Other,
}

impl Kind {
    fn of(type_name: &str, element: Option<&str>) -> Kind {
        match (type_name, element) {
            (_, Some(element)) => match Kind::of(element, None) {
                Kind::Array(_) | Kind::Json => Kind::Other,
                simple => Kind::Array(Box::new(simple)),
            },
            ("text" | "varchar" | "bpchar" | "name" | "citext", _) => Kind::Text,
            ("int2", _) => Kind::Integer { min: i16::MIN.into(), max: i16::MAX.into() },
            ("int4", _) => Kind::Integer { min: i32::MIN.into(), max: i32::MAX.into() },
            ("int8", _) => Kind::Integer { min: i64::MIN, max: i64::MAX },
            ("numeric" | "float4" | "float8", _) => Kind::Number,
            ("bool", _) => Kind::Bool,
            ("timestamptz" | "timestamp", _) => Kind::Timestamp,
            ("date", _) => Kind::Date,
            ("json" | "jsonb", _) => Kind::Json,
            ("bytea", _) => Kind::Bytes,
            ("uuid", _) => Kind::Uuid,
            _ => Kind::Other,
        }
    }
}

/// One column of the user's table.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    quoted: String,
    /// The type as SQL spells it (`numeric(10,2)`), for the casts.
    sql_type: String,
    kind: Kind,
}

/// Values of several columns (a row's key columns, in key-column order, or
/// one column's values over rows), borrowed from the batch; `None`: NULL.
type Values<'a> = Vec<&'a Option<String>>;
/// The columns one change writes, by index, borrowed from the batch.
type Fields<'a> = BTreeMap<usize, &'a Option<String>>;
/// A key column a change does not give.
static NULL: Option<String> = None;

/// One output's change to the table: the columns it writes (by index, each
/// value as text for the column's input function, or NULL), or the key of
/// the row it deletes (in key-column order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    Write(Vec<(usize, Option<String>)>),
    Delete(Vec<Option<String>>),
}

/// The user's table, as read at start.
#[derive(Debug)]
pub struct UserTable {
    name: String,
    quoted: String,
    columns: Vec<Column>,
    by_name: HashMap<String, usize>,
    /// `--key-columns`, as column indices.
    keys: Vec<usize>,
    spec: ColumnsSpec,
}

/// The text a JSON value gives a column, or why it does not convert.
type Converted = Result<Option<String>, String>;

impl UserTable {
    /// Reads the table's columns and checks the options against them: the
    /// table exists, the key columns exist, and under upsert a unique index
    /// covers exactly the key columns. `Err`: a usage error's message.
    pub fn open(client: &mut postgres::Client, name: &str, spec: ColumnsSpec) -> Result<UserTable, String> {
        let quoted = quote_identifier(name);
        let database = |e: postgres::Error| format!("cannot read the columns of table {name}: {e}");
        let rows = client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text, e.typname::text \
                 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                 LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' \
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' \
                 ORDER BY a.attnum",
                &[&quoted],
            )
            .map_err(database)?;
        if rows.is_empty() {
            return Err(format!(
                "table {name} does not exist (or has no columns) at --postgres-url; with --columns auto eoshost writes \
                 into your own table and never creates or alters it: create it first"
            ));
        }
        let columns: Vec<Column> = rows
            .iter()
            .map(|row| {
                let name: String = row.get(0);
                let type_name: String = row.get(2);
                let element: Option<String> = row.get(3);
                Column {
                    quoted: quote_identifier(&name),
                    sql_type: row.get(1),
                    kind: Kind::of(&type_name, element.as_deref()),
                    name,
                }
            })
            .collect();
        let by_name: HashMap<String, usize> = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let mut keys = Vec::with_capacity(spec.key_columns.len());
        for key in &spec.key_columns {
            let index = by_name.get(key).ok_or_else(|| {
                format!(
                    "--key-columns names \"{key}\", which table {name} does not have (its columns: {})",
                    columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                )
            })?;
            keys.push(*index);
        }
        let table = UserTable { name: name.to_owned(), quoted, columns, by_name, keys, spec };
        if table.spec.write == WriteMode::Upsert {
            // The arbiter index is inferred when the statement runs: run it
            // (it writes nothing) and roll back.
            let probe = format!(
                "INSERT INTO {} ({}) SELECT {} WHERE false ON CONFLICT ({}) DO NOTHING",
                table.quoted,
                table.key_list(),
                table.keys.iter().map(|&k| format!("NULL::{}", table.columns[k].sql_type)).collect::<Vec<_>>().join(", "),
                table.key_list()
            );
            let mut txn = client.transaction().map_err(database)?;
            txn.batch_execute(&probe).map_err(|e| {
                format!(
                    "--write upsert --key-columns {} needs a primary key or unique index on exactly those columns of \
                     table {name}: {}",
                    table.spec.key_columns.join(","),
                    e.as_db_error().map_or_else(|| e.to_string(), |db| db.message().to_owned())
                )
            })?;
            txn.rollback().map_err(database)?;
        }
        Ok(table)
    }

    /// The table's name, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn key_list(&self) -> String {
        self.keys.iter().map(|&k| self.columns[k].quoted.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// What `output` does to the table, or why the record is rejected.
    pub fn change(&self, output: &OutputRecord) -> Result<RowChange, String> {
        let Some(value) = &output.value else { return self.delete_of(output.key.as_deref()) };
        let not_object = |_| {
            "the output value is not a JSON object; --columns auto writes each field of an object to the column of \
             its name"
                .to_owned()
        };
        // Field names borrowed from the value, unless one holds an escape.
        let borrowed: BTreeMap<&str, &RawValue>;
        let owned: BTreeMap<String, Box<RawValue>>;
        let fields: Vec<(&str, &RawValue)> = match serde_json::from_slice::<BTreeMap<&str, &RawValue>>(value) {
            Ok(map) => {
                borrowed = map;
                borrowed.iter().map(|(field, raw)| (*field, *raw)).collect()
            }
            Err(_) => {
                owned = serde_json::from_slice(value).map_err(not_object)?;
                owned.iter().map(|(field, raw)| (field.as_str(), raw.as_ref())).collect()
            }
        };
        let mut values = Vec::with_capacity(fields.len());
        for &(field, raw) in &fields {
            let index = *self.by_name.get(field).ok_or_else(|| {
                format!("field \"{field}\" has no column in table {}; add the column, or drop the field in the plugin", self.name)
            })?;
            let column = &self.columns[index];
            let text = convert(&column.kind, raw).map_err(|why| {
                format!(
                    "field \"{field}\" ({}) does not convert to column {} ({}): {why}",
                    shorten(raw.get()),
                    column.name,
                    column.sql_type
                )
            })?;
            values.push((index, text));
        }
        if self.spec.write == WriteMode::Upsert
            && let Some(&missing) = self.keys.iter().find(|k| !values.iter().any(|(i, _)| i == *k))
        {
            return Err(format!(
                "field \"{}\" is missing: --write upsert needs every key column ({}) in the record",
                self.columns[missing].name,
                self.spec.key_columns.join(",")
            ));
        }
        values.sort_by_key(|(index, _)| *index);
        Ok(RowChange::Write(values))
    }

    /// The delete a tombstone asks for: its key columns from the record
    /// key (a JSON object, or one scalar for one key column).
    fn delete_of(&self, key: Option<&[u8]>) -> Result<RowChange, String> {
        if !self.spec.delete_on_tombstone {
            return Err(format!(
                "a tombstone (no value) cannot be written to table {}; run with --delete-on-tombstone (and \
                 --key-columns) to delete the row of its key",
                self.name
            ));
        }
        let key = key.ok_or_else(|| {
            format!(
                "a tombstone without a key: nothing gives key column {} of the row to delete",
                self.spec.key_columns.join(",")
            )
        })?;
        let first = &self.columns[self.keys[0]];
        let object: Option<BTreeMap<String, Box<RawValue>>> = serde_json::from_slice(key).ok();
        let mut values = Vec::with_capacity(self.keys.len());
        match object {
            Some(fields) => {
                for &k in &self.keys {
                    let column = &self.columns[k];
                    let raw = fields.get(&column.name).ok_or_else(|| {
                        format!("the tombstone's key has no field \"{}\" for key column {}", column.name, column.name)
                    })?;
                    let text = convert(&column.kind, raw)
                        .map_err(|why| format!("the tombstone's key field \"{}\" does not convert: {why}", column.name))?;
                    values.push(text);
                }
            }
            None if self.keys.len() == 1 => {
                // A JSON scalar (`42`, `"o7"`), else the key's text itself.
                let text = match serde_json::from_slice::<Box<RawValue>>(key) {
                    Ok(raw) => convert(&first.kind, &raw),
                    Err(_) => match std::str::from_utf8(key) {
                        Ok(text) => convert(&first.kind, &raw_string(text)),
                        Err(_) => Err("the key is not UTF-8".to_owned()),
                    },
                }
                .map_err(|why| {
                    format!("the tombstone's key does not give key column {} ({}): {why}", first.name, first.sql_type)
                })?;
                values.push(text);
            }
            None => {
                return Err(format!(
                    "the tombstone's key is not a JSON object with the key columns ({})",
                    self.spec.key_columns.join(",")
                ));
            }
        }
        Ok(RowChange::Delete(values))
    }

    /// Writes `changes`, in order, with set-based statements: under upsert
    /// the changes of one key are collapsed first (last wins, a delete
    /// resets), then one `DELETE` and one `INSERT … ON CONFLICT` per shape
    /// (set of columns); under insert, each run of writes is one `INSERT`
    /// per shape and each run of deletes one `DELETE`, in order.
    pub fn apply<'a>(
        &self,
        txn: &mut postgres::Transaction<'_>,
        changes: impl IntoIterator<Item = &'a RowChange>,
    ) -> Result<(), postgres::Error> {
        match self.spec.write {
            WriteMode::Upsert => {
                let (deletes, writes) = self.collapse(changes);
                self.delete(txn, &deletes)?;
                self.write(txn, writes)
            }
            WriteMode::Insert => {
                let mut run: Vec<&RowChange> = Vec::new();
                for change in changes {
                    if run.last().is_some_and(|last| std::mem::discriminant(*last) != std::mem::discriminant(change)) {
                        self.apply_run(txn, &run)?;
                        run.clear();
                    }
                    run.push(change);
                }
                self.apply_run(txn, &run)
            }
        }
    }

    fn apply_run(&self, txn: &mut postgres::Transaction<'_>, run: &[&RowChange]) -> Result<(), postgres::Error> {
        let mut deletes = Vec::new();
        let mut writes = Vec::new();
        for change in run {
            match change {
                RowChange::Delete(key) => deletes.push(key.iter().collect()),
                RowChange::Write(values) => writes.push(values.iter().map(|(i, v)| (*i, v)).collect()),
            }
        }
        self.delete(txn, &deletes)?;
        self.write(txn, writes)
    }

    /// Upsert's changes reduced to one per key, in first-seen order: the
    /// keys to delete (a delete, or a delete before a later write), and the
    /// writes (the fields of every write after the last delete, later ones
    /// winning).
    fn collapse<'a>(&self, changes: impl IntoIterator<Item = &'a RowChange>) -> (Vec<Values<'a>>, Vec<Fields<'a>>) {
        let mut order: Vec<Values<'a>> = Vec::new();
        let mut last: HashMap<Values<'a>, (bool, Option<Fields<'a>>), FastHash> = HashMap::default();
        for change in changes {
            let (key, write) = match change {
                RowChange::Delete(key) => (key.iter().collect::<Values<'a>>(), None),
                RowChange::Write(values) => {
                    let key = self.keys.iter().map(|k| values.iter().find(|(i, _)| i == k).map_or(&NULL, |(_, v)| v)).collect();
                    (key, Some(values))
                }
            };
            let entry = last.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                (false, None)
            });
            match write {
                None => *entry = (true, None),
                Some(values) => {
                    let fields = entry.1.get_or_insert_with(BTreeMap::new);
                    fields.extend(values.iter().map(|(i, v)| (*i, v)));
                }
            }
        }
        let mut deletes = Vec::new();
        let mut writes = Vec::new();
        for key in order {
            let (delete, write) = last.remove(&key).expect("every key in order is in last");
            if delete {
                deletes.push(key);
            }
            writes.extend(write);
        }
        (deletes, writes)
    }

    fn delete(&self, txn: &mut postgres::Transaction<'_>, keys: &[Values<'_>]) -> Result<(), postgres::Error> {
        if keys.is_empty() {
            return Ok(());
        }
        let columns: Vec<Values<'_>> =
            (0..self.keys.len()).map(|position| keys.iter().map(|key| key[position]).collect()).collect();
        let casts: Vec<String> =
            self.keys.iter().enumerate().map(|(n, &k)| format!("u.c{n}::{}", self.columns[k].sql_type)).collect();
        let statement = format!(
            "DELETE FROM {} WHERE ({}) IN (SELECT {} FROM {})",
            self.quoted,
            self.key_list(),
            casts.join(", "),
            unnest(self.keys.len())
        );
        let params: Vec<&(dyn ToSql + Sync)> = columns.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        txn.execute(&statement, &params)?;
        Ok(())
    }

    /// One `INSERT` per shape of `writes`, in first-seen order of shapes.
    fn write(&self, txn: &mut postgres::Transaction<'_>, writes: Vec<Fields<'_>>) -> Result<(), postgres::Error> {
        // Each shape (the columns written) with its values, column by column.
        let mut shapes: Vec<(Vec<usize>, Vec<Values<'_>>)> = Vec::new();
        for write in writes {
            let shape: Vec<usize> = write.keys().copied().collect();
            let slot = match shapes.iter().position(|(s, _)| *s == shape) {
                Some(slot) => slot,
                None => {
                    shapes.push((shape.clone(), vec![Vec::new(); shape.len()]));
                    shapes.len() - 1
                }
            };
            for (column, value) in shapes[slot].1.iter_mut().zip(write.into_values()) {
                column.push(value);
            }
        }
        for (shape, columns) in &shapes {
            let statement = match self.spec.write {
                WriteMode::Insert => self.insert_statement(shape),
                WriteMode::Upsert if shape.len() == self.columns.len() => self.upsert_statement(shape),
                WriteMode::Upsert => self.partial_upsert_statement(shape),
            };
            let params: Vec<&(dyn ToSql + Sync)> = columns.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
            txn.execute(&statement, &params)?;
        }
        Ok(())
    }

    /// The quoted names of `shape`'s columns, and the casts of `u.c0…` to
    /// their types.
    fn names_and_casts(&self, shape: &[usize]) -> (String, String) {
        let names: Vec<&str> = shape.iter().map(|&i| self.columns[i].quoted.as_str()).collect();
        let casts: Vec<String> =
            shape.iter().enumerate().map(|(n, &i)| format!("u.c{n}::{}", self.columns[i].sql_type)).collect();
        (names.join(", "), casts.join(", "))
    }

    /// `SET col = EXCLUDED.col` (or `= u.cN`, `excluded` false) for the
    /// non-key columns of `shape`.
    fn updates(&self, shape: &[usize], excluded: bool) -> Vec<String> {
        shape
            .iter()
            .enumerate()
            .filter(|(_, i)| !self.keys.contains(i))
            .map(|(n, &i)| match excluded {
                true => format!("{0} = EXCLUDED.{0}", self.columns[i].quoted),
                false => format!("{} = u.c{n}", self.columns[i].quoted),
            })
            .collect()
    }

    fn insert_statement(&self, shape: &[usize]) -> String {
        let (names, casts) = self.names_and_casts(shape);
        format!("INSERT INTO {} ({names}) SELECT {casts} FROM {}", self.quoted, unnest(shape.len()))
    }

    /// Every column given: one `INSERT … ON CONFLICT DO UPDATE`.
    fn upsert_statement(&self, shape: &[usize]) -> String {
        let updates = self.updates(shape, true);
        let action = if updates.is_empty() { "DO NOTHING".to_owned() } else { format!("DO UPDATE SET {}", updates.join(", ")) };
        format!("{} ON CONFLICT ({}) {action}", self.insert_statement(shape), self.key_list())
    }

    /// Some columns given: PostgreSQL checks NOT NULL on the row an `INSERT`
    /// proposes before it looks for a conflict, so the rows that exist are
    /// updated (`UPDATE … FROM`) and only the others inserted, in one
    /// statement (both parts see the table as it was before it).
    fn partial_upsert_statement(&self, shape: &[usize]) -> String {
        let (names, _) = self.names_and_casts(shape);
        let aliased: Vec<String> =
            shape.iter().enumerate().map(|(n, &i)| format!("u.c{n}::{} AS c{n}", self.columns[i].sql_type)).collect();
        let key_match: Vec<String> = self
            .keys
            .iter()
            .map(|k| {
                let n = shape.iter().position(|i| i == k).expect("an upsert's writes hold every key column");
                format!("t.{} = u.c{n}", self.columns[*k].quoted)
            })
            .collect();
        let key_match = key_match.join(" AND ");
        let updates = self.updates(shape, false);
        let update = match updates.is_empty() {
            true => String::new(),
            false => format!(", updated AS (UPDATE {} t SET {} FROM u WHERE {key_match})", self.quoted, updates.join(", ")),
        };
        let plain: Vec<String> = (0..shape.len()).map(|n| format!("u.c{n}")).collect();
        let conflict = self.updates(shape, true);
        let action = if conflict.is_empty() { "DO NOTHING".to_owned() } else { format!("DO UPDATE SET {}", conflict.join(", ")) };
        format!(
            "WITH u AS (SELECT {} FROM {}){update} INSERT INTO {} ({names}) SELECT {} FROM u \
             WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE {key_match}) ON CONFLICT ({}) {action}",
            aliased.join(", "),
            unnest(shape.len()),
            self.quoted,
            plain.join(", "),
            self.quoted,
            self.key_list()
        )
    }
}

/// `unnest($1::text[], …, $n::text[]) AS u(c0, …)`.
fn unnest(n: usize) -> String {
    let arrays: Vec<String> = (1..=n).map(|i| format!("${i}::text[]")).collect();
    let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    format!("unnest({}) AS u({})", arrays.join(", "), names.join(", "))
}

/// At most 60 characters of a value, for a reason.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 60 { text.to_owned() } else { format!("{}…", text.chars().take(60).collect::<String>()) }
}

/// `text` as a JSON string value.
fn raw_string(text: &str) -> Box<RawValue> {
    RawValue::from_string(serde_json::to_string(text).expect("a string serializes")).expect("a JSON string")
}

/// What a JSON value is, from its first character.
enum Json<'a> {
    Null,
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    String(String),
    Array,
    Object,
}

fn classify(raw: &RawValue) -> Json<'_> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'n') => Json::Null,
        Some(b't') => Json::Bool(true),
        Some(b'f') => Json::Bool(false),
        Some(b'"') => Json::String(serde_json::from_str(text).expect("a JSON string parses")),
        Some(b'[') => Json::Array,
        Some(b'{') => Json::Object,
        _ => Json::Number(text),
    }
}

/// The text the column's input function gets for `raw` (`None`: NULL).
fn convert(kind: &Kind, raw: &RawValue) -> Converted {
    let json = classify(raw);
    if let Json::Null = json {
        return Ok(None);
    }
    let text = match (kind, json) {
        (Kind::Json, _) => raw.get().to_owned(),
        (Kind::Text, Json::String(text)) => text,
        (Kind::Text, Json::Number(number)) => number.to_owned(),
        (Kind::Text, Json::Bool(b)) => b.to_string(),
        (Kind::Integer { min, max }, Json::Number(number)) => integer(number, *min, *max)?,
        (Kind::Integer { min, max }, Json::String(text)) => integer(text.trim(), *min, *max)?,
        (Kind::Number, Json::Number(number)) => number.to_owned(),
        (Kind::Number, Json::String(text)) => number(text.trim())?,
        (Kind::Bool, Json::Bool(b)) => b.to_string(),
        (Kind::Bool, Json::String(text)) if text == "true" || text == "false" => text,
        (Kind::Timestamp, Json::String(text)) => timestamp(&text, true)?,
        (Kind::Timestamp, Json::Number(number)) => epoch_ms(number, true)?,
        (Kind::Date, Json::String(text)) => timestamp(&text, false)?,
        (Kind::Date, Json::Number(number)) => epoch_ms(number, false)?,
        (Kind::Bytes, Json::String(text)) => {
            let bytes =
                base64::engine::general_purpose::STANDARD.decode(text.as_bytes()).map_err(|e| format!("not base64 ({e})"))?;
            let mut hex = String::with_capacity(2 + 2 * bytes.len());
            hex.push_str("\\x");
            for byte in bytes {
                hex.push_str(&format!("{byte:02x}"));
            }
            hex
        }
        (Kind::Uuid, Json::String(text)) => uuid(text)?,
        (Kind::Array(element), Json::Array) => array(element, raw)?,
        (Kind::Other, Json::String(text)) => text,
        (Kind::Other, Json::Number(number)) => number.to_owned(),
        (Kind::Other, Json::Bool(b)) => b.to_string(),
        (Kind::Other, Json::Array | Json::Object) => raw.get().to_owned(),
        (_, Json::Array) => return Err("an array".to_owned()),
        (_, Json::Object) => return Err("an object".to_owned()),
        (_, Json::Bool(_)) => return Err("a boolean".to_owned()),
        (_, Json::Number(_)) => return Err("a number".to_owned()),
        (_, Json::String(_)) => return Err("a string of the wrong form".to_owned()),
        (_, Json::Null) => unreachable!("null is NULL"),
    };
    Ok(Some(text))
}

fn integer(text: &str, min: i64, max: i64) -> Result<String, String> {
    let value: i64 = text.parse().map_err(|_| "not an integer (no fraction, no exponent)".to_owned())?;
    if value < min || value > max {
        return Err(format!("out of range ({min}..={max})"));
    }
    Ok(value.to_string())
}

/// A decimal number in text: `-12.5`, `3e2` (or `NaN`, `Infinity`).
fn number(text: &str) -> Result<String, String> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
    let well_formed = !(whole.is_empty() && fraction.is_empty())
        && all_digits(whole)
        && all_digits(fraction)
        && !exponent.is_empty()
        && all_digits(exponent);
    if well_formed || matches!(unsigned, "NaN" | "Infinity") { Ok(text.to_owned()) } else { Err("not a number".to_owned()) }
}

fn digits(text: &str, count: usize) -> Option<u32> {
    (text.len() == count && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().expect("digits"))
}

/// ISO-8601 date (`2026-12-07`) or, when `with_time`, date and time with an
/// optional fraction and zone (`2026-12-07T12:34:56.789Z`, `… 12:34+01:00`).
fn timestamp(text: &str, with_time: bool) -> Result<String, String> {
    let form =
        if with_time { "an ISO-8601 date and time, e.g. 2026-12-07T12:34:56Z" } else { "an ISO-8601 date, e.g. 2026-12-07" };
    let bad = || format!("not {form}");
    let (date, rest) = text.split_at_checked(10).ok_or_else(bad)?;
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else { return Err(bad()) };
    let (Some(_), Some(month), Some(day)) = (digits(year, 4), digits(month, 2), digits(day, 2)) else { return Err(bad()) };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    if rest.is_empty() {
        return Ok(text.to_owned());
    }
    if !with_time {
        return Err(bad());
    }
    let time = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
    let zone_at = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let fields: Vec<&str> = clock.split(':').collect();
    let in_range = |field: &str, max: u32| digits(field, 2).is_some_and(|v| v <= max);
    let clock_ok = match fields.as_slice() {
        [h, m] => in_range(h, 23) && in_range(m, 59) && fraction.is_empty(),
        [h, m, s] => in_range(h, 23) && in_range(m, 59) && in_range(s, 60),
        _ => false,
    };
    let fraction_ok = fraction.bytes().all(|b| b.is_ascii_digit());
    let zone_ok = match zone {
        "" | "Z" | "z" => true,
        offset => {
            let offset = &offset[1..];
            let (h, m) = offset.split_once(':').unwrap_or((offset.get(..2).unwrap_or(offset), offset.get(2..).unwrap_or("")));
            in_range(h, 23) && (m.is_empty() || in_range(m, 59))
        }
    };
    if clock_ok && fraction_ok && zone_ok { Ok(text.to_owned()) } else { Err(bad()) }
}

/// Milliseconds since the Unix epoch as ISO-8601 (UTC), or its date.
fn epoch_ms(number: &str, with_time: bool) -> Result<String, String> {
    let ms: i64 = number.parse().map_err(|_| "not a whole number of milliseconds since the Unix epoch".to_owned())?;
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = eoshost_formats::civil_from_days(days);
    if !(1..=9999).contains(&year) {
        return Err("out of range for a date".to_owned());
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if !with_time {
        return Ok(date);
    }
    let (h, m, s, milli) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1_000 % 60, ms_of_day % 1_000);
    Ok(format!("{date}T{h:02}:{m:02}:{s:02}.{milli:03}Z"))
}

fn uuid(text: String) -> Result<String, String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let dashes_ok = text.len() == 32 || (text.len() == 36 && [8, 13, 18, 23].iter().all(|&i| text.as_bytes()[i] == b'-'));
    if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && dashes_ok {
        Ok(text)
    } else {
        Err("not a UUID".to_owned())
    }
}

/// A JSON array of simple values as a PostgreSQL array literal.
fn array(element: &Kind, raw: &RawValue) -> Result<String, String> {
    let items: Vec<Box<RawValue>> = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let mut literal = String::from("{");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            literal.push(',');
        }
        match convert(element, item).map_err(|why| format!("element {n}: {why}"))? {
            None => literal.push_str("NULL"),
            Some(text) => {
                literal.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        literal.push('\\');
                    }
                    literal.push(c);
                }
                literal.push('"');
            }
        }
    }
    literal.push('}');
    Ok(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    fn table(write: WriteMode) -> UserTable {
        let columns: Vec<Column> = [
            ("order_id", "text", Kind::Text),
            ("amount_cents", "bigint", Kind::Integer { min: i64::MIN, max: i64::MAX }),
            ("price", "numeric(10,2)", Kind::Number),
            ("paid", "boolean", Kind::Bool),
            ("updated_at", "timestamp with time zone", Kind::Timestamp),
            ("day", "date", Kind::Date),
            ("tags", "text[]", Kind::Array(Box::new(Kind::Text))),
            ("raw", "bytea", Kind::Bytes),
            ("doc", "jsonb", Kind::Json),
        ]
        .into_iter()
        .map(|(name, sql_type, kind)| Column {
            name: name.into(),
            quoted: quote_identifier(name),
            sql_type: sql_type.into(),
            kind,
        })
        .collect();
        let by_name = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let spec = ColumnsSpec { write, key_columns: vec!["order_id".into()], delete_on_tombstone: true };
        UserTable { name: "orders".into(), quoted: "\"orders\"".into(), columns, by_name, keys: vec![0], spec }
    }

    fn output(value: Option<&str>, key: Option<&str>) -> OutputRecord {
        OutputRecord {
            topic: None,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
            headers: vec![],
        }
    }

    fn text(value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    #[test]
    fn fields_convert_to_their_columns_types_and_null_is_null() {
        let change = table(WriteMode::Upsert)
            .change(&output(
                Some(
                    r#"{"order_id":"o1","amount_cents":"42","price":12345678.95,"paid":true,"updated_at":1700000000123,
                    "day":"2026-12-07","tags":["a","b\"c",null],"raw":"AP8=","doc":{"x":[1,2]}}"#,
                ),
                None,
            ))
            .unwrap();
        assert_eq!(
            change,
            RowChange::Write(vec![
                (0, text("o1")),
                (1, text("42")),
                (2, text("12345678.95")),
                (3, text("true")),
                (4, text("2023-11-14T22:13:20.123Z")),
                (5, text("2026-12-07")),
                (6, text(r#"{"a","b\"c",NULL}"#)),
                (7, text("\\x00ff")),
                (8, text(r#"{"x":[1,2]}"#)),
            ])
        );
        let nulls = table(WriteMode::Upsert).change(&output(Some(r#"{"order_id":"o1","paid":null}"#), None)).unwrap();
        assert_eq!(nulls, RowChange::Write(vec![(0, text("o1")), (3, None)]));
    }

    #[test]
    fn a_record_is_rejected_naming_the_field_and_the_column() {
        let table = table(WriteMode::Upsert);
        let reason = |value: &str| table.change(&output(Some(value), None)).unwrap_err();
        assert!(reason("[1]").contains("not a JSON object"));
        let no_column = reason(r#"{"order_id":"o1","colour":"red"}"#);
        assert!(no_column.contains("field \"colour\" has no column in table orders"), "{no_column}");
        let wrong = reason(r#"{"order_id":"o1","amount_cents":1.5}"#);
        assert!(wrong.contains("field \"amount_cents\" (1.5) does not convert to column amount_cents (bigint)"), "{wrong}");
        assert!(reason(r#"{"order_id":"o1","updated_at":"yesterday"}"#).contains("does not convert to column updated_at"));
        assert!(reason(r#"{"order_id":"o1","day":"2026-13-01"}"#).contains("does not convert to column day"));
        assert!(reason(r#"{"order_id":"o1","raw":"%%"}"#).contains("not base64"));
        assert!(reason(r#"{"amount_cents":1}"#).contains("field \"order_id\" is missing"));
    }

    #[test]
    fn a_tombstone_deletes_the_row_of_its_key_given_as_object_scalar_or_text() {
        let table = table(WriteMode::Upsert);
        for key in [r#"{"order_id":"o7"}"#, r#""o7""#, "o7"] {
            assert_eq!(table.change(&output(None, Some(key))).unwrap(), RowChange::Delete(vec![text("o7")]), "{key}");
        }
        assert!(table.change(&output(None, Some(r#"{"id":"o7"}"#))).unwrap_err().contains("key column order_id"));
        let mut strict = table;
        strict.spec.delete_on_tombstone = false;
        assert!(strict.change(&output(None, Some("o7"))).unwrap_err().contains("--delete-on-tombstone"));
    }

    #[test]
    fn changes_of_one_key_collapse_in_order_last_wins_and_a_delete_resets() {
        let table = table(WriteMode::Upsert);
        let write = |fields: &[(usize, &str)]| RowChange::Write(fields.iter().map(|(i, v)| (*i, text(v))).collect());
        let changes = [
            write(&[(0, "a"), (1, "1"), (3, "true")]),
            write(&[(0, "b"), (1, "5")]),
            write(&[(0, "a"), (1, "2")]),
            RowChange::Delete(vec![text("b")]),
            RowChange::Delete(vec![text("c")]),
            write(&[(0, "c"), (1, "9")]),
        ];
        let (deletes, writes) = table.collapse(&changes);
        let deletes: Vec<Vec<Option<String>>> = deletes.into_iter().map(|key| key.into_iter().cloned().collect()).collect();
        assert_eq!(deletes, [vec![text("b")], vec![text("c")]]);
        let writes: Vec<Vec<(usize, Option<String>)>> =
            writes.into_iter().map(|w| w.into_iter().map(|(i, v)| (i, v.clone())).collect()).collect();
        assert_eq!(writes, [vec![(0, text("a")), (1, text("2")), (3, text("true"))], vec![(0, text("c")), (1, text("9"))]]);
    }

    #[test]
    fn epoch_milliseconds_become_utc_iso_text() {
        assert_eq!(epoch_ms("0", true).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(epoch_ms("-1", true).unwrap(), "1969-12-31T23:59:59.999Z");
        assert_eq!(epoch_ms("951782400000", false).unwrap(), "2000-02-29");
        assert!(epoch_ms("1.5", true).is_err());
        assert!(timestamp("2026-12-07 12:34+01:00", true).is_ok());
        assert!(timestamp("2026-12-07T25:00:00Z", true).is_err());
        assert!(number("1e400").is_ok() && number("12a").is_err());
        assert!(uuid("123e4567-e89b-12d3-a456-426614174000".into()).is_ok() && uuid("123".into()).is_err());
        assert!(convert(&Kind::Text, &raw("{}")).is_err());
    }
}
