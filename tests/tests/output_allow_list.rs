//! `--output` is an allow-list (DESIGN §2): the `escape` plugin, besides
//! probing the sandbox, names a topic outside it for one of its outputs.
//! That makes the record a plugin error, so with `--on-error dlq` the
//! original record goes to the dead-letter topic — once — and none of its
//! outputs is written anywhere, not even as an aborted record.

use std::time::Duration;

use eoshost_tests::timeouts::ALL_COMMITTED;
use eoshost_tests::{Isolation, RecordPlan, Scenario, Seeded, TRANSACTION_TIMEOUT, Tally, dead_letter_problems};

#[test]
fn output_to_a_topic_outside_the_allow_list_sends_the_record_to_the_dlq() -> anyhow::Result<()> {
    let scenario = Scenario::new("output_allow_list");
    let broker = scenario.broker();
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    // It exists, so only the allow-list can keep records out of it.
    let forbidden = scenario.topic("forbidden", 1)?;
    let dlq = format!("{input}.dlq");
    scenario.named_topic(&dlq, 1)?;
    let group = scenario.unique("group");
    let seeded = Seeded::write(broker, &input, &RecordPlan::new(3, 1), 3)?;

    let spec = scenario
        .spec("escape", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .plugin_config(&format!("forbidden_topic={forbidden}"))
        .args(["--on-error", "dlq"]);
    let mut run = scenario.spawn(&spec, "escape")?;
    broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;
    run.terminate(Duration::from_secs(15))?;

    let letters = broker.read_topic(&dlq, Isolation::Committed, seeded.len())?;
    let tally = Tally::count(&seeded.all(), &letters);
    scenario.report(&format!("dead letters: {tally}"));
    tally.assert_exactly_once("records whose outputs name a topic outside --output, in the dead-letter topic");
    let problems = dead_letter_problems(&letters, &seeded, &forbidden);
    assert!(problems.is_empty(), "dead letters are wrong (eoshost.error should name {forbidden}):\n{}", problems.join("\n"));

    for (topic, what) in [(&forbidden, "the forbidden topic"), (&output, "the output (a rejected record's outputs are dropped)")]
    {
        let written = broker.read_topic(topic, Isolation::Uncommitted, 0)?;
        scenario.report(&format!("{what}: {} records, aborted ones included", written.len()));
        assert!(written.is_empty(), "{} records reached {what}", written.len());
    }
    broker.assert_no_hanging_transaction(&[&output, &dlq], TRANSACTION_TIMEOUT)?;
    Ok(())
}
