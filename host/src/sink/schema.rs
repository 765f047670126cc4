//! The sink's tables (DESIGN §1.7): the rows table `NAME`, its
//! `NAME_dead_letters` and `eoshost_offsets`. Creates them when missing and
//! refuses, at start, an existing table of another shape: writing into a
//! table whose primary key is not the record's source would silently lose
//! the exactly-once guarantee.

use postgres::Client;

/// The offsets table, shared by every group and every sink table.
pub const OFFSETS_TABLE: &str = "eoshost_offsets";

/// One column: name and type as `information_schema.columns.data_type`
/// spells it.
type Column = (&'static str, &'static str);

const ROW_COLUMNS: [Column; 8] = [
    ("source_topic", "text"),
    ("source_partition", "integer"),
    ("source_offset", "bigint"),
    ("output_index", "integer"),
    ("topic", "text"),
    ("key", "bytea"),
    ("value", "bytea"),
    ("headers", "jsonb"),
];
const ROW_KEY: [&str; 4] = ["source_topic", "source_partition", "source_offset", "output_index"];

const DEAD_LETTER_COLUMNS: [Column; 8] = [
    ("source_topic", "text"),
    ("source_partition", "integer"),
    ("source_offset", "bigint"),
    ("key", "bytea"),
    ("value", "bytea"),
    ("headers", "jsonb"),
    ("error", "text"),
    ("plugin", "text"),
];
const DEAD_LETTER_KEY: [&str; 3] = ["source_topic", "source_partition", "source_offset"];

const OFFSET_COLUMNS: [Column; 4] =
    [("group_id", "text"), ("topic", "text"), ("partition", "integer"), ("next_offset", "bigint")];
const OFFSET_KEY: [&str; 3] = ["group_id", "topic", "partition"];

/// A table that cannot be used, or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The table exists with other columns or another primary key.
    #[error(
        "table {table} exists with another shape ({problems}); eoshost needs ({wanted}). Drop or rename it, or \
         choose another --table"
    )]
    WrongShape { table: String, problems: String, wanted: String },
    #[error("cannot create or check table {table}: {source}")]
    Database { table: String, source: postgres::Error },
}

/// `name` quoted as one SQL identifier: whatever `--table` holds, it is
/// never read as SQL.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The state of stateful plugins in the sink, shared by every group (like
/// the offsets): one row per key, per input partition and plugin.
pub const STATE_TABLE: &str = "eoshost_state";

const STATE_COLUMNS: [Column; 6] =
    [("group_id", "text"), ("topic", "text"), ("partition", "integer"), ("plugin", "text"), ("key", "bytea"), ("value", "bytea")];
const STATE_KEY: [&str; 5] = ["group_id", "topic", "partition", "plugin", "key"];

/// The dead-letter table of sink table `table`.
pub fn dead_letter_table(table: &str) -> String {
    format!("{table}_dead_letters")
}

/// Creates the sink's tables when missing and checks their shape.
/// `landing`: false under `--columns auto`, where the rows go to the user's
/// own table, which eoshost neither creates nor checks here; `stateful`:
/// the state table too.
pub fn prepare(client: &mut Client, table: &str, landing: bool, stateful: bool) -> Result<(), SchemaError> {
    if landing {
        ensure(client, table, &ROW_COLUMNS, &ROW_KEY)?;
    }
    if stateful {
        ensure(client, STATE_TABLE, &STATE_COLUMNS, &STATE_KEY)?;
    }
    ensure(client, &dead_letter_table(table), &DEAD_LETTER_COLUMNS, &DEAD_LETTER_KEY)?;
    ensure(client, OFFSETS_TABLE, &OFFSET_COLUMNS, &OFFSET_KEY)
}

fn ensure(client: &mut Client, table: &str, columns: &[Column], key: &[&str]) -> Result<(), SchemaError> {
    let database = |source| SchemaError::Database { table: table.to_owned(), source };
    let definition: Vec<String> = columns.iter().map(|(name, kind)| format!("{} {kind}", quote_identifier(name))).collect();
    let key_list: Vec<String> = key.iter().map(|name| quote_identifier(name)).collect();
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))",
        quote_identifier(table),
        definition.join(", "),
        key_list.join(", ")
    );
    if let Err(error) = client.batch_execute(&create) {
        // Two instances creating the same table at once: one loses the race
        // on the catalog's unique index; the table exists either way.
        if error.code() != Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
            return Err(database(error));
        }
    }
    let found = client
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .map_err(database)?;
    let found: Vec<(String, String)> = found.iter().map(|row| (row.get(0), row.get(1))).collect();
    let found_key: Vec<String> = client
        .query(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)) AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
            &[&table],
        )
        .map_err(database)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let problems = shape_problems(columns, key, &found, &found_key);
    if problems.is_empty() {
        return Ok(());
    }
    let wanted: Vec<String> = columns.iter().map(|(name, kind)| format!("{name} {kind}")).collect();
    Err(SchemaError::WrongShape {
        table: quote_identifier(table),
        problems: problems.join("; "),
        wanted: format!("{}, primary key ({})", wanted.join(", "), key.join(", ")),
    })
}

/// What differs between the wanted and the found shape, in words.
fn shape_problems(columns: &[Column], key: &[&str], found: &[(String, String)], found_key: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, kind) in columns {
        match found.iter().find(|(found_name, _)| found_name == name) {
            None => problems.push(format!("no column {name}")),
            Some((_, found_kind)) if found_kind != kind => problems.push(format!("column {name} is {found_kind}, not {kind}")),
            Some(_) => {}
        }
    }
    for (name, _) in found {
        if !columns.iter().any(|(wanted, _)| wanted == name) {
            problems.push(format!("extra column {name}"));
        }
    }
    if found_key.iter().map(String::as_str).ne(key.iter().copied()) {
        problems.push(format!("primary key is ({}), not ({})", found_key.join(", "), key.join(", ")));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_whatever_they_hold() {
        assert_eq!(quote_identifier("orders"), "\"orders\"");
        assert_eq!(quote_identifier("a\"; DROP TABLE x; --"), "\"a\"\"; DROP TABLE x; --\"");
    }

    #[test]
    fn a_table_of_another_shape_is_described_column_by_column() {
        let found = vec![
            ("group_id".to_owned(), "text".to_owned()),
            ("topic".to_owned(), "text".to_owned()),
            ("partition".to_owned(), "bigint".to_owned()),
            ("note".to_owned(), "text".to_owned()),
        ];
        let problems = shape_problems(&OFFSET_COLUMNS, &OFFSET_KEY, &found, &["group_id".to_owned()]);
        assert_eq!(
            problems,
            [
                "column partition is bigint, not integer",
                "no column next_offset",
                "extra column note",
                "primary key is (group_id), not (group_id, topic, partition)",
            ]
        );
        let exact: Vec<(String, String)> = OFFSET_COLUMNS.iter().map(|(n, k)| ((*n).to_owned(), (*k).to_owned())).collect();
        let key: Vec<String> = OFFSET_KEY.iter().map(|k| (*k).to_owned()).collect();
        assert!(shape_problems(&OFFSET_COLUMNS, &OFFSET_KEY, &exact, &key).is_empty());
    }
}
