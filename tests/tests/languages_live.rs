//! "Any Wasm language" in the live pipeline: `enrich` written in Rust, C, Go,
//! Python and JavaScript each runs once against the real broker over the same
//! orders (with a few invalid ones, dead-lettered): every valid order is
//! enriched exactly once, every invalid one dead-lettered once, and every
//! language writes byte-identical values to Rust's.

use std::collections::BTreeMap;
use std::time::Duration;

use eoshost_tests::{Isolation, RecordPlan, Scenario, Seeded, TRANSACTION_TIMEOUT, Tally};

#[test]
fn enrich_in_every_language_is_exactly_once_and_byte_identical_live() -> anyhow::Result<()> {
    let scenario = Scenario::new("languages_live");
    let broker = scenario.broker();
    let partitions = 3;
    let count = scenario.scaled(600);
    let plan = RecordPlan::new(12, partitions).with_poison([7, count / 2, count - 1]);
    let input = scenario.topic("in", partitions)?;
    let seeded = Seeded::write(broker, &input, &plan, count)?;

    let mut reference: Option<BTreeMap<u64, Vec<u8>>> = None;
    for plugin in ["enrich", "enrich-c", "enrich-go", "enrich-py", "enrich-js"] {
        let output = scenario.topic(&format!("{plugin}-out"), partitions)?;
        let dlq = scenario.topic(&format!("{plugin}-dlq"), 1)?;
        let group = scenario.unique(plugin);
        let spec = scenario
            .spec(plugin, &input, &[&output], &group)
            .transactional_id(&scenario.unique(&format!("{plugin}-txn")))
            .args(["--on-error", "dlq", "--dlq-topic", &dlq]);
        let mut run = scenario.spawn(&spec, plugin)?;
        broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], Duration::from_secs(120))?;
        run.terminate(Duration::from_secs(15))?;

        let outputs = broker.read_topic(&output, Isolation::Committed, seeded.valid().len())?;
        let tally = Tally::count(&seeded.valid(), &outputs);
        scenario.report(&format!("{plugin}: outputs {tally}"));
        tally.assert_exactly_once(&format!("{plugin}: valid orders in the output"));
        let letters = broker.read_topic(&dlq, Isolation::Committed, seeded.poison().len())?;
        let tally = Tally::count(&seeded.poison(), &letters);
        scenario.report(&format!("{plugin}: dead letters {tally}"));
        tally.assert_exactly_once(&format!("{plugin}: invalid orders in the dead-letter topic"));
        broker.assert_no_hanging_transaction(&[&output, &dlq], TRANSACTION_TIMEOUT)?;

        let values: BTreeMap<u64, Vec<u8>> =
            outputs.iter().filter_map(|record| Some((record.number()?, record.value.clone().unwrap_or_default()))).collect();
        match &reference {
            None => reference = Some(values),
            Some(rust) => {
                let differing: Vec<&u64> = rust.keys().filter(|n| rust.get(n) != values.get(n)).collect();
                assert!(differing.is_empty(), "{plugin} differs from Rust's enrich for records {differing:?}");
            }
        }
    }
    Ok(())
}
