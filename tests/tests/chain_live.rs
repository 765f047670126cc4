//! A chain in the live pipeline: `--plugin enrich.wasm --plugin router.wasm`
//! against the real broker, killed once with SIGKILL mid-run and restarted.
//! Every valid order must come out exactly once on each of the three
//! topics router writes (its topic choice wins), every order enrich rejects
//! must be dead-lettered once (a rejection anywhere in the chain is the
//! source record's), and what the live chain wrote must be byte-identical
//! to what `eoshost test` with the same chain writes offline.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use eoshost_tests::timeouts::FIRST_BATCH;
use eoshost_tests::{Isolation, RecordPlan, Scenario, Seeded, TRANSACTION_TIMEOUT, Tally, eoshost_binary, plugin_path};

/// (topic role, order number) → (key, value, headers as text), of one output.
type Written = BTreeMap<(String, u64), (Option<String>, Option<String>, BTreeMap<String, String>)>;

#[test]
fn enrich_then_router_is_exactly_once_live_and_byte_identical_to_eoshost_test() -> anyhow::Result<()> {
    let scenario = Scenario::new("chain_live");
    let broker = scenario.broker();
    let partitions = 3;
    let count = scenario.scaled(3_000);
    let plan = RecordPlan::new(30, partitions).with_poison([5, count / 2, count - 2]);
    let input = scenario.topic("in", partitions)?;
    let orders = scenario.topic("orders", partitions)?;
    let inventory = scenario.topic("inventory", partitions)?;
    let notifications = scenario.topic("notifications", partitions)?;
    let dlq = scenario.topic("dlq", 1)?;
    let mut seeded = Seeded::write(broker, &input, &plan, count / 2)?;

    let group = scenario.unique("group");
    let router_config = [format!("router:inventory_topic={inventory}"), format!("router:notifications_topic={notifications}")];
    let spec = scenario
        .spec("enrich", &input, &[&orders, &inventory, &notifications], &group)
        .args(["--plugin".to_owned(), plugin_path("router").display().to_string()])
        .args(router_config.iter().flat_map(|pair| ["--plugin-config".to_owned(), pair.clone()]))
        .args(["--on-error", "dlq", "--dlq-topic", &dlq])
        .fast_failure_detection();
    let mut run = scenario.spawn(&spec, "chain")?;
    let progress = broker.progress(&group, &input)?;
    progress.wait_progress(0, &mut [&mut run], FIRST_BATCH)?;
    seeded.extend(broker, &plan, count - count / 2)?;
    run.kill()?;
    scenario.report("SIGKILL the chain mid-run");
    let mut run = scenario.spawn(&spec, "chain-restarted")?;
    progress.wait_all_committed(&mut [&mut run], Duration::from_secs(120))?;
    run.terminate(Duration::from_secs(15))?;

    let mut live = Written::new();
    for (role, topic) in [("orders", &orders), ("inventory", &inventory), ("notifications", &notifications)] {
        let records = broker.read_topic(topic, Isolation::Committed, seeded.valid().len())?;
        let tally = Tally::count(&seeded.valid(), &records);
        scenario.report(&format!("{role}: {tally}"));
        tally.assert_exactly_once(&format!("valid orders on {role}"));
        for record in records.iter().filter(|r| !r.is_marker()) {
            let headers = record
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned()))
                .collect();
            let number = record.number().expect("every output carries its order number");
            live.insert((role.to_owned(), number), (record.key_text(), record.value_text(), headers));
        }
    }
    let letters = broker.read_topic(&dlq, Isolation::Committed, seeded.poison().len())?;
    let tally = Tally::count(&seeded.poison(), &letters);
    scenario.report(&format!("dead letters: {tally}"));
    tally.assert_exactly_once("orders enrich rejects, dead-lettered");
    assert!(
        letters.iter().filter(|r| !r.is_marker()).all(|r| r.header("eoshost.plugin").as_deref() == Some("enrich,router")),
        "dead letters name the chain"
    );
    broker.assert_no_hanging_transaction(&[&orders, &inventory, &notifications, &dlq], TRANSACTION_TIMEOUT)?;

    // The same records through `eoshost test` with the same chain.
    let mut lines = String::new();
    for record in &seeded.records {
        let line = serde_json::json!({
            "topic": input, "partition": record.partition, "offset": record.offset, "key": record.key, "value": record.value,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let mut child = Command::new(eoshost_binary())
        .args(["test", "--plugin", &plugin_path("enrich").display().to_string()])
        .args(["--plugin", &plugin_path("router").display().to_string()])
        .args(router_config.iter().flat_map(|pair| ["--plugin-config".to_owned(), pair.clone()]))
        .args(["--output", &format!("{orders},{inventory},{notifications}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    // Written from a thread: the outputs fill stdout's pipe meanwhile.
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(lines.as_bytes()));
    let out = child.wait_with_output()?;
    writer.join().map_err(|_| anyhow::anyhow!("the stdin writer panicked"))??;
    anyhow::ensure!(out.status.success(), "eoshost test failed: {}", out.status);
    let mut offline = Written::new();
    let mut rejected = 0;
    for line in String::from_utf8(out.stdout)?.lines() {
        let json: serde_json::Value = serde_json::from_str(line)?;
        if json.get("error").is_some() {
            rejected += 1;
            continue;
        }
        let topic = json["topic"].as_str().unwrap_or_default();
        let role = [("orders", &orders), ("inventory", &inventory), ("notifications", &notifications)]
            .iter()
            .find(|(_, t)| t.as_str() == topic)
            .map(|(role, _)| role.to_string())
            .unwrap_or_else(|| panic!("offline output to an unexpected topic {topic}"));
        let value = json["value"].as_str().map(str::to_owned);
        let number = eoshost_tests::record_number(value.as_deref().unwrap_or_default().as_bytes()).expect("an order number");
        let headers = json["headers"]
            .as_object()
            .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
            .unwrap_or_default();
        offline.insert((role, number), (json["key"].as_str().map(str::to_owned), value, headers));
    }
    assert_eq!(rejected, seeded.poison().len(), "offline rejections");
    let differing: Vec<&(String, u64)> =
        live.keys().chain(offline.keys()).filter(|k| live.get(*k) != offline.get(*k)).take(10).collect();
    scenario.report(&format!("live and offline: {} and {} outputs, {} differing", live.len(), offline.len(), differing.len()));
    assert!(differing.is_empty(), "live and offline chains differ, e.g. at {differing:?}");
    Ok(())
}
