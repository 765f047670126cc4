//! The `tables` import as a plugin sees it, with the built `lookup` plugin
//! and no Kafka: a lookup returns the table's latest value and sees an
//! update at once; a table name that was not given traps with a message
//! naming `--table` (retried, then `--on-error`); a plugin that reads
//! tables refuses to load when no table is given; `eoshost inspect` says
//! that it reads tables.

mod common;

use std::sync::Arc;

use common::{eoshost, limits, plugin_path, record, stdout};
use eoshost::metrics::Metrics;
use eoshost::plugin::{Chain, PluginSpec};
use eoshost::policy::OnError;
use eoshost::processor::{Fate, OutputRules, Processor};
use eoshost::state::SharedState;
use eoshost::tables::{TableSpec, Tables};

fn customers() -> Tables {
    Tables::new(&[TableSpec::parse("--table", "customers=crm.customers").unwrap()], 1 << 20)
}

fn lookup(table: &str, tables: &Tables, on_error: OnError) -> Result<Processor, String> {
    let config = [("table", table), ("key_field", "customer_id"), ("as", "customer")];
    let spec =
        PluginSpec { path: plugin_path("lookup"), config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    let (chain, state) =
        Chain::load(&[spec], limits(2000, 64), || SharedState::new(1 << 20), tables).map_err(|e| e.to_string())?;
    Ok(Processor::new(chain, OutputRules { topics: None, max_message_bytes: None }, on_error, 1, state, Arc::new(Metrics::new())))
}

fn joined(processor: &mut Processor, value: &str) -> String {
    match processor.process(&record(value)).unwrap() {
        Fate::Write(outputs) => String::from_utf8(outputs[0].value.clone().unwrap()).unwrap(),
        other => panic!("expected a joined record, got {other:?}"),
    }
}

#[test]
fn a_lookup_returns_the_latest_value_and_sees_an_update_at_once() {
    let tables = customers();
    let table = tables.table("customers").unwrap().clone();
    table.apply(b"c-1", Some(br#"{"tier":"gold"}"#)).unwrap();
    let mut processor = lookup("customers", &tables, OnError::Fail).unwrap();
    assert_eq!(joined(&mut processor, r#"{"customer_id":"c-1"}"#), r#"{"customer_id":"c-1","customer":{"tier":"gold"}}"#);
    table.apply(b"c-1", Some(br#"{"tier":"platinum"}"#)).unwrap();
    assert_eq!(joined(&mut processor, r#"{"customer_id":"c-1"}"#), r#"{"customer_id":"c-1","customer":{"tier":"platinum"}}"#);
    table.apply(b"c-1", None).unwrap();
    assert_eq!(joined(&mut processor, r#"{"customer_id":"c-1"}"#), r#"{"customer_id":"c-1","customer":null}"#);
}

#[test]
fn asking_for_a_table_that_was_not_given_traps_naming_the_flag_and_then_follows_on_error() {
    let mut processor = lookup("products", &customers(), OnError::Dlq).unwrap();
    let order = record(r#"{"customer_id":"c-1"}"#);
    assert!(matches!(processor.process(&order).unwrap(), Fate::Retry), "the first trap is retried");
    assert!(processor.ensure_instances().is_ok());
    match processor.process(&order).unwrap() {
        Fate::DeadLetter(letter) => {
            let reason = format!("{letter:?}");
            assert!(reason.contains("--table products=TOPIC") && reason.contains("tables given: customers"), "{reason}");
        }
        other => panic!("expected a dead letter once the retries are spent, got {other:?}"),
    }
}

#[test]
fn a_plugin_that_reads_tables_refuses_to_load_when_no_table_is_given() {
    let refused = lookup("customers", &Tables::default(), OnError::Fail).err().expect("loading must fail");
    assert!(refused.contains("no --table was given") && refused.contains("lookup.wasm"), "{refused}");
}

#[test]
fn inspect_says_that_the_plugin_reads_tables() {
    let path = plugin_path("lookup");
    let output = eoshost(&["inspect", "--plugin", path.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("tables: imports eoshost:transform/tables@0.1.0"), "{}", stdout(&output));
}
