//! An output record larger than `message.max.bytes` is a bad record, not a
//! crash: it follows `--on-error` (here `skip`), the records around it are
//! written exactly once, and eoshost keeps running until told to stop.

use std::time::Duration;

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use eoshost_tests::timeouts::{ALL_COMMITTED, KAFKA_CALL};
use eoshost_tests::{Isolation, Scenario};

#[test]
fn an_oversized_output_is_skipped_and_the_rest_flows() -> anyhow::Result<()> {
    let scenario = Scenario::new("oversized_output");
    let broker = scenario.broker();
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let group = scenario.unique("group");

    let producer: BaseProducer = broker.config().set("enable.idempotence", "true").create()?;
    let values: Vec<String> =
        (0..10).map(|n| if n == 3 || n == 7 { format!("big-{n}-{}", "x".repeat(5000)) } else { format!("small-{n}") }).collect();
    for value in &values {
        producer.send(BaseRecord::<str, str>::to(&input).key("k").payload(value)).map_err(|(error, _)| error)?;
    }
    producer.flush(KAFKA_CALL)?;

    let spec = scenario
        .spec("identity", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .librdkafka("message.max.bytes=2000")
        .args(["--on-error", "skip"]);
    let mut run = scenario.spawn(&spec, "identity")?;
    broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;
    assert!(run.try_exit().is_none(), "eoshost stopped on an oversized output:\n{}", run.stderr_tail(20));
    let (exit, _) = run.terminate(Duration::from_secs(15))?.expect("eoshost was running");
    assert_eq!(exit.code(), Some(0), "{}", run.stderr_tail(20));

    let written: Vec<String> = broker
        .read_topic(&output, Isolation::Committed, 8)?
        .into_iter()
        .map(|record| String::from_utf8(record.value.unwrap_or_default()).unwrap_or_default())
        .collect();
    let expected: Vec<&String> = values.iter().filter(|v| v.starts_with("small-")).collect();
    scenario.report(&format!("outputs={} expected={}", written.len(), expected.len()));
    assert_eq!(written.iter().collect::<Vec<_>>(), expected, "the small records, once each, in order");
    assert!(run.stderr().contains("exceeds message.max.bytes"), "the skip names the reason:\n{}", run.stderr_tail(20));
    Ok(())
}
