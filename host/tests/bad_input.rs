//! Bad input to `eoshost test` and `eoshost inspect` gives one line naming
//! the file, line or key and what to do, and exit code 2 — never a panic.

mod common;

use common::{eoshost, plugin_path, scratch, stderr};

fn orders_file(name: &str, lines: &str) -> String {
    let path = scratch(name).join("orders.jsonl");
    std::fs::write(&path, lines).unwrap();
    path.to_string_lossy().into_owned()
}

fn assert_usage_error(args: &[&str], expected: &[&str]) {
    let output = eoshost(args);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "args {args:?}: {text}");
    assert_eq!(text.trim_end().lines().count(), 1, "one line expected: {text}");
    for part in expected {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn a_missing_plugin_file_is_named() {
    assert_usage_error(
        &["test", "--plugin", "/nonexistent/enrich.wasm"],
        &["/nonexistent/enrich.wasm", "check the --plugin path"],
    );
}

#[test]
fn a_file_that_is_not_wasm_is_named() {
    let path = scratch("notwasm").join("plugin.wasm");
    std::fs::write(&path, b"#!/bin/sh\necho hi\n").unwrap();
    let path = path.to_string_lossy().into_owned();
    assert_usage_error(&["test", "--plugin", &path], &[&path, "not a WebAssembly file"]);
}

#[test]
fn a_core_module_is_told_to_become_a_component() {
    let path = scratch("core").join("core.wasm");
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let path = path.to_string_lossy().into_owned();
    assert_usage_error(&["inspect", "--plugin", &path], &[&path, "core WebAssembly module", "wasm-tools component new"]);
}

#[test]
fn a_component_of_another_world_names_what_is_missing_or_mismatched() {
    let dir = scratch("wrongworld");
    let empty = dir.join("empty.wasm");
    std::fs::write(&empty, wat::parse_str("(component)").unwrap()).unwrap();
    let empty = empty.to_string_lossy().into_owned();
    assert_usage_error(&["test", "--plugin", &empty], &[&empty, "missing export `init`", "missing export `transform`"]);

    let mistyped = dir.join("mistyped.wasm");
    let wat = r#"(component
        (core module $m (func (export "f") (result i32) i32.const 0))
        (core instance $i (instantiate $m))
        (func $f (result u32) (canon lift (core func $i "f")))
        (export "init" (func $f))
        (export "transform" (func $f)))"#;
    std::fs::write(&mistyped, wat::parse_str(wat).unwrap()).unwrap();
    let mistyped = mistyped.to_string_lossy().into_owned();
    let output = eoshost(&["inspect", "--plugin", &mistyped]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("init"), "{}", stderr(&output));
}

#[test]
fn a_malformed_jsonl_line_names_file_and_line() {
    let file = orders_file("badline", "{\"value\":\"ok\"}\n{\"value\": oops}\n");
    let enrich = plugin_path("enrich").to_string_lossy().into_owned();
    assert_usage_error(&["test", "--plugin", &enrich, "--input", &file], &[&format!("{file}:2:"), "JSON object"]);
}

#[test]
fn an_unknown_plugin_config_key_is_named() {
    let file = orders_file("badkey", "{\"value\":\"ok\"}\n");
    let enrich = plugin_path("enrich").to_string_lossy().into_owned();
    assert_usage_error(
        &["test", "--plugin", &enrich, "--input", &file, "--plugin-config", "colour=blue"],
        &["unknown config key \"colour\"", "fix --plugin-config"],
    );
}

#[test]
fn a_plugin_config_without_equals_is_refused() {
    let enrich = plugin_path("enrich").to_string_lossy().into_owned();
    assert_usage_error(&["test", "--plugin", &enrich, "--plugin-config", "colour"], &["--plugin-config takes KEY=VALUE"]);
}
