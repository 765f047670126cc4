//! Stateful plugins and chains in `eoshost test`: `counter` counts per key
//! and per input partition (state is scoped to the record's partition), the
//! Python `counter-py` writes the same bytes, a chain's outputs go through
//! the next plugin, and a chain's config must name its plugin.

mod common;

use common::{eoshost, plugin_path, scratch, stderr, stdout};

const RECORDS: &str = concat!(
    r#"{"key":"a","value":"x"}"#,
    "\n",
    r#"{"key":"b","value":"x"}"#,
    "\n",
    r#"{"key":"a","value":"x"}"#,
    "\n",
    r#"{"key":"a","partition":1,"value":"x"}"#,
    "\n",
    r#"{"value":"no key"}"#,
    "\n",
    r#"{"key":"a","value":"x"}"#,
    "\n",
);

fn run(plugins: &[&str], extra: &[&str]) -> std::process::Output {
    let path = scratch("stateful").join("records.jsonl");
    std::fs::write(&path, RECORDS).unwrap();
    let mut args = vec!["test".to_owned()];
    for plugin in plugins {
        args.extend(["--plugin".to_owned(), plugin_path(plugin).display().to_string()]);
    }
    args.extend(["--input".to_owned(), path.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    eoshost(&args)
}

#[test]
fn counter_counts_per_key_within_each_input_partition() {
    let output = run(&["counter"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let values: Vec<String> = stdout(&output)
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            match json.get("value") {
                Some(value) => format!("{}={}", json["key"].as_str().unwrap(), value.as_str().unwrap()),
                None => "rejected".to_owned(),
            }
        })
        .collect();
    assert_eq!(values, ["a=1", "b=1", "a=2", "a=1", "rejected", "a=3"]);
}

#[test]
fn counter_in_python_writes_the_same_bytes_as_counter_in_rust() {
    let rust = run(&["counter"], &[]);
    let python = run(&["counter-py"], &[]);
    assert_eq!(python.status.code(), Some(0), "{}", stderr(&python));
    assert_eq!(stdout(&python), stdout(&rust));
}

#[test]
fn a_chain_runs_every_output_of_one_plugin_through_the_next() {
    // counter, then counter again: the second counts the first's outputs
    // under its own state (keys a, b, a, a, a: its counts 1, 1, 2, 3, 4).
    let dir = scratch("stateful-chain");
    let second = dir.join("recount.wasm");
    std::fs::copy(plugin_path("counter"), &second).unwrap();
    let path = dir.join("records.jsonl");
    std::fs::write(&path, RECORDS).unwrap();
    let first = plugin_path("counter");
    let output = eoshost(&[
        "test",
        "--plugin",
        first.to_str().unwrap(),
        "--plugin",
        second.to_str().unwrap(),
        "--input",
        path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    // The second sees the first's outputs (the same keys, so the same
    // counts) under its own state, scoped to the source record's partition.
    let values: Vec<Option<String>> = lines
        .iter()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap().get("value").and_then(|v| v.as_str().map(str::to_owned))
        })
        .collect();
    assert_eq!(values, [Some("1".into()), Some("1".into()), Some("2".into()), Some("1".into()), None, Some("3".into())]);
    assert!(lines[4].contains("plugin counter:"), "a rejection names the plugin of the chain: {}", lines[4]);
}

#[test]
fn a_chain_needs_each_config_pair_to_name_its_plugin() {
    let output = run(&["enrich", "router"], &["--plugin-config", "inventory_topic=stock"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("NAME:inventory_topic=stock"), "{}", stderr(&output));
    let output = run(&["enrich", "router"], &["--plugin-config", "router:inventory_topic=stock"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}
