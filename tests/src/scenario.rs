//! One test's world: the lock that keeps the tests of a binary from running
//! at once (they spawn processes against one broker), a fresh log folder
//! `target/test-logs/<test>/`, uniquely named topics deleted at the end, a
//! seeded random source for kill times, and the record-count scale.

use std::cell::{Cell, RefCell};
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::broker::Broker;
use anyhow::Context as _;

use crate::process::{Eoshost, EoshostSpec, Exit, workspace_root};

static SERIAL: Mutex<()> = Mutex::new(());

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(raw) => raw.trim().parse().unwrap_or_else(|_| panic!("{name}={raw:?} is not a number")),
        Err(_) => default,
    }
}

/// A suffix no other name of this or an earlier run has: nanoseconds, the
/// pid and a counter, mixed.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let mut mix = SplitMix(nanos ^ (u64::from(std::process::id()) << 32) ^ COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:08x}", mix.next() as u32)
}

/// SplitMix64: small, seedable, good enough for kill times.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The context of one test; see the module comment.
pub struct Scenario {
    name: String,
    log_dir: PathBuf,
    topics: RefCell<Vec<String>>,
    random: RefCell<SplitMix>,
    spawned: Cell<usize>,
    scale: f64,
    _serial: MutexGuard<'static, ()>,
}

impl Scenario {
    /// Waits for the other tests of this binary to finish, then prepares
    /// `target/test-logs/<name>/` (emptied).
    pub fn new(name: &str) -> Scenario {
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let log_dir = workspace_root().join("target/test-logs").join(name);
        let _ = std::fs::remove_dir_all(&log_dir);
        std::fs::create_dir_all(&log_dir).unwrap_or_else(|e| panic!("creating {}: {e}", log_dir.display()));
        let seed = match std::env::var("EOSHOST_TEST_SEED") {
            Ok(raw) => raw.trim().parse().unwrap_or_else(|_| panic!("EOSHOST_TEST_SEED={raw:?} is not a u64")),
            Err(_) => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1),
        };
        let scale = env_number("EOSHOST_TEST_SCALE", 1.0);
        assert!(scale > 0.0, "EOSHOST_TEST_SCALE must be positive");
        let scenario = Scenario {
            name: name.to_owned(),
            log_dir,
            topics: RefCell::new(Vec::new()),
            random: RefCell::new(SplitMix(seed)),
            spawned: Cell::new(0),
            scale,
            _serial: serial,
        };
        scenario.report(&format!("EOSHOST_TEST_SEED={seed} EOSHOST_TEST_SCALE={scale} logs in {}", scenario.log_dir.display()));
        scenario
    }

    pub fn broker(&self) -> &'static Broker {
        Broker::get()
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// `eos-<test>-<role>-<random>`: unique, never created here.
    pub fn unique(&self, role: &str) -> String {
        format!("eos-{}-{role}-{}", self.name.replace('_', "-"), unique_suffix())
    }

    /// Creates a unique topic for `role`, deleted when the scenario ends.
    pub fn topic(&self, role: &str, partitions: i32) -> anyhow::Result<String> {
        let name = self.unique(role);
        self.named_topic(&name, partitions)?;
        Ok(name)
    }

    /// Creates a unique compacted topic for `role` (a `--table`'s topic),
    /// deleted when the scenario ends.
    pub fn compacted_topic(&self, role: &str, partitions: i32) -> anyhow::Result<String> {
        let name = self.unique(role);
        self.broker().create_topic_with(&name, partitions, &[("cleanup.policy", "compact")])?;
        self.topics.borrow_mut().push(name.clone());
        Ok(name)
    }

    /// A unique name for a topic that eoshost creates itself (a changelog,
    /// the relay's progress topic), deleted when the scenario ends.
    pub fn topic_created_by_eoshost(&self, role: &str) -> String {
        let name = self.unique(role);
        self.topics.borrow_mut().push(name.clone());
        name
    }

    /// Creates the topic `name` (e.g. the default dead-letter topic
    /// `<input>.dlq`), deleted when the scenario ends.
    pub fn named_topic(&self, name: &str, partitions: i32) -> anyhow::Result<()> {
        self.broker().create_topic(name, partitions)?;
        self.topics.borrow_mut().push(name.to_owned());
        Ok(())
    }

    /// Deletes the topic `name` (created by someone else, e.g. the state
    /// topic eoshost creates) when the scenario ends.
    pub fn delete_at_end(&self, name: &str) {
        self.topics.borrow_mut().push(name.to_owned());
    }

    /// A spec for `plugin` against this broker.
    pub fn spec(&self, plugin: &str, input: &str, outputs: &[&str], group: &str) -> EoshostSpec {
        EoshostSpec::new(plugin, input, outputs, group, self.broker().bootstrap())
    }

    /// Starts an instance; its logs are `<log dir>/<nn>-<label>.stderr`.
    pub fn spawn(&self, spec: &EoshostSpec, label: &str) -> anyhow::Result<Eoshost> {
        let index = self.spawned.get() + 1;
        self.spawned.set(index);
        let label = format!("{index:02}-{label}");
        let run = Eoshost::spawn(spec, &self.log_dir, &label)?;
        self.report(&format!("started {label} (pid {})", run.pid()));
        Ok(run)
    }

    /// Starts an instance that is expected to end on its own (a start-up
    /// error) and waits for its end: its exit, its stderr and how long it
    /// ran. Still running after `within` is an error with its stderr tail.
    pub fn run_to_exit(&self, spec: &EoshostSpec, label: &str, within: Duration) -> anyhow::Result<(Exit, String, Duration)> {
        let mut run = self.spawn(spec, label)?;
        let exit = run
            .wait_exit(within)
            .with_context(|| format!("{label}: still running after {within:?}; stderr tail:\n{}", run.stderr_tail(20)))?;
        let stderr = run.stderr();
        self.report(&format!("{label}: {exit} after {:?}; last line: {}", run.uptime(), stderr.lines().last().unwrap_or("")));
        Ok((exit, stderr, run.uptime()))
    }

    /// Starts eoshost with a raw command line (e.g. `relay …`), logged as
    /// [`Scenario::spawn`] does.
    pub fn spawn_args(&self, args: &[String], label: &str) -> anyhow::Result<Eoshost> {
        let index = self.spawned.get() + 1;
        self.spawned.set(index);
        let label = format!("{index:02}-{label}");
        let run = Eoshost::spawn_args(args, &self.log_dir, &label)?;
        self.report(&format!("started {label} (pid {})", run.pid()));
        Ok(run)
    }

    /// [`Scenario::spawn_args`] with environment variables of the child
    /// (e.g. `EOSHOST_LOG=debug`).
    pub fn spawn_args_with_env(&self, args: &[String], env: &[(String, String)], label: &str) -> anyhow::Result<Eoshost> {
        let index = self.spawned.get() + 1;
        self.spawned.set(index);
        let label = format!("{index:02}-{label}");
        let run = Eoshost::spawn_args_with_env(args, env, &self.log_dir, &label)?;
        self.report(&format!("started {label} (pid {})", run.pid()));
        Ok(run)
    }

    /// `count` times `EOSHOST_TEST_SCALE`, at least 1.
    pub fn scaled(&self, count: u64) -> u64 {
        ((count as f64 * self.scale).round() as u64).max(1)
    }

    /// A random duration in `[low_ms, high_ms)`.
    pub fn random_ms(&self, low_ms: u64, high_ms: u64) -> Duration {
        let span = high_ms.saturating_sub(low_ms).max(1);
        Duration::from_millis(low_ms + self.random.borrow_mut().next() % span)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&self, percent: u64) -> bool {
        self.random.borrow_mut().next() % 100 < percent
    }

    /// Prints a line (shown by `cargo test` for failed tests, or always with
    /// `--nocapture`) and appends it to `<log dir>/summary.log`.
    pub fn report(&self, line: &str) {
        println!("[{}] {line}", self.name);
        if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(self.log_dir.join("summary.log")) {
            let _ = writeln!(file, "{line}");
        }
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let topics = self.topics.take();
        if !topics.is_empty() {
            self.broker().delete_topics(&topics);
        }
        if std::thread::panicking() {
            println!("[{}] FAILED: logs in {}", self.name, self.log_dir.display());
        }
    }
}
