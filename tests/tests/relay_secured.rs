//! `eoshost relay` against a secured cluster (the tests' own broker of
//! `scripts/kafka start --security sasl_ssl`, see `eoshost_tests::secured`):
//! over SASL_SSL with SCRAM, its password given as `-X sasl.password=@FILE`,
//! the relay creates its own progress topic (compacted, one partition) and
//! publishes every outbox row exactly once while a writer inserts rows and
//! the relay is SIGKILLed and restarted; the password never appears in its
//! logs.
//!
//! The kills are chosen after each run has committed at least one
//! transaction (read from its `/metrics`), so that every restart is proven
//! to resume — over the secured listener, from the progress it wrote — and
//! not only to start.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use eoshost_tests::faults::{http_get, stop_final_run};
use eoshost_tests::secured::SecuredBroker;
use eoshost_tests::timeouts::FIRST_COMMIT;
use eoshost_tests::{Eoshost, Isolation, Postgres, Scenario, Tally, unique_suffix};

/// Rows the writer inserts in all (times `EOSHOST_TEST_SCALE`).
const ROWS: u64 = 20_000;
/// Rows of one writer transaction.
const ROWS_PER_TRANSACTION: u64 = 20;
/// Pause between the writer's transactions: about 400 rows/s, so that the
/// writing lasts the whole kill phase (about 50 s at scale 1).
const WRITE_PACE: Duration = Duration::from_millis(50);
/// SIGKILLs of the relay.
const KILLS: usize = 4;
const OUTPUT_PARTITIONS: i32 = 3;
/// The SCRAM mechanism the relay authenticates with (the broker offers
/// SCRAM-SHA-256 and -512; the pipeline's test uses 512).
const SCRAM_MECHANISM: &str = "SCRAM-SHA-256";
/// Longest random pause between a run's first commit and its SIGKILL.
const KILL_PAUSE_MAX_MS: u64 = 2_500;
/// The writer's whole run, with room for a slow database.
const WRITING_WITHIN: Duration = Duration::from_secs(240);
/// The final relay publishing what is left once the writer is done.
const DRAIN_WITHIN: Duration = Duration::from_secs(180);
/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(100);

/// The outbox table and the topics of one scenario on the secured cluster.
struct SecuredOutbox {
    table: String,
    output: String,
    /// The relay's default progress topic, `eoshost.relay.<table>`, which
    /// it must create itself.
    progress: String,
}

impl SecuredOutbox {
    /// Creates the table (the relay's documented shape) and the output
    /// topic; not the progress topic.
    fn create(scenario: &Scenario, secured: &SecuredBroker, pg: &Postgres) -> anyhow::Result<SecuredOutbox> {
        let table = format!("outbox_{}", unique_suffix());
        pg.client()?.batch_execute(&format!(
            "CREATE TABLE \"{table}\" (id bigserial primary key, topic text null, key bytea, value bytea, headers jsonb, \
             created_at timestamptz default now())"
        ))?;
        let output = scenario.unique("out");
        secured.plain.create_topic(&output, OUTPUT_PARTITIONS)?;
        let progress = format!("eoshost.relay.{table}");
        Ok(SecuredOutbox { table, output, progress })
    }
}

/// The relay's command line: SASL_SSL with SCRAM, the password read from
/// `password_file`, no `--progress-topic`.
fn relay_args(
    secured: &SecuredBroker,
    pg: &Postgres,
    outbox: &SecuredOutbox,
    password_file: &Path,
    metrics_addr: &str,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "relay",
        "--postgres-url",
        pg.url(),
        "--outbox-table",
        &outbox.table,
        "--output",
        &outbox.output,
        "--bootstrap-servers",
        secured.value("SASL_SSL_BOOTSTRAP"),
        "--batch-rows",
        "500",
        "--metrics-addr",
        metrics_addr,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for property in [
        "security.protocol=SASL_SSL".to_owned(),
        format!("sasl.mechanism={SCRAM_MECHANISM}"),
        format!("sasl.username={}", secured.value("SCRAM_USER")),
        format!("sasl.password=@{}", password_file.display()),
        format!("ssl.ca.location={}", secured.value("CA_PEM")),
    ] {
        args.extend(["-X".to_owned(), property]);
    }
    args
}

/// A loopback address nothing listens on now, for the relay's `/metrics`
/// (the same for every run: a killed run's socket is gone with it).
fn free_local_addr() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.to_string())
}

/// `eoshost_transactions_committed_total` of the relay serving `addr`, if
/// it answers.
fn committed_transactions(addr: &str) -> Option<u64> {
    let (status, body) = http_get(addr, "/metrics")?;
    (status == 200).then_some(())?;
    body.lines()
        .filter_map(|line| line.strip_prefix("eoshost_transactions_committed_total "))
        .find_map(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
}

/// Waits until `run` has committed a transaction (after the TLS and SCRAM
/// handshakes, `init_transactions`, reading its progress back and, on the
/// first run, creating the progress topic); fails when it ends first.
fn wait_first_commit(run: &mut Eoshost, metrics_addr: &str, timeout: Duration) -> anyhow::Result<Duration> {
    let deadline = Instant::now() + timeout;
    loop {
        if committed_transactions(metrics_addr).is_some_and(|committed| committed > 0) {
            return Ok(run.uptime());
        }
        if let Some(exit) = run.try_exit() {
            anyhow::bail!("{} ended on its own ({exit}) before its first commit:\n{}", run.label(), run.stderr_tail(40));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} committed no transaction within {timeout:?}; stderr tail:\n{}",
            run.label(),
            run.stderr_tail(40)
        );
        std::thread::sleep(POLL);
    }
}

/// One thread inserting rows `0..rows`, `ROWS_PER_TRANSACTION` a
/// transaction every `WRITE_PACE`. Its transactions commit one after
/// another, so per-key order is checkable. Stopped when dropped.
struct Writer {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Writer {
    fn start(pg: &Postgres, table: &str, rows: u64) -> anyhow::Result<Writer> {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let mut client = pg.client()?;
        let insert = format!(
            "INSERT INTO \"{table}\" (key, value) SELECT convert_to('k' || (n % 16), 'UTF8'), \
             convert_to('{{\"order_id\":\"o-' || n || '\"}}', 'UTF8') FROM generate_series($1::bigint, $2::bigint) AS n"
        );
        let thread = std::thread::spawn({
            let (stop, written) = (stop.clone(), written.clone());
            move || -> anyhow::Result<()> {
                let mut from = 0;
                while from < rows && !stop.load(Ordering::SeqCst) {
                    let to = (from + ROWS_PER_TRANSACTION).min(rows);
                    client
                        .execute(&insert, &[&(from as i64), &(to as i64 - 1)])
                        .with_context(|| format!("inserting rows {from}..{to}"))?;
                    written.store(to, Ordering::SeqCst);
                    from = to;
                    std::thread::sleep(WRITE_PACE);
                }
                Ok(())
            }
        });
        Ok(Writer { stop, written, thread: Some(thread) })
    }

    /// Rows committed so far.
    fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// Waits for the writer to have written every row.
    fn finish(mut self, timeout: Duration) -> anyhow::Result<u64> {
        let thread = self.thread.take().context("the writer was already joined")?;
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() {
            anyhow::ensure!(Instant::now() < deadline, "the writer did not finish within {timeout:?} ({} rows)", self.written());
            std::thread::sleep(POLL);
        }
        thread.join().map_err(|_| anyhow::anyhow!("the writer panicked"))??;
        Ok(self.written())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Writes a secret file readable by its owner only, as a mounted secret is.
fn write_secret(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(content.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// Every file of `dir` whose name ends with one of `suffixes`.
fn files_ending(dir: &Path, suffixes: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|name| suffixes.iter().any(|s| name.ends_with(s))) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[test]
fn relay_publishes_exactly_once_over_sasl_ssl_scram_with_password_file_creating_its_progress_topic_under_sigkills()
-> anyhow::Result<()> {
    let secured = SecuredBroker::get();
    let scenario = Scenario::new("relay_secured");
    let pg = Postgres::get()?;
    let outbox = SecuredOutbox::create(&scenario, secured, &pg)?;
    anyhow::ensure!(
        secured.plain.partition_count(&outbox.progress).is_err(),
        "the progress topic {} exists before the relay ran",
        outbox.progress
    );

    // The password in a file of the scenario's own, ending with a newline
    // as `echo` writes it; only its path is on the command line.
    let password = secured.secret("SCRAM_PASSWORD_FILE");
    let password_file = scenario.log_dir().join("scram.password");
    write_secret(&password_file, &format!("{password}\n"))?;
    let metrics_addr = free_local_addr()?;
    let args = relay_args(secured, &pg, &outbox, &password_file, &metrics_addr);
    let env = [("EOSHOST_LOG".to_owned(), "debug".to_owned())];

    let rows = scenario.scaled(ROWS);
    let writer = Writer::start(&pg, &outbox.table, rows)?;
    for kill in 1..=KILLS {
        let mut run = scenario.spawn_args_with_env(&args, &env, "relay")?;
        let first_commit = wait_first_commit(&mut run, &metrics_addr, FIRST_COMMIT)?;
        if kill == 1 {
            scenario.report(&format!("first run committed its first transaction {first_commit:?} after start"));
        }
        std::thread::sleep(scenario.random_ms(0, KILL_PAUSE_MAX_MS));
        let committed = committed_transactions(&metrics_addr);
        anyhow::ensure!(run.kill()?, "{} ended on its own before its SIGKILL:\n{}", run.label(), run.stderr_tail(40));
        scenario.report(&format!(
            "SIGKILL {kill}/{KILLS}: {} after {:?}, {committed:?} transactions committed by it; {} of {rows} rows written",
            run.label(),
            run.uptime(),
            writer.written()
        ));
    }

    let mut last = scenario.spawn_args_with_env(&args, &env, "relay-final")?;
    let written = writer.finish(WRITING_WITHIN)?;
    anyhow::ensure!(written == rows, "the writer wrote {written} of {rows} rows");
    let drained = pg.wait_outbox_drained(&outbox.table, &mut last, DRAIN_WITHIN)?;
    let took = stop_final_run(&mut last)?;
    scenario.report(&format!(
        "{written} rows written; the final relay emptied the outbox {drained:?} after the writer ended and stopped on \
         SIGTERM with exit code 0 in {took:?}"
    ));

    let expected: BTreeSet<u64> = (0..rows).collect();
    let records = secured.plain.read_topic(&outbox.output, Isolation::Committed, expected.len())?;
    let tally = Tally::count(&expected, &records).with_kills(KILLS);
    scenario.report(&format!("read_committed over SASL_SSL relay: {tally}"));
    tally.assert_exactly_once("outbox relay over SASL_SSL (SCRAM) under SIGKILL");

    let partitions = secured
        .plain
        .partition_count(&outbox.progress)
        .with_context(|| format!("the relay did not create its progress topic {} (it must, when missing)", outbox.progress))?;
    let config = secured.plain.topic_config(&outbox.progress)?;
    let cleanup = config.get("cleanup.policy").map(String::as_str).unwrap_or("<none>");
    scenario.report(&format!("progress topic {}: {partitions} partition(s), cleanup.policy={cleanup}", outbox.progress));
    assert_eq!(partitions, 1, "the progress topic {} must have one partition", outbox.progress);
    assert_eq!(cleanup, "compact", "the progress topic {} must be compacted", outbox.progress);

    // Every log of every run, and every command line: the password is
    // nowhere, only the file's path.
    let logs = files_ending(scenario.log_dir(), &[".stderr", ".stdout", ".cmdline"])?;
    anyhow::ensure!(logs.len() >= 3 * (KILLS + 1), "expected the logs of {} runs, found {logs:?}", KILLS + 1);
    for log in &logs {
        let text = std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
        assert!(!text.contains(password.as_str()), "the SCRAM password appears in {}", log.display());
    }
    scenario.report(&format!("the password appears in none of the {} log and command-line files", logs.len()));

    secured.plain.delete_topics(&[outbox.output.clone(), outbox.progress.clone()]);
    pg.drop_tables(&[&outbox.table]);
    Ok(())
}
