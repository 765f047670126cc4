//! What the fault-injection scenarios (`tests/faults_*.rs`, run by
//! `scripts/faults`) share: quick or full mode, the one summary line each
//! scenario prints and the verdict behind it, freezing a process (a zombie),
//! and an instance's health and trap counts from its `--metrics-addr`.
//!
//! The verdict counts the way Kafka's system tests do: read the output and
//! the dead-letter topic with `read_committed`, require every input exactly
//! once in their union, per-key order in each, every record on the side it
//! belongs to, and nothing that is no input.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::TRANSACTION_TIMEOUT;
use crate::broker::{Broker, GroupProgress};
use crate::process::{Eoshost, Exit};
use crate::scenario::Scenario;
use crate::timeouts::ERROR_PATIENCE;
use crate::verify::{OutputRecord, Tally};

/// `EOSHOST_FAULTS_FULL=1`: the long version (≥ 200,000 records, more
/// bounces); otherwise the quick subset that fits CI.
pub fn full_mode() -> bool {
    std::env::var("EOSHOST_FAULTS_FULL").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `quick` in CI, `full` under `EOSHOST_FAULTS_FULL=1`.
pub fn by_mode<T>(quick: T, full: T) -> T {
    if full_mode() { full } else { quick }
}

pub fn mode_name() -> &'static str {
    by_mode("quick", "full")
}

/// The outcome of one scenario: counts over outputs and dead letters, the
/// faults injected, and every problem seen on the way (an instance that
/// died on its own, a SIGTERM that did not end in exit 0, …). Printed as
/// one `SUMMARY` line by [`FaultReport::finish`], which then fails the test
/// unless everything is right.
pub struct FaultReport {
    scenario: String,
    /// Outputs and dead letters together against every input.
    union: Tally,
    outputs: usize,
    dead_letters: usize,
    /// Outputs of inputs that belong in the dead-letter topic, and dead
    /// letters of inputs that belong in the output.
    misrouted: usize,
    side_samples: Vec<String>,
    kills: usize,
    notes: Vec<String>,
    problems: Vec<String>,
}

impl FaultReport {
    /// Counts `outputs` and `dead_letters` (markers ignored) against
    /// `inputs`, of which `dead` belong in the dead-letter topic and the rest
    /// in the output.
    pub fn count(
        scenario: &str,
        inputs: &BTreeSet<u64>,
        dead: &BTreeSet<u64>,
        outputs: &[OutputRecord],
        dead_letters: &[OutputRecord],
    ) -> FaultReport {
        let live: BTreeSet<u64> = inputs.difference(dead).copied().collect();
        let union: Vec<OutputRecord> = outputs.iter().chain(dead_letters).cloned().collect();
        let mut misrouted = 0;
        let mut side_samples = Vec::new();
        let mut wrong_side = |record: &OutputRecord, belongs: &str| {
            misrouted += 1;
            if side_samples.len() < 10 {
                side_samples.push(format!(
                    "{}/{}@{} (input {:?}) belongs in the {belongs}",
                    record.topic,
                    record.partition,
                    record.offset,
                    record.number()
                ));
            }
        };
        for record in outputs.iter().filter(|r| !r.is_marker()) {
            if record.number().is_some_and(|n| dead.contains(&n)) {
                wrong_side(record, "dead-letter topic");
            }
        }
        for record in dead_letters.iter().filter(|r| !r.is_marker()) {
            if record.number().is_some_and(|n| live.contains(&n)) {
                wrong_side(record, "output");
            }
        }
        FaultReport {
            scenario: scenario.to_owned(),
            union: Tally::count(inputs, &union),
            outputs: outputs.iter().filter(|r| !r.is_marker()).count(),
            dead_letters: dead_letters.iter().filter(|r| !r.is_marker()).count(),
            misrouted,
            side_samples,
            kills: 0,
            notes: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Faults injected (SIGKILLs, broker kills, SIGSTOPs: what the scenario
    /// is about).
    pub fn kills(mut self, kills: usize) -> FaultReport {
        self.kills = kills;
        self
    }

    /// An extra `name=value` on the summary line.
    pub fn note(&mut self, name: &str, value: impl std::fmt::Display) {
        self.notes.push(format!("{name}={value}"));
    }

    /// Something that makes the scenario fail besides the counts.
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// A transactional marker committed to `topics` now must be visible to
    /// `read_committed` within [`TRANSACTION_TIMEOUT`] (nothing left open):
    /// notes `marker_ms`, or the problem.
    pub fn check_no_hanging_transaction(&mut self, broker: &Broker, topics: &[&str]) {
        match broker.assert_no_hanging_transaction(topics, TRANSACTION_TIMEOUT) {
            Ok(visible) => self.note("marker_ms", visible.as_millis()),
            Err(error) => self.problem(format!("{error:#}")),
        }
    }

    /// Several problems at once.
    pub fn problems(&mut self, problems: impl IntoIterator<Item = String>) {
        self.problems.extend(problems);
    }

    pub fn is_right(&self) -> bool {
        self.union.is_exactly_once() && self.misrouted == 0 && self.problems.is_empty()
    }

    /// The summary line (`SUMMARY <scenario> mode=… records=… … result=…`).
    pub fn line(&self) -> String {
        let tally = &self.union;
        let mut line = format!(
            "SUMMARY {} mode={} records={} outputs={} dead_letters={} duplicates={} lost={} order_violations={} \
             kills={} misrouted={} unexpected={}",
            self.scenario,
            mode_name(),
            tally.records,
            self.outputs,
            self.dead_letters,
            tally.duplicates,
            tally.lost,
            tally.order_violations,
            self.kills,
            self.misrouted,
            tally.unexpected,
        );
        for note in &self.notes {
            line.push(' ');
            line.push_str(note);
        }
        line.push_str(&format!(" problems={} result={}", self.problems.len(), if self.is_right() { "PASS" } else { "FAIL" }));
        line
    }

    /// Prints the summary line and fails the test, with samples and every
    /// problem, unless all is right.
    pub fn finish(self, scenario: &Scenario) {
        scenario.report(&self.line());
        if self.is_right() {
            return;
        }
        let mut details = vec![self.union.samples()];
        details.extend(self.side_samples.iter().map(|s| format!("  misrouted: {s}")));
        details.extend(self.problems.iter().map(|p| format!("  problem: {p}")));
        let details = details.into_iter().filter(|d| !d.is_empty()).collect::<Vec<_>>().join("\n");
        scenario.report(&details);
        panic!("{}: not exactly once, or a fault was handled wrongly\n{}\n{details}", self.scenario, self.line());
    }
}

/// SIGTERM and the clean shutdown DESIGN §1.1 promises: exit code 0 within
/// `timeout`. Anything else is returned as a problem (with the stderr tail).
pub fn stop_cleanly(run: &mut Eoshost, timeout: Duration) -> Result<Duration, String> {
    match run.terminate(timeout) {
        Ok(Some((Exit::Code(0), took))) => Ok(took),
        Ok(Some((exit, took))) => Err(format!(
            "{} ended with {exit} {took:?} after SIGTERM, not exit code 0; stderr tail:\n{}",
            run.label(),
            plain_tail(run, 20)
        )),
        Ok(None) => Err(format!(
            "{} did not stop within {timeout:?} of SIGTERM (SIGKILLed); stderr tail:\n{}",
            run.label(),
            plain_tail(run, 20)
        )),
        Err(error) => Err(format!("{error:#}")),
    }
}

/// SIGKILL mid-work: after a random pause of up to 1.5 s, kills `run`,
/// failing when it had already ended on its own; reports the kill with
/// `done_before` (the progress it had made).
pub fn kill_mid_work(scenario: &Scenario, run: &mut Eoshost, done_before: &str) -> anyhow::Result<()> {
    std::thread::sleep(scenario.random_ms(0, 1_500));
    anyhow::ensure!(run.kill()?, "{} ended on its own before its SIGKILL:\n{}", run.label(), run.stderr_tail(40));
    scenario.report(&format!("SIGKILL {} mid-work, {:?} after start; {done_before}", run.label(), run.uptime()));
    Ok(())
}

/// The final run of a kill test: SIGTERM, and exit code 0 within 15 s, or
/// the problem ([`stop_cleanly`]).
pub fn stop_final_run(run: &mut Eoshost) -> anyhow::Result<Duration> {
    stop_cleanly(run, Duration::from_secs(15)).map_err(|problem| anyhow::anyhow!("the final run did not stop cleanly: {problem}"))
}

/// The last `lines` lines of an instance's stderr without terminal colours,
/// for problem reports.
pub fn plain_tail(run: &Eoshost, lines: usize) -> String {
    plain(&run.stderr_tail(lines))
}

/// `text` without terminal colours (CSI sequences), so that log lines can
/// be matched as written.
pub fn plain(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            // CSI: parameters up to a final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The problem of an instance that ended while it should be working, if it
/// has.
pub fn ended_on_its_own(run: &mut Eoshost) -> Option<String> {
    let exit = run.try_exit()?;
    Some(format!("{} ended on its own ({exit}); stderr tail:\n{}", run.label(), plain_tail(run, 20)))
}

/// Stops the wait when an instance ended: it should be working.
fn check_running(runs: &mut [&mut Eoshost]) -> anyhow::Result<()> {
    for run in runs.iter_mut() {
        if let Some(problem) = ended_on_its_own(run) {
            anyhow::bail!("{problem}");
        }
    }
    Ok(())
}

/// Reads `what`, retrying errors for [`ERROR_PATIENCE`] in a row.
fn patiently<T>(errors_since: &mut Option<Instant>, what: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<Option<T>> {
    match what() {
        Ok(value) => {
            *errors_since = None;
            Ok(Some(value))
        }
        Err(error) if errors_since.get_or_insert_with(Instant::now).elapsed() > ERROR_PATIENCE => {
            Err(error.context(format!("failing for more than {ERROR_PATIENCE:?}")))
        }
        Err(_) => Ok(None),
    }
}

/// Waits until `group` has committed more than `beyond` in all (see
/// [`GroupProgress::committed_total`]); fails when one of `runs` ends or
/// after `timeout`. Unlike [`GroupProgress::wait_progress`] it rides out
/// errors while the cluster moves a coordinator. Returns the new total.
pub fn wait_committed_beyond(
    progress: &GroupProgress<'_>,
    beyond: i64,
    runs: &mut [&mut Eoshost],
    timeout: Duration,
) -> anyhow::Result<i64> {
    let deadline = Instant::now() + timeout;
    let mut errors_since = None;
    loop {
        if let Some(total) = patiently(&mut errors_since, || progress.committed_total())?
            && total > beyond
        {
            return Ok(total);
        }
        check_running(runs)?;
        if Instant::now() > deadline {
            anyhow::bail!("no committed progress beyond {beyond} within {timeout:?}: {}", progress.describe());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the group is in steady state: the committed offset of every
/// partition has advanced `rounds` times in a row (each round: every
/// partition beyond where it stood at the round's start), so every member
/// holds its partitions and commits — no rebalance or join still under way.
/// Input must keep flowing into every partition meanwhile. Fails when one
/// of `runs` ends or after `timeout`.
pub fn wait_every_partition_committing(
    progress: &GroupProgress<'_>,
    rounds: usize,
    runs: &mut [&mut Eoshost],
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut errors_since = None;
    let mut start: Option<Vec<Option<i64>>> = None;
    let mut done = 0;
    while done < rounds {
        if let Some(now) = patiently(&mut errors_since, || progress.committed())? {
            match &start {
                Some(start) if now.iter().zip(start).all(|(now, start)| now.is_some() && now > start) => {
                    done += 1;
                    // The next round starts here.
                }
                Some(_) => {
                    check_running(runs)?;
                    if Instant::now() > deadline {
                        anyhow::bail!(
                            "not every partition committed {rounds} times in a row within {timeout:?}: {}",
                            progress.describe()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                None => {}
            }
            start = Some(now);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// The committed total, riding out errors while the cluster moves a
/// coordinator.
pub fn committed_total_patiently(progress: &GroupProgress<'_>) -> anyhow::Result<i64> {
    let mut errors_since = None;
    loop {
        if let Some(total) = patiently(&mut errors_since, || progress.committed_total())? {
            return Ok(total);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until `group` has committed every partition of `topic` to its end
/// (fails early when one of `runs` ends, and rides out errors while the
/// cluster moves a coordinator or leader). Unlike
/// [`GroupProgress::wait_all_committed`] it gives up as soon as nothing was
/// committed for `stall` — a livelock shows as such, in seconds — and
/// returns the reason as a problem instead of failing, so the scenario can
/// still count and print its summary.
pub fn wait_all_committed_or_stall(
    broker: &Broker,
    progress: &GroupProgress<'_>,
    topic: &str,
    runs: &mut [&mut Eoshost],
    stall: Duration,
    overall: Duration,
) -> anyhow::Result<Option<String>> {
    let started = Instant::now();
    let (mut last_total, mut last_change) = (None, Instant::now());
    let mut errors_since = None;
    loop {
        let read = patiently(&mut errors_since, || Ok((broker.end_offsets(topic)?, progress.committed()?)))?;
        if let Some((end, committed)) = read {
            if end.iter().zip(&committed).all(|(&end, committed)| end == 0 || committed.is_some_and(|c| c >= end)) {
                return Ok(None);
            }
            let total: i64 = committed.iter().map(|c| c.unwrap_or(0)).sum();
            if last_total != Some(total) {
                (last_total, last_change) = (Some(total), Instant::now());
            }
        }
        check_running(runs)?;
        if last_change.elapsed() > stall {
            return Ok(Some(format!("stalled: nothing committed for {stall:?}: {}", progress.describe())));
        }
        if started.elapsed() > overall {
            return Ok(Some(format!("not all committed within {overall:?}: {}", progress.describe())));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every thread's backtrace of a running instance, written with gdb (when
/// installed) to `<log_dir>/<label>.stacks`: where a stalled instance
/// waits. Returns the file written.
pub fn dump_stacks(run: &mut Eoshost, log_dir: &Path) -> Option<PathBuf> {
    run.try_exit().is_none().then_some(())?;
    let output = std::process::Command::new("gdb")
        .args(["-batch", "-p", &run.pid().to_string(), "-ex", "thread apply all bt"])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let path = log_dir.join(format!("{}.stacks", run.label()));
    std::fs::write(&path, [output.stdout, output.stderr].concat()).ok()?;
    Some(path)
}

/// Sends `signal` to a running instance. Refused when it has already ended
/// (its pid may then belong to another process).
pub fn send_signal(run: &mut Eoshost, signal: i32) -> anyhow::Result<()> {
    if let Some(exit) = run.try_exit() {
        anyhow::bail!("{} has already ended ({exit}); not signalling it", run.label());
    }
    // SAFETY: kill(2) on our own child, not reaped yet (try_exit just said
    // so), so the pid is still its own.
    if unsafe { libc::kill(run.pid(), signal) } != 0 {
        anyhow::bail!("kill({}, {signal}) on {}: {}", run.pid(), run.label(), std::io::Error::last_os_error());
    }
    Ok(())
}

/// SIGSTOP: the process freezes, heartbeats and all — a zombie in the
/// making, as a long GC pause or a stalled VM would make one.
pub fn freeze(run: &mut Eoshost) -> anyhow::Result<()> {
    send_signal(run, libc::SIGSTOP)
}

/// SIGCONT after [`freeze`].
pub fn thaw(run: &mut Eoshost) -> anyhow::Result<()> {
    send_signal(run, libc::SIGCONT)
}

/// `GET path` at `addr` over HTTP/1.0: the status code and the body, or
/// `None` when nothing answers.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// `eoshost_plugin_traps_total` by `kind` label, from Prometheus text.
pub fn traps_by_kind(text: &str) -> BTreeMap<String, f64> {
    samples_by_label(text, "eoshost_plugin_traps_total", "kind")
}

/// Every sample of `name` by the value of its label `label`.
pub fn samples_by_label(text: &str, name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut found = BTreeMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Some((metric, labels)) = series.split_once('{') else { continue };
        if metric != name {
            continue;
        }
        let wanted = format!("{label}=\"");
        let Some(start) = labels.find(&wanted).map(|at| at + wanted.len()) else { continue };
        let Some(end) = labels[start..].find('"') else { continue };
        if let Ok(value) = value.parse::<f64>() {
            *found.entry(labels[start..start + end].to_owned()).or_insert(0.0) += value;
        }
    }
    found
}

/// `kind=count,…` for a summary line.
pub fn describe_counts(counts: &BTreeMap<String, f64>) -> String {
    let parts: Vec<String> = counts.iter().map(|(kind, count)| format!("{kind}:{count}")).collect();
    if parts.is_empty() { "none".to_owned() } else { parts.join(",") }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::verify::numbered_record as record;

    #[test]
    fn a_record_on_the_wrong_side_fails_even_when_the_union_is_complete() {
        let inputs: BTreeSet<u64> = (0..4).collect();
        let dead: BTreeSet<u64> = [2].into();
        let outputs = [record("out", 0, 0, "a", 0), record("out", 0, 1, "a", 1), record("out", 0, 2, "a", 2)];
        let letters = [record("dlq", 0, 0, "b", 3)];
        let report = FaultReport::count("t", &inputs, &dead, &outputs, &letters).kills(2);
        assert!(report.line().contains("records=4 outputs=3 dead_letters=1 duplicates=0 lost=0"), "{}", report.line());
        assert!(report.line().contains("kills=2 misrouted=2"), "{}", report.line());
        assert!(!report.is_right());
    }

    #[test]
    fn colours_are_stripped_from_log_text() {
        let coloured = "\u{1b}[2m2026\u{1b}[0m \u{1b}[34mDEBUG\u{1b}[0m \u{1b}[2meoshost::kafka::transaction\u{1b}[0m\u{1b}[2m:\u{1b}[0m committed";
        assert_eq!(plain(coloured), "2026 DEBUG eoshost::kafka::transaction: committed");
    }

    #[test]
    fn trap_counts_are_split_by_kind() {
        let text = "# HELP x\n\
                    eoshost_plugin_traps_total{kind=\"panic\"} 3\n\
                    eoshost_plugin_traps_total{kind=\"timeout\"} 1\n\
                    eoshost_records_consumed_total 9\n";
        let counts = traps_by_kind(text);
        assert_eq!(counts.get("panic"), Some(&3.0));
        assert_eq!(counts.get("timeout"), Some(&1.0));
        assert_eq!(describe_counts(&counts), "panic:3,timeout:1");
    }
}
