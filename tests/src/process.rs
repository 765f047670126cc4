//! `eoshost` as a child process: its command line, its logs under
//! `target/test-logs/<test>/`, and the ways it ends — SIGKILL (a crash),
//! SIGTERM (a clean shutdown) or on its own, with an exit code.

use std::fmt;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The binary: `EOSHOST_BIN`, else the one cargo built in the profile of
/// these tests (`target/release/eoshost` under `--release`, else
/// `target/debug/eoshost`; `cargo test --workspace` builds it).
pub fn eoshost_binary() -> PathBuf {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let path = std::env::var_os("EOSHOST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join(profile).join("eoshost"));
    if !path.is_file() {
        let release = if profile == "release" { " --release" } else { "" };
        panic!("{} is missing: build it with cargo build{release} -p eoshost", path.display());
    }
    path
}

/// `<workspace>/target/plugins/<name>.wasm`, which `scripts/build-plugins` makes.
pub fn plugin_path(name: &str) -> PathBuf {
    let path = workspace_root().join("target/plugins").join(format!("{name}.wasm"));
    if !path.is_file() {
        panic!("{} is missing: build the plugins with scripts/build-plugins", path.display());
    }
    path
}

/// The command line of one eoshost instance (DESIGN §1.1).
#[derive(Debug, Clone)]
pub struct EoshostSpec {
    plugin: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    group: String,
    bootstrap: String,
    transactional_id: Option<String>,
    commit_interval_ms: u64,
    extra: Vec<String>,
    /// Environment of the child, on top of the cleaned inherited one.
    env: Vec<(String, String)>,
}

impl EoshostSpec {
    /// `plugin` is a name under `target/plugins/`; the default output is
    /// `outputs[0]`. Commit interval 100 ms, the default.
    pub fn new(plugin: &str, input: &str, outputs: &[&str], group: &str, bootstrap: &str) -> EoshostSpec {
        EoshostSpec {
            plugin: plugin.to_owned(),
            inputs: vec![input.to_owned()],
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            group: group.to_owned(),
            bootstrap: bootstrap.to_owned(),
            transactional_id: None,
            commit_interval_ms: 100,
            extra: Vec::new(),
            env: Vec::new(),
        }
    }

    /// A fixed `--transactional-id`: restarts with the same spec fence their
    /// predecessor, concurrent instances must get different ones.
    pub fn transactional_id(mut self, id: &str) -> EoshostSpec {
        self.transactional_id = Some(id.to_owned());
        self
    }

    pub fn commit_interval_ms(mut self, ms: u64) -> EoshostSpec {
        self.commit_interval_ms = ms;
        self
    }

    pub fn bootstrap(mut self, bootstrap: &str) -> EoshostSpec {
        self.bootstrap = bootstrap.to_owned();
        self
    }

    pub fn plugin_config(self, pair: &str) -> EoshostSpec {
        self.args(["--plugin-config", pair])
    }

    /// `-X key=value`, a librdkafka property.
    pub fn librdkafka(self, pair: &str) -> EoshostSpec {
        self.args(["-X", pair])
    }

    /// A 6 s session (the broker's minimum) with 1 s heartbeats, so that the
    /// group notices a SIGKILLed member in seconds rather than 45. Under the
    /// KIP-848 protocol (`EOSHOST_TEST_GROUP_PROTOCOL=consumer`) both are the
    /// broker's settings and librdkafka refuses them: nothing is added.
    pub fn fast_failure_detection(self) -> EoshostSpec {
        if group_protocol().is_some() {
            return self;
        }
        self.librdkafka("session.timeout.ms=6000").librdkafka("heartbeat.interval.ms=1000")
    }

    pub fn args<I, S>(mut self, args: I) -> EoshostSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable of the child (e.g. `EOSHOST_LOG`, or an
    /// `EOSHOST_LIBRDKAFKA_*` secret), set after the inherited `EOSHOST_*`
    /// ones are removed, so that a test never changes its own environment
    /// (`set_var` is unsound while other threads read it).
    pub fn env(mut self, name: &str, value: &str) -> EoshostSpec {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    fn command_line(&self) -> Vec<String> {
        let protocol = group_protocol().map(|protocol| format!("group.protocol={protocol}"));
        let mut line = vec![
            "--plugin".to_owned(),
            plugin_path(&self.plugin).display().to_string(),
            "--input".to_owned(),
            self.inputs.join(","),
            "--output".to_owned(),
            self.outputs.join(","),
            "--bootstrap-servers".to_owned(),
            self.bootstrap.clone(),
            "--group".to_owned(),
            self.group.clone(),
            "--commit-interval-ms".to_owned(),
            self.commit_interval_ms.to_string(),
        ];
        if let Some(id) = &self.transactional_id {
            line.extend(["--transactional-id".to_owned(), id.clone()]);
        }
        if let Some(protocol) = protocol {
            line.extend(["-X".to_owned(), protocol]);
        }
        line.extend(self.extra.iter().cloned());
        line
    }
}

/// `EOSHOST_TEST_GROUP_PROTOCOL`: the consumer group protocol every
/// instance uses (`classic`, librdkafka's default, or `consumer` for KIP-848).
fn group_protocol() -> Option<String> {
    std::env::var("EOSHOST_TEST_GROUP_PROTOCOL").ok().filter(|protocol| !protocol.is_empty() && protocol != "classic")
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    fn of(status: ExitStatus) -> Exit {
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Code(-1),
        }
    }

    pub fn code(self) -> Option<i32> {
        match self {
            Exit::Code(code) => Some(code),
            Exit::Signal(_) => None,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exit code {code}"),
            Exit::Signal(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

/// A running (or finished) eoshost instance. Dropping it SIGKILLs it.
pub struct Eoshost {
    child: Child,
    label: String,
    stderr_path: PathBuf,
    exit: Option<Exit>,
    started: Instant,
}

impl Eoshost {
    /// Starts eoshost with `spec`; stdout and stderr go to
    /// `<log_dir>/<label>.stdout` and `.stderr`. Every inherited `EOSHOST_*`
    /// variable but `EOSHOST_LOG` is removed: the host reads its options from
    /// them, and the test's command line (with the spec's own
    /// [`EoshostSpec::env`]) must be the whole truth.
    pub fn spawn(spec: &EoshostSpec, log_dir: &Path, label: &str) -> anyhow::Result<Eoshost> {
        Eoshost::spawn_with(&spec.command_line(), &spec.env, log_dir, label)
    }

    /// Starts eoshost with this exact command line (e.g. `relay …`), logs
    /// and environment as [`Eoshost::spawn`].
    pub fn spawn_args(args: &[String], log_dir: &Path, label: &str) -> anyhow::Result<Eoshost> {
        Eoshost::spawn_with(args, &[], log_dir, label)
    }

    /// [`Eoshost::spawn_args`] with environment variables of the child (e.g.
    /// `EOSHOST_LOG`), as [`EoshostSpec::env`] gives the pipeline's.
    pub fn spawn_args_with_env(
        args: &[String],
        env: &[(String, String)],
        log_dir: &Path,
        label: &str,
    ) -> anyhow::Result<Eoshost> {
        Eoshost::spawn_with(args, env, log_dir, label)
    }

    fn spawn_with(args: &[String], env: &[(String, String)], log_dir: &Path, label: &str) -> anyhow::Result<Eoshost> {
        let binary = eoshost_binary();
        let stderr_path = log_dir.join(format!("{label}.stderr"));
        let stdout_path = log_dir.join(format!("{label}.stdout"));
        let env_line: String = env.iter().map(|(name, value)| format!("{name}={value} ")).collect();
        std::fs::write(log_dir.join(format!("{label}.cmdline")), format!("{env_line}{} {}\n", binary.display(), args.join(" ")))?;
        let mut command = Command::new(&binary);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).with_context(|| format!("creating {}", stdout_path.display()))?)
            .stderr(File::create(&stderr_path).with_context(|| format!("creating {}", stderr_path.display()))?);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("EOSHOST_") && name != "EOSHOST_LOG" {
                command.env_remove(name.as_ref());
            }
        }
        command.envs(env.iter().map(|(name, value)| (name, value)));
        let child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        Ok(Eoshost { child, label: label.to_owned(), stderr_path, exit: None, started: Instant::now() })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Time since the process started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// How it ended, if it has; never blocks.
    pub fn try_exit(&mut self) -> Option<Exit> {
        if self.exit.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exit = Some(Exit::of(status));
        }
        self.exit
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<Exit> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(exit) = self.try_exit() {
                return Some(exit);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: i32) -> anyhow::Result<()> {
        // SAFETY: kill(2) on our own child's pid, which is not reaped yet
        // (try_exit would have recorded it), so the pid cannot be reused.
        if unsafe { libc::kill(self.pid(), signal) } != 0 {
            anyhow::bail!("kill({}, {signal}) on {}: {}", self.pid(), self.label, std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// SIGKILL, as a crash would, and reap it. Returns whether it was still
    /// running (and so really killed).
    pub fn kill(&mut self) -> anyhow::Result<bool> {
        if self.try_exit().is_some() {
            return Ok(false);
        }
        self.signal(libc::SIGKILL)?;
        let status = self.child.wait()?;
        self.exit = Some(Exit::of(status));
        Ok(true)
    }

    /// SIGTERM and wait up to `timeout` for the clean shutdown; `None` when
    /// it did not end in time (it is then SIGKILLed, so nothing lingers).
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<Option<(Exit, Duration)>> {
        if let Some(exit) = self.try_exit() {
            anyhow::bail!("{} had already ended ({exit}) before SIGTERM; stderr tail:\n{}", self.label, self.stderr_tail(40));
        }
        let sent = Instant::now();
        self.signal(libc::SIGTERM)?;
        match self.wait_exit(timeout) {
            Some(exit) => Ok(Some((exit, sent.elapsed()))),
            None => {
                self.kill()?;
                Ok(None)
            }
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read(&self.stderr_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// The last `lines` lines of stderr, for failure messages.
    pub fn stderr_tail(&self, lines: usize) -> String {
        let text = self.stderr();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn stderr_path(&self) -> &Path {
        &self.stderr_path
    }

    /// Waits until stderr holds a line containing `needle` (a log message
    /// the start-up or the loop writes); fails with the stderr tail when the
    /// process ends first or `timeout` passes.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        self.wait_for_stderr(&format!("a line containing {needle:?}"), timeout, |text| text.contains(needle))
    }

    /// Waits until `found` holds of everything written to stderr so far
    /// (`what` names it in the failure); fails with the stderr tail when the
    /// process ends first or `timeout` passes. Polls every 5 ms, so a signal
    /// sent on return lands close to the moment the line was written.
    pub fn wait_for_stderr(&mut self, what: &str, timeout: Duration, found: impl Fn(&str) -> bool) -> anyhow::Result<()> {
        const POLL: Duration = Duration::from_millis(5);
        let deadline = Instant::now() + timeout;
        loop {
            if found(&self.stderr()) {
                return Ok(());
            }
            if let Some(exit) = self.try_exit() {
                // It may have written the line just before it ended.
                if found(&self.stderr()) {
                    return Ok(());
                }
                anyhow::bail!(
                    "{} ended ({exit}) before {what} appeared on stderr; stderr tail:\n{}",
                    self.label,
                    self.stderr_tail(30)
                );
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "{}: {what} did not appear on stderr within {timeout:?}; stderr tail:\n{}",
                    self.label,
                    self.stderr_tail(30)
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Eoshost {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
