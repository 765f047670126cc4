//! A commit waits for its outputs' acknowledgements and nothing else: with
//! outputs still queued when a transaction is due, rust-rdkafka's own flush
//! used to poll in 100 ms slices that always ran to their end, so nearly
//! every commit took ≥ 100 ms and the loop waited for each. Here every
//! commit has outputs queued (`linger.ms` far above the commit interval, so
//! only the commit's flush sends them), records flow steadily at a rate the
//! broker takes easily, and eoshost's own `eoshost_transaction_commit_seconds`
//! histogram must show commits of a few round trips.

use std::time::{Duration, Instant};

use eoshost_tests::metrics::{free_local_addr, scrape};
use eoshost_tests::timeouts::{ALL_COMMITTED_SOON, COMMITS_TO_MEASURE};
use eoshost_tests::{Feeder, Isolation, RecordPlan, Scenario, Tally};

/// Commits to measure before judging, after [`WARM_UP`] commits that pay
/// for finding the coordinators and joining the group.
const COMMITS: f64 = 40.0;
const WARM_UP: f64 = 10.0;
/// A bucket bound of the histogram (1 ms × 2ⁿ), well under the old 100 ms
/// slices and well over a flush and three round trips to a local broker.
const FAST: &str = "0.064";
/// Share of commits that must be at or under [`FAST`]. The polling slices
/// put none there (measured: 0 of 40); a quiet machine puts ~97 % there, one
/// loaded with several builds and test runs besides the broker 33–80 %.
const FAST_SHARE: f64 = 0.5;

/// The cumulative count of `le` in `eoshost_transaction_commit_seconds`,
/// and the total.
fn commit_buckets(text: &str, le: &str) -> Option<(f64, f64)> {
    let sample = |prefix: &str| {
        text.lines().find(|line| line.starts_with(prefix)).and_then(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
    };
    let fast = sample(&format!("eoshost_transaction_commit_seconds_bucket{{le=\"{le}\"}}"))?;
    let total = sample("eoshost_transaction_commit_seconds_count")?;
    Some((fast, total))
}

#[test]
fn commits_with_outputs_in_flight_take_milliseconds_not_a_100_ms_poll() -> anyhow::Result<()> {
    let scenario = Scenario::new("commit_latency");
    let broker = scenario.broker();
    let partitions = 3;
    let input = scenario.topic("in", partitions)?;
    let output = scenario.topic("out", partitions)?;
    let group = scenario.unique("group");
    let feeder = Feeder::start(broker, &input, RecordPlan::new(48, partitions), 2_000, 2_000)?;

    let addr = free_local_addr()?;
    let spec = scenario
        .spec("identity", &input, &[&output], &group)
        .transactional_id(&scenario.unique("txn"))
        .librdkafka("linger.ms=1000")
        .args(["--metrics-addr", addr.as_str()]);
    let mut eoshost = scenario.spawn(&spec, "eoshost")?;

    let started = Instant::now();
    let mut wait_for = |commits: f64| -> anyhow::Result<(f64, f64)> {
        loop {
            if let Some(exit) = eoshost.try_exit() {
                anyhow::bail!("eoshost ended early ({exit}); stderr tail:\n{}", eoshost.stderr_tail(30));
            }
            if let Some((fast, total)) = scrape(&addr).and_then(|text| commit_buckets(&text, FAST))
                && total >= commits
            {
                return Ok((fast, total));
            }
            anyhow::ensure!(started.elapsed() < COMMITS_TO_MEASURE, "fewer than {commits} commits within {COMMITS_TO_MEASURE:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let (fast_before, total_before) = wait_for(WARM_UP)?;
    let (fast_after, total_after) = wait_for(total_before + COMMITS)?;
    let (fast, total) = (fast_after - fast_before, total_after - total_before);
    let share = fast / total;
    scenario.report(&format!("commit_latency commits={total} at_or_under_{FAST}s={fast} share={share:.2}"));

    let seeded = feeder.finish()?;
    let progress = broker.progress(&group, &input)?;
    progress.wait_all_committed(&mut [&mut eoshost], ALL_COMMITTED_SOON)?;
    eoshost.terminate(Duration::from_secs(10))?;
    let outputs = broker.read_topic(&output, Isolation::Committed, seeded.len())?;
    Tally::count(&seeded.all(), &outputs).assert_exactly_once("steady flow while commit times are measured");

    assert!(
        share >= FAST_SHARE,
        "only {fast} of {total} commits took {FAST} s or less (want ≥ {:.0} %): the commit waits on a polling slice again",
        FAST_SHARE * 100.0
    );
    Ok(())
}
