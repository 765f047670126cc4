//! `eoshost test --table`: the lookup conformance suite
//! (tests/conformance/lookup) through the real binary, for the Rust `lookup`
//! the Python `lookup-py` and the Go `lookup-go`, which must each print
//! expected.jsonl byte for byte; and all refuse bad configuration with the
//! same message.

mod common;

use std::process::Output;

use common::{assert_prints, eoshost, plugin_path, stderr, stdout, workspace_root};

/// The configuration expected.jsonl was written for.
const CONFIG: [&str; 3] = ["table=customers", "key_field=customer_id", "as=customer"];

/// `eoshost test` of `plugin` over the suite's input, with its table `customers`.
fn run_suite(plugin: &str, config: &[&str]) -> Output {
    let suite = workspace_root().join("tests/conformance/lookup");
    let table = format!("customers={}", suite.join("customers.jsonl").display());
    let input = suite.join("input.jsonl");
    let plugin = plugin_path(plugin);
    let mut args = vec!["test", "--plugin", plugin.to_str().unwrap(), "--table", &table, "--input", input.to_str().unwrap()];
    for pair in config {
        args.extend(["--plugin-config", *pair]);
    }
    eoshost(&args)
}

fn assert_conformance(plugin: &str) {
    let expected = std::fs::read_to_string(workspace_root().join("tests/conformance/lookup/expected.jsonl")).unwrap();
    assert_prints(plugin, &run_suite(plugin, &CONFIG), &expected);
}

#[test]
fn lookup_matches_the_conformance_suite_byte_for_byte() {
    assert_conformance("lookup");
}

#[test]
fn lookup_in_python_matches_the_conformance_suite_byte_for_byte() {
    assert_conformance("lookup-py");
}

#[test]
fn lookup_in_go_matches_the_conformance_suite_byte_for_byte() {
    assert_conformance("lookup-go");
}

#[test]
fn every_lookup_refuses_bad_configuration_alike() {
    let without = |key: &str| CONFIG.iter().copied().filter(|pair| !pair.starts_with(&format!("{key}="))).collect::<Vec<_>>();
    let cases = [
        ([&CONFIG[..], &["mode=x"]].concat(), "unknown config key \"mode\""),
        (without("table"), "config key \"table\" is required: the NAME of the --table NAME=TOPIC to look up"),
        (without("key_field"), "config key \"key_field\" is required: the input field whose string value is the key to look up"),
        (without("as"), "config key \"as\" is required: the output field that gets the table's value"),
    ];
    for (config, message) in cases {
        for plugin in ["lookup", "lookup-py", "lookup-go"] {
            let output = run_suite(plugin, &config);
            assert_eq!(output.status.code(), Some(2), "{plugin} {config:?}: {}", stderr(&output));
            assert!(stderr(&output).contains(message), "{plugin} {config:?}: {}", stderr(&output));
            assert!(stdout(&output).is_empty(), "{plugin} {config:?}: {}", stdout(&output));
        }
    }
}
