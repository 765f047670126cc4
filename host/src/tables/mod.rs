//! Tables (`--table NAME=TOPIC`): the latest value per key of a compacted
//! topic, held whole by every instance (as a Kafka Streams `GlobalKTable`)
//! and offered to plugins through the WIT `tables` import. [`Tables`] is the
//! run's set of tables, shared by the plugins that read them and the
//! followers that fill them; each [`Table`] (`table.rs`) owns its rows and
//! their bound; `follower.rs` loads a table to its start-up end before the
//! first record and keeps it current in the background.

mod follower;
mod table;

use std::sync::Arc;

pub use follower::{FollowerSettings, LoadReport, follow};
pub use table::{Table, TableFull};

/// One `--table NAME=TOPIC` (or, in `eoshost test`, `NAME=FILE.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// What plugins call the table.
    pub name: String,
    /// The topic (or file) it is read from.
    pub source: String,
}

impl TableSpec {
    /// Parses `NAME=SOURCE` as given to `flag`.
    pub fn parse(flag: &str, raw: &str) -> Result<TableSpec, String> {
        match raw.split_once('=') {
            Some((name, source)) if !name.is_empty() && !source.is_empty() => {
                Ok(TableSpec { name: name.to_owned(), source: source.to_owned() })
            }
            _ => Err(format!("{flag} \"{raw}\" is not NAME=TOPIC, e.g. {flag} customers=customers")),
        }
    }

    /// Checks that no table name is given twice.
    pub fn check_distinct(flag: &str, specs: &[TableSpec]) -> Result<(), String> {
        for (i, spec) in specs.iter().enumerate() {
            if specs[..i].iter().any(|earlier| earlier.name == spec.name) {
                return Err(format!("{flag} names the table \"{}\" twice; give each table one NAME=TOPIC", spec.name));
            }
        }
        Ok(())
    }
}

/// A plugin asked for a table the operator did not give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the plugin asked for table \"{table}\", which was not given: add --table {table}=TOPIC (tables given: {given}) \
     or fix the table name in the plugin's code or configuration"
)]
pub struct UnknownTable {
    pub table: String,
    pub given: String,
}

/// The run's tables, by name: cheap to clone, shared by every plugin
/// instance and the followers.
#[derive(Debug, Clone, Default)]
pub struct Tables(Arc<[Arc<Table>]>);

impl Tables {
    /// Empty tables named by `specs`, each bounded by `max_bytes` of keys
    /// and values.
    pub fn new(specs: &[TableSpec], max_bytes: usize) -> Tables {
        Tables(specs.iter().map(|spec| Arc::new(Table::new(&spec.name, max_bytes))).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Arc<Table>> {
        self.0.iter().find(|table| table.name() == name)
    }

    /// Every table, in the order given.
    pub fn all(&self) -> &[Arc<Table>] {
        &self.0
    }

    /// The latest value under `key` in table `table`: what a plugin's
    /// `tables.get` returns.
    pub fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, UnknownTable> {
        match self.table(table) {
            Some(found) => Ok(found.get(key)),
            None => Err(UnknownTable {
                table: table.to_owned(),
                given: if self.0.is_empty() {
                    "none".to_owned()
                } else {
                    self.0.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_spec_is_name_equals_source() {
        assert_eq!(
            TableSpec::parse("--table", "customers=crm.customers").unwrap(),
            TableSpec { name: "customers".into(), source: "crm.customers".into() }
        );
        for bad in ["customers", "=topic", "name="] {
            assert!(TableSpec::parse("--table", bad).unwrap_err().contains("NAME=TOPIC"), "{bad}");
        }
    }

    #[test]
    fn a_table_name_given_twice_is_refused() {
        let specs = [TableSpec::parse("--table", "c=a").unwrap(), TableSpec::parse("--table", "c=b").unwrap()];
        assert!(TableSpec::check_distinct("--table", &specs).unwrap_err().contains("\"c\" twice"));
    }

    #[test]
    fn asking_for_a_table_not_given_names_the_flag_and_the_tables_given() {
        let tables = Tables::new(&[TableSpec::parse("--table", "customers=c").unwrap()], 1 << 20);
        tables.table("customers").unwrap().apply(b"k", Some(b"v")).unwrap();
        assert_eq!(tables.get("customers", b"k").unwrap().as_deref(), Some(&b"v"[..]));
        let unknown = tables.get("products", b"k").unwrap_err().to_string();
        assert!(unknown.contains("--table products=TOPIC") && unknown.contains("tables given: customers"), "{unknown}");
    }
}
