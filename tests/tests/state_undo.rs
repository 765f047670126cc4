//! A record's state writes are undone when the record does not complete,
//! live: the chain `counter → chaos` with `trap_on_value=2`, under
//! `--on-error skip --max-retries 1`. The first record of each key counts 1
//! and passes; the second counts 2, chaos traps on it, it is retried, traps
//! again and is skipped — and its write must go with it, so every later
//! record of the key counts 2 again and is skipped too. A `read_committed`
//! reader must see exactly one record per key, with the value `1`; a write
//! that outlived its record would let a `3` through.

use std::collections::BTreeMap;
use std::time::Duration;

use eoshost_tests::{Isolation, RecordPlan, Scenario, Seeded, plugin_path};

const KEYS: u64 = 20;
const PER_KEY: u64 = 5;

#[test]
fn a_record_skipped_after_a_later_plugin_of_the_chain_trapped_leaves_no_state_write() -> anyhow::Result<()> {
    let scenario = Scenario::new("state_undo");
    let broker = scenario.broker();
    let input = scenario.topic("in", 2)?;
    let output = scenario.topic("out", 2)?;
    let group = scenario.unique("group");
    scenario.delete_at_end(&format!("{group}.state"));
    Seeded::write(broker, &input, &RecordPlan::new(KEYS, 2), KEYS * PER_KEY)?;
    let spec = scenario
        .spec("counter", &input, &[&output], &group)
        .args(["--plugin".to_owned(), plugin_path("chaos").display().to_string()])
        .args(["--plugin-config", "chaos:trap_on_value=2", "--on-error", "skip", "--max-retries", "1"]);
    let mut run = scenario.spawn(&spec, "chain")?;
    broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], Duration::from_secs(120))?;
    run.terminate(Duration::from_secs(15))?;

    let outputs = broker.read_topic(&output, Isolation::Committed, KEYS as usize)?;
    let mut per_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in outputs.iter().filter(|r| !r.is_marker()) {
        per_key.entry(record.key_text().unwrap_or_default()).or_default().push(record.value_text().unwrap_or_default());
    }
    scenario.report(&format!("{} keys, outputs {per_key:?}", per_key.len()));
    assert_eq!(per_key.len() as u64, KEYS, "every key's first record passes");
    for (key, values) in &per_key {
        assert_eq!(values, &["1"], "key {key}: only its first count passes, and no skipped record's write remains");
    }
    Ok(())
}
