//! `eoshost test` end to end: the enrich conformance suite through the real
//! binary, rejections as `{"offset":N,"error":…}` lines, and hostile plugins
//! exiting non-zero within seconds, naming the trap.

mod common;

use std::time::Instant;

use common::{assert_prints, eoshost, plugin_path, scratch, stderr, stdout, workspace_root};

/// Every language's `enrich` against the shared suite (tests/conformance/enrich).
fn assert_conformance(plugin: &str) {
    let suite = workspace_root().join("tests/conformance/enrich");
    let input = suite.join("input.jsonl");
    let expected = std::fs::read_to_string(suite.join("expected.jsonl")).unwrap();
    let output = eoshost(&["test", "--plugin", plugin_path(plugin).to_str().unwrap(), "--input", input.to_str().unwrap()]);
    assert_prints(plugin, &output, &expected);
}

#[test]
fn enrich_matches_the_conformance_suite_byte_for_byte() {
    assert_conformance("enrich");
}

#[test]
fn enrich_in_go_matches_the_conformance_suite_byte_for_byte() {
    assert_conformance("enrich-go");
}

#[test]
fn enrich_in_python_matches_the_conformance_suite_byte_for_byte() {
    assert_conformance("enrich-py");
}

#[test]
fn enrich_in_javascript_matches_the_conformance_suite_byte_for_byte() {
    assert_conformance("enrich-js");
}

#[test]
fn enrich_in_c_matches_the_conformance_suite_byte_for_byte() {
    assert_conformance("enrich-c");
}

#[test]
fn rejections_are_printed_with_their_offset() {
    let path = scratch("rejections").join("orders.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"offset":7,"key":"k1","value":"{\"order_id\":\"o1\",\"customer_id\":\"c\",\"country\":\"SE\",\"quantity\":2,\"unit_price_cents\":5}","headers":{"trace":"t"}}"#,
            "\n",
            r#"{"offset":8,"value":"{\"order_id\":\"o2\",\"customer_id\":\"c\",\"country\":\"SE\",\"quantity\":3e2,\"unit_price_cents\":5}"}"#,
            "\n",
        ),
    )
    .unwrap();
    let output = eoshost(&["test", "--plugin", plugin_path("enrich").to_str().unwrap(), "--input", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        concat!(
            r#"{"topic":null,"key":"k1","value":"{\"order_id\":\"o1\",\"customer_id\":\"c\",\"country\":\"SE\",\"region\":\"EU\",\"quantity\":2,\"unit_price_cents\":5,\"total_cents\":10}","headers":{"trace":"t","region":"EU"}}"#,
            "\n",
            r#"{"offset":8,"error":"field \"quantity\" must be an integer"}"#,
            "\n",
        )
    );
}

#[test]
fn hostile_plugins_exit_non_zero_within_seconds_naming_the_trap() {
    let path = scratch("hostile").join("one.jsonl");
    std::fs::write(&path, "{\"value\":\"x\"}\n").unwrap();
    for (name, kind) in [("spin", "timeout"), ("hog", "memory"), ("deep", "stack")] {
        let started = Instant::now();
        let output = eoshost(&["test", "--plugin", plugin_path(name).to_str().unwrap(), "--input", path.to_str().unwrap()]);
        let elapsed = started.elapsed();
        assert_eq!(output.status.code(), Some(1), "{name}: {}", stderr(&output));
        assert!(stderr(&output).contains(&format!("{kind} trap")), "{name}: {}", stderr(&output));
        assert!(elapsed.as_secs() < 5, "{name} took {elapsed:?}");
    }
}

#[test]
fn inspect_lists_the_world_exports_and_imports() {
    let output = eoshost(&["inspect", "--plugin", plugin_path("identity").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("eoshost:transform/transformer@0.1.0 (ok)"), "{text}");
    assert!(text.contains("  init (func)") && text.contains("  transform (func)"), "{text}");
    assert!(text.contains("wasi:cli/stdout"), "{text}");
}
