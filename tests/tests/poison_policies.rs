//! What happens to a record the plugin rejects, or that keeps trapping,
//! under each `--on-error` policy (DESIGN §1.1, §2): `fail` stops with exit
//! code 3 and commits nothing from the bad record on; `skip` writes the
//! valid records exactly once; `dlq` writes the bad ones, each once, to the
//! dead-letter topic in the same transactions. The poison records are orders
//! whose `quantity` is a string, which `enrich` rejects with a reason.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context as _;
use eoshost_tests::timeouts::{ALL_COMMITTED, EXIT_AT_POISON_RECORD, FIRST_COMMIT};
use eoshost_tests::{
    Exit, Isolation, RecordPlan, Scenario, Seeded, TRANSACTION_TIMEOUT, Tally, dead_letter_problems, mentions_number,
};

const PARTITIONS: i32 = 3;
const KEYS: u64 = 30;

#[test]
fn fail_policy_exits_3_naming_the_record_and_commits_nothing_from_it_on() -> anyhow::Result<()> {
    let scenario = Scenario::new("poison_fail");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    // A first batch of valid records is processed and committed, so the
    // failure happens with committed history behind it; the poison comes in
    // the middle of a second batch.
    let first_batch = scenario.scaled(1_500).max(10);
    let second_batch = scenario.scaled(1_500).max(10);
    let poison_n = first_batch + second_batch / 2;
    let plan = RecordPlan::new(KEYS, PARTITIONS).with_poison([poison_n]);
    let mut seeded = Seeded::write(broker, &input, &plan, first_batch)?;

    let txn = scenario.unique("txn");
    let spec = scenario.spec("enrich", &input, &[&output], &group).transactional_id(&txn).args(["--on-error", "fail"]);
    let progress = broker.progress(&group, &input)?;
    let mut run = scenario.spawn(&spec, "fail")?;
    progress.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;
    let history = progress.committed()?;
    seeded.extend(broker, &plan, second_batch)?;
    let poison = seeded.get(poison_n).clone();
    scenario.report(&format!(
        "first batch committed at {history:?}; poison record {poison_n} at {input}/{}@{}",
        poison.partition, poison.offset
    ));

    let exit = run
        .wait_exit(EXIT_AT_POISON_RECORD)
        .with_context(|| format!("eoshost did not stop at the poison record within {EXIT_AT_POISON_RECORD:?}"))?;
    let stderr = run.stderr();
    scenario.report(&format!("fail run: {exit}"));
    assert_eq!(exit, Exit::Code(3), "--on-error fail must exit 3 on a rejected record; stderr tail:\n{}", run.stderr_tail(30));

    // One line names the topic, partition, offset and the plugin's reason
    // (`field "quantity" must be an integer`).
    let names_the_record = stderr.lines().any(|line| {
        let rest = line.replace(&input, " ");
        line.contains(&input)
            && mentions_number(&rest, i64::from(poison.partition))
            && mentions_number(&rest, poison.offset)
            && line.contains("quantity")
    });
    assert!(
        names_the_record,
        "no stderr line names {input}, partition {}, offset {} and the reason (quantity); tail:\n{}",
        poison.partition,
        poison.offset,
        run.stderr_tail(30)
    );

    // Outputs and offsets commit together: every partition's outputs are
    // exactly its committed prefix, and that prefix stops before the poison.
    let committed = progress.committed()?;
    scenario.report(&format!("after the failure: {}", progress.describe()));
    for (partition, (now, before)) in committed.iter().zip(&history).enumerate() {
        assert!(now >= before, "committed offset of partition {partition} went back from {before:?} to {now:?}");
    }
    let poison_committed = committed[poison.partition as usize].unwrap_or(0);
    assert!(
        poison_committed <= poison.offset,
        "committed offset {poison_committed} of {input}/{} is past the poison record at offset {}",
        poison.partition,
        poison.offset
    );
    let prefix: BTreeSet<u64> =
        seeded.records.iter().filter(|r| r.offset < committed[r.partition as usize].unwrap_or(0)).map(|r| r.n).collect();
    let outputs = broker.read_topic(&output, Isolation::Committed, prefix.len())?;
    let tally = Tally::count(&prefix, &outputs);
    scenario.report(&format!("failed run, outputs vs committed input prefix: {tally}"));
    tally.assert_exactly_once("outputs of the failed run against the committed input offsets");

    // The failed run left nothing half-done: a run that skips the poison
    // resumes from the committed offsets and completes the rest exactly once.
    let resume_spec = scenario.spec("enrich", &input, &[&output], &group).transactional_id(&txn).args(["--on-error", "skip"]);
    let mut resume = scenario.spawn(&resume_spec, "resume-skip")?;
    progress.wait_all_committed(&mut [&mut resume], ALL_COMMITTED)?;
    resume.terminate(Duration::from_secs(15))?;
    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.valid().len())?;
    let tally = Tally::count(&seeded.valid(), &outputs);
    scenario.report(&format!("after resuming with skip: {tally}"));
    tally.assert_exactly_once("outputs after resuming past the poison record");
    broker.assert_no_hanging_transaction(&[&output], TRANSACTION_TIMEOUT)?;
    Ok(())
}

#[test]
fn skip_policy_writes_every_valid_record_once_and_logs_the_skipped() -> anyhow::Result<()> {
    let scenario = Scenario::new("poison_skip");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let group = scenario.unique("group");
    let count = scenario.scaled(3_000).max(100);
    let plan = RecordPlan::new(KEYS, PARTITIONS).with_poison((0..count).filter(|n| n % 97 == 13));
    let seeded = Seeded::write(broker, &input, &plan, count)?;

    let spec = scenario
        .spec("enrich", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .args(["--on-error", "skip"]);
    let mut run = scenario.spawn(&spec, "skip")?;
    broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], ALL_COMMITTED)?;
    let stderr = run.stderr();
    run.terminate(Duration::from_secs(15))?;

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.valid().len())?;
    let tally = Tally::count(&seeded.valid(), &outputs);
    scenario.report(&format!("{tally} skipped_inputs={}", seeded.poison().len()));
    tally.assert_exactly_once("valid records under --on-error skip (a poison record in the output counts as unexpected)");

    let skip_lines = stderr.lines().filter(|l| l.to_lowercase().contains("skip")).count();
    scenario.report(&format!("stderr lines mentioning skip: {skip_lines}"));
    assert!(
        skip_lines > 0,
        "--on-error skip must log the skipped records; nothing mentions a skip in {}",
        run.stderr_path().display()
    );
    assert!(stderr.contains("quantity"), "the skip log should carry the plugin's reason (\"quantity\")");
    Ok(())
}

#[test]
fn dlq_policy_dead_letters_each_poison_record_once_with_its_source() -> anyhow::Result<()> {
    let scenario = Scenario::new("poison_dlq");
    let broker = scenario.broker();
    let input = scenario.topic("in", PARTITIONS)?;
    let output = scenario.topic("out", PARTITIONS)?;
    let dlq = format!("{input}.dlq");
    scenario.named_topic(&dlq, 1)?;
    let group = scenario.unique("group");
    let count = scenario.scaled(4_000).max(100);
    let plan = RecordPlan::new(KEYS, PARTITIONS).with_poison((0..count).filter(|n| n % 89 == 7));
    let seeded = Seeded::write(broker, &input, &plan, count)?;

    // The default dead-letter topic, and one SIGKILL mid-run: dead letters
    // are written in the transactions, so they are exactly-once too.
    let spec = scenario
        .spec("enrich", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .args(["--on-error", "dlq"])
        .fast_failure_detection();
    let progress = broker.progress(&group, &input)?;
    let mut first = scenario.spawn(&spec, "dlq")?;
    progress.wait_progress(0, &mut [&mut first], FIRST_COMMIT)?;
    let killed = first.kill()?;
    scenario.report(&format!("SIGKILL after the first commit: {}", if killed { "killed" } else { "had already ended" }));
    let mut second = scenario.spawn(&spec, "dlq-restart")?;
    progress.wait_all_committed(&mut [&mut second], Duration::from_secs(120))?;
    second.terminate(Duration::from_secs(15))?;

    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.valid().len())?;
    let letters = broker.read_topic(&dlq, Isolation::Committed, seeded.poison().len())?;
    let output_tally = Tally::count(&seeded.valid(), &outputs).with_kills(usize::from(killed));
    let dlq_tally = Tally::count(&seeded.poison(), &letters).with_kills(usize::from(killed));
    let union: Vec<_> = outputs.iter().chain(&letters).cloned().collect();
    let union_tally = Tally::count(&seeded.all(), &union).with_kills(usize::from(killed));
    scenario.report(&format!("outputs: {output_tally}"));
    scenario.report(&format!("dead letters: {dlq_tally}"));
    scenario.report(&format!("outputs + dead letters: {union_tally}"));
    output_tally.assert_exactly_once("valid records in the output under --on-error dlq");
    dlq_tally.assert_exactly_once("poison records in the dead-letter topic");
    union_tally.assert_exactly_once("outputs and dead letters together against the inputs");

    let problems = dead_letter_problems(&letters, &seeded, "quantity");
    assert!(
        problems.is_empty(),
        "{} dead letters are wrong, first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(10)].join("\n")
    );
    broker.assert_no_hanging_transaction(&[&output, &dlq], TRANSACTION_TIMEOUT)?;
    Ok(())
}

#[test]
fn record_that_keeps_timing_out_is_dead_lettered_as_a_timeout() -> anyhow::Result<()> {
    let scenario = Scenario::new("poison_spin_timeout");
    let broker = scenario.broker();
    let input = scenario.topic("in", 1)?;
    let output = scenario.topic("out", 1)?;
    let dlq = format!("{input}.dlq");
    scenario.named_topic(&dlq, 1)?;
    let group = scenario.unique("group");
    let seeded = Seeded::write(broker, &input, &RecordPlan::new(4, 1), 4)?;

    let spec = scenario.spec("spin", &input, &[&output], &group).transactional_id(&scenario.unique("txn")).args([
        "--plugin-timeout-ms",
        "200",
        "--max-retries",
        "2",
        "--on-error",
        "dlq",
    ]);
    let mut run = scenario.spawn(&spec, "spin")?;
    broker.progress(&group, &input)?.wait_all_committed(&mut [&mut run], Duration::from_secs(120))?;
    run.terminate(Duration::from_secs(15))?;

    let letters = broker.read_topic(&dlq, Isolation::Committed, seeded.len())?;
    let tally = Tally::count(&seeded.all(), &letters);
    scenario.report(&format!("dead letters: {tally}"));
    tally.assert_exactly_once("records that time out on every try, in the dead-letter topic");
    let problems = dead_letter_problems(&letters, &seeded, "timeout");
    assert!(problems.is_empty(), "dead letters are wrong:\n{}", problems.join("\n"));
    let outputs = broker.read_topic(&output, Isolation::Uncommitted, 0)?;
    assert!(outputs.iter().all(|o| o.is_marker()), "spin never returns, yet {} outputs were written", outputs.len());
    Ok(())
}
