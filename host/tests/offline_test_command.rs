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

#[test]
fn an_output_value_schema_checks_each_output_offline_naming_the_field_that_does_not_fit() {
    let dir = scratch("output_schema");
    let path = dir.join("orders.jsonl");
    // A schema that wants `total_cents` as an int: the second order's total
    // is beyond an int's range, so it does not fit.
    let schema = dir.join("enriched.avsc");
    std::fs::write(
        &schema,
        r#"{"type":"record","name":"E","fields":[{"name":"order_id","type":"string"},{"name":"region","type":{"type":"enum","name":"R","symbols":["EU","NA","APAC","OTHER"]}},{"name":"total_cents","type":"int"}]}"#,
    )
    .unwrap();
    std::fs::write(
        &path,
        concat!(
            r#"{"offset":1,"value":"{\"order_id\":\"o1\",\"customer_id\":\"c\",\"country\":\"SE\",\"quantity\":2,\"unit_price_cents\":5}"}"#,
            "\n",
            r#"{"offset":2,"value":"{\"order_id\":\"o2\",\"customer_id\":\"c\",\"country\":\"SE\",\"quantity\":1000000,\"unit_price_cents\":1000000}"}"#,
            "\n",
        ),
    )
    .unwrap();
    let output = eoshost(&[
        "test",
        "--plugin",
        plugin_path("enrich").to_str().unwrap(),
        "--value-format",
        "avro",
        "--output-value-schema",
        schema.to_str().unwrap(),
        "--input",
        path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    // What fits is shown as the plugin wrote it: JSON, not Avro bytes.
    assert!(lines[0].contains(r#"\"total_cents\":10"#), "{}", lines[0]);
    assert!(
        lines[1].starts_with(r#"{"offset":2,"error":"#) && lines[1].contains("$.total_cents"),
        "the misfit names its field: {}",
        lines[1]
    );
}

#[test]
fn a_registry_format_without_a_registry_is_refused_at_start_naming_the_option() {
    let output = eoshost(&[
        "--plugin",
        plugin_path("identity").to_str().unwrap(),
        "--input",
        "a",
        "--output",
        "b",
        "--value-format",
        "avro",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--schema-registry-url"), "{}", stderr(&output));
}
