//! The Schema Registry and the client nobody on eoshost wrote, as the
//! typed-record tests see them: the project's registry (`scripts/schema-registry`,
//! started when it is not running and left running), frozen with SIGSTOP
//! for the outage test, and Confluent's own Python serializers
//! (`tests/python/sr_client.py`, in the venv `tests/python/setup` makes once)
//! writing numbered orders and reading eoshost's outputs back, field by
//! field, into one [`Summary`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::process::{EoshostSpec, workspace_root};
use crate::scenario::Scenario;

/// The project's registry (`scripts/schema-registry`).
pub struct Registry {
    url: String,
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

fn registry_script(command: &str) -> anyhow::Result<(bool, String)> {
    let output = Command::new(workspace_root().join("scripts/schema-registry"))
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running scripts/schema-registry {command}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok((output.status.success(), stdout.lines().last().unwrap_or_default().trim().to_owned()))
}

impl Registry {
    /// The running registry, started with `scripts/schema-registry start`
    /// when `status` says it is not running (and left running: scripts/test
    /// stops what it started). Panics, saying why, when it cannot start.
    pub fn get() -> &'static Registry {
        REGISTRY.get_or_init(|| {
            let url = match registry_script("status") {
                Ok((true, url)) if !url.is_empty() => Ok(url),
                _ => match registry_script("start") {
                    Ok((true, url)) if !url.is_empty() => Ok(url),
                    Ok((_, last)) => Err(anyhow::anyhow!("scripts/schema-registry start failed (last line {last:?})")),
                    Err(error) => Err(error),
                },
            };
            match url {
                Ok(url) => Registry { url },
                Err(error) => panic!("no Schema Registry: {error:#} (see scripts/schema-registry --help)"),
            }
        })
    }

    /// The base URL Confluent clients take (`…/apis/ccompat/v7`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// SIGSTOP to the registry's JVM: it keeps its port and its schemas,
    /// and answers nothing until [`Frozen::thaw`] (or the guard's drop).
    pub fn freeze(&self) -> anyhow::Result<Frozen> {
        let pids = registry_pids();
        anyhow::ensure!(!pids.is_empty(), "no registry JVM found to freeze (state {})", registry_state().display());
        let mut frozen = Frozen { pids: Vec::new() };
        for pid in pids {
            // SAFETY: kill(2) with a pid found by the registry's own marker
            // argument an instant ago; at worst it fails with ESRCH.
            if unsafe { libc::kill(pid, libc::SIGSTOP) } != 0 {
                bail!("SIGSTOP to the registry (pid {pid}): {}", std::io::Error::last_os_error());
            }
            frozen.pids.push(pid);
        }
        Ok(frozen)
    }
}

/// The registry frozen by [`Registry::freeze`]; dropping it thaws it, so a
/// failing test never leaves it stopped for the tests after it.
pub struct Frozen {
    pids: Vec<i32>,
}

impl Frozen {
    pub fn thaw(mut self) -> anyhow::Result<()> {
        self.send_cont()
    }

    fn send_cont(&mut self) -> anyhow::Result<()> {
        for pid in std::mem::take(&mut self.pids) {
            // SAFETY: as in freeze; a stopped process cannot have exited.
            if unsafe { libc::kill(pid, libc::SIGCONT) } != 0 {
                bail!("SIGCONT to the registry (pid {pid}): {}", std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = self.send_cont();
    }
}

/// `scripts/schema-registry`'s state directory.
fn registry_state() -> PathBuf {
    let state = std::env::var_os("EOSHOST_SCHEMA_REGISTRY_STATE").map(PathBuf::from);
    state.unwrap_or_else(|| PathBuf::from("/tmp/eoshost-schema-registry"))
}

/// The registry JVM's pids, found as the script finds them: the process
/// named `java` whose command line holds the exact argument
/// `-Deoshost.schema-registry.state=<state dir>` (no stale pid file, no
/// reused pid).
fn registry_pids() -> Vec<i32> {
    let marker = format!("-Deoshost.schema-registry.state={}", registry_state().display());
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            comm.trim() == "java" && cmdline.split(|&b| b == 0).any(|arg| arg == marker.as_bytes())
        })
        .collect()
}

/// The venv's python, made by `tests/python/setup` once per test binary.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let setup = workspace_root().join("tests/python/setup");
        let output = Command::new(&setup)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", setup.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let python = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        if !output.status.success() || !python.is_file() {
            panic!("{} failed ({}); stdout: {stdout}", setup.display(), output.status);
        }
        python
    })
}

/// `tests/schemas/<name>`: the schema files the tests hand to eoshost.
pub fn schema_file(name: &str) -> PathBuf {
    let path = workspace_root().join("tests/schemas").join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// A Schema Registry format, named as both eoshost and sr_client.py name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Avro,
    Protobuf,
    JsonSchema,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Avro => "avro",
            Format::Protobuf => "protobuf",
            Format::JsonSchema => "json-schema",
        }
    }

    /// The registry's `schemaType`.
    pub fn registry_type(self) -> &'static str {
        match self {
            Format::Avro => "AVRO",
            Format::Protobuf => "PROTOBUF",
            Format::JsonSchema => "JSON",
        }
    }
}

/// Which version of the order a producer writes: v2 adds `channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        }
    }
}

/// The shape a reader requires of the records it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No `channel`.
    V1,
    /// `channel` as v2 writes it.
    V2,
    /// `channel` present and null: a v1 record written with the v2 schema.
    V2Null,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::V1 => "v1",
            Shape::V2 => "v2",
            Shape::V2Null => "v2-null",
        }
    }
}

/// Orders `start..start + count` for [`SrClient::produce`].
#[derive(Debug, Clone)]
pub struct Produce {
    pub format: Format,
    pub start: u64,
    pub count: u64,
    pub version: Version,
    /// Keys in the format too (else UTF-8 `c-<n % 40>`).
    pub typed_key: bool,
    /// Records per second; `None`: as fast as it goes.
    pub rate: Option<u64>,
}

impl Produce {
    pub fn new(format: Format, start: u64, count: u64) -> Produce {
        Produce { format, start, count, version: Version::V1, typed_key: false, rate: None }
    }

    pub fn version(mut self, version: Version) -> Produce {
        self.version = version;
        self
    }

    pub fn typed_key(mut self) -> Produce {
        self.typed_key = true;
        self
    }

    pub fn rate(mut self, per_second: u64) -> Produce {
        self.rate = Some(per_second);
        self
    }
}

/// What [`SrClient::consume`] must find: orders `start..start + count`,
/// each once, in `shape` (from `v2_from` on in [`Shape::V2`]).
#[derive(Debug, Clone)]
pub struct Expect {
    pub format: Format,
    pub start: u64,
    pub count: u64,
    pub shape: Shape,
    pub v2_from: Option<u64>,
    pub typed_key: bool,
}

impl Expect {
    pub fn new(format: Format, start: u64, count: u64) -> Expect {
        Expect { format, start, count, shape: Shape::V1, v2_from: None, typed_key: false }
    }

    pub fn shape(mut self, shape: Shape) -> Expect {
        self.shape = shape;
        self
    }

    pub fn v2_from(mut self, n: u64) -> Expect {
        self.v2_from = Some(n);
        self
    }

    pub fn typed_key(mut self) -> Expect {
        self.typed_key = true;
        self
    }
}

/// The bad inputs [`SrClient::produce_raw`] writes, and the good Avro
/// records it frames itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    /// JSON text: no magic byte.
    NoMagicByte,
    /// 0x00 and a schema id the registry does not have.
    UnknownId(u32),
    /// A registered id, then bytes no order decodes from.
    Undecodable(u32),
    /// Orders encoded with fastavro under an id registered beforehand: no
    /// registry call at all.
    Avro(u32, Version),
}

/// One record written by [`SrClient::produce_raw`].
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub n: u64,
    pub partition: i32,
    pub offset: i64,
    pub value: Vec<u8>,
}

/// The reader's verdict (`sr_client.py consume`'s JSON line).
#[derive(Debug, Clone)]
pub struct Summary {
    pub read: u64,
    pub distinct: u64,
    pub duplicates: u64,
    pub missing: u64,
    pub mismatched: u64,
    pub order_violations: u64,
    pub undecodable: u64,
    pub unexpected: u64,
    /// The schema ids the values carry.
    pub schema_ids: Vec<u64>,
    pub schema_problems: Vec<String>,
    line: String,
}

impl Summary {
    fn parse(line: &str) -> anyhow::Result<Summary> {
        let json: serde_json::Value = serde_json::from_str(line).with_context(|| format!("not a summary: {line}"))?;
        let number =
            |name: &str| json.get(name).and_then(serde_json::Value::as_u64).with_context(|| format!("no {name} in {line}"));
        Ok(Summary {
            read: number("read")?,
            distinct: number("distinct")?,
            duplicates: number("duplicates")?,
            missing: number("missing")?,
            mismatched: number("mismatched")?,
            order_violations: number("order_violations")?,
            undecodable: number("undecodable")?,
            unexpected: number("unexpected")?,
            schema_ids: json
                .get("schema_ids")
                .and_then(serde_json::Value::as_array)
                .map(|ids| ids.iter().filter_map(serde_json::Value::as_u64).collect())
                .unwrap_or_default(),
            schema_problems: json
                .get("schema_problems")
                .and_then(serde_json::Value::as_array)
                .map(|problems| problems.iter().map(|p| p.as_str().unwrap_or_default().to_owned()).collect())
                .unwrap_or_default(),
            line: line.to_owned(),
        })
    }

    /// Every expected order once, each equal field by field to what it must
    /// be, in per-key order, nothing else, every schema id a version of the
    /// topic's value subject.
    pub fn is_exact(&self) -> bool {
        self.duplicates == 0
            && self.missing == 0
            && self.mismatched == 0
            && self.order_violations == 0
            && self.undecodable == 0
            && self.unexpected == 0
            && self.schema_problems.is_empty()
    }

    /// Panics with the whole summary unless [`Summary::is_exact`].
    pub fn assert_exact(&self, what: &str) {
        assert!(self.is_exact(), "{what}: not every record came back once and equal:\n{self}");
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

/// How long one reading may take: a killed instance's open transaction is
/// aborted within `transaction.timeout.ms` and the broker's 10 s sweep.
const CONSUME_TIMEOUT: Duration = Duration::from_secs(60);
/// A subcommand that writes or registers, bounded so that a hung client
/// fails the test with its stderr.
const CLIENT_CALL: Duration = Duration::from_secs(120);

/// `sr_client.py` against the test broker and registry; each call's stderr
/// goes to `<log dir>/sr-client-<nn>-<subcommand>.stderr`.
#[derive(Debug, Clone)]
pub struct SrClient {
    bootstrap: String,
    registry: String,
    log_dir: PathBuf,
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

impl SrClient {
    pub fn new(scenario: &Scenario) -> SrClient {
        SrClient {
            bootstrap: scenario.broker().bootstrap().to_owned(),
            registry: Registry::get().url().to_owned(),
            log_dir: scenario.log_dir().to_path_buf(),
        }
    }

    pub fn registry_url(&self) -> &str {
        &self.registry
    }

    /// `spec` reading values (and keys, with `typed_key`) in `format` through
    /// this registry.
    pub fn typed(&self, spec: EoshostSpec, format: Format, typed_key: bool) -> EoshostSpec {
        let spec = spec.args(["--schema-registry-url", &self.registry, "--value-format", format.name()]);
        if typed_key { spec.args(["--key-format", format.name()]) } else { spec }
    }

    /// The command of one subcommand, its output going to
    /// `<log dir>/sr-client-<nn>-<subcommand>.stdout` and `.stderr` (a file,
    /// not a pipe: nothing blocks on a full pipe); the paths.
    fn command(&self, subcommand: &str, args: &[String]) -> anyhow::Result<(Command, PathBuf, PathBuf)> {
        let index = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        let base = self.log_dir.join(format!("sr-client-{index:02}-{subcommand}"));
        let (stdout_path, stderr_path) = (base.with_extension("stdout"), base.with_extension("stderr"));
        let create = |path: &Path| std::fs::File::create(path).with_context(|| format!("creating {}", path.display()));
        let mut command = Command::new(python());
        command
            .arg(workspace_root().join("tests/python/sr_client.py"))
            .arg(subcommand)
            .args(args)
            .stdin(Stdio::null())
            .stdout(create(&stdout_path)?)
            .stderr(create(&stderr_path)?);
        std::fs::write(base.with_extension("cmdline"), format!("sr_client.py {subcommand} {}\n", args.join(" ")))?;
        Ok((command, stdout_path, stderr_path))
    }

    /// Runs a subcommand to its end; its last stdout line.
    fn run(&self, subcommand: &str, args: &[String], within: Duration) -> anyhow::Result<String> {
        let (mut command, stdout_path, stderr_path) = self.command(subcommand, args)?;
        let child = command.spawn().with_context(|| format!("starting sr_client.py {subcommand}"))?;
        let status = wait_exit(child, within).with_context(|| format!("sr_client.py {subcommand} {}", args.join(" ")))?;
        if !status.success() {
            bail!("sr_client.py {subcommand} {} failed ({status}); stderr tail:\n{}", args.join(" "), tail(&stderr_path, 15));
        }
        let stdout = std::fs::read_to_string(&stdout_path).with_context(|| format!("reading {}", stdout_path.display()))?;
        Ok(stdout.lines().last().unwrap_or_default().to_owned())
    }

    fn produce_args(&self, topic: &str, produce: &Produce) -> Vec<String> {
        let mut args = self.common(topic);
        args.extend(
            [
                "--format",
                produce.format.name(),
                "--start",
                &produce.start.to_string(),
                "--count",
                &produce.count.to_string(),
                "--schema",
                produce.version.name(),
            ]
            .map(String::from),
        );
        if produce.typed_key {
            args.push("--key".into());
        }
        if let Some(rate) = produce.rate {
            args.extend(["--rate".into(), rate.to_string()]);
        }
        args
    }

    fn common(&self, topic: &str) -> Vec<String> {
        ["--bootstrap", &self.bootstrap, "--registry", &self.registry, "--topic", topic].map(String::from).to_vec()
    }

    /// Writes the orders of `produce` with Confluent's serializer for its
    /// format (registering the schema as the serializer does) and waits
    /// until all are acknowledged.
    pub fn produce(&self, topic: &str, produce: &Produce) -> anyhow::Result<()> {
        self.run("produce", &self.produce_args(topic, produce), CLIENT_CALL).map(|_| ())
    }

    /// [`SrClient::produce`] in a child process, for a flow that runs while
    /// eoshost is killed.
    pub fn produce_in_background(&self, topic: &str, produce: &Produce) -> anyhow::Result<Background> {
        let (mut command, _, stderr_path) = self.command("produce", &self.produce_args(topic, produce))?;
        let child = command.spawn().context("starting sr_client.py produce")?;
        Ok(Background { child: Some(child), stderr_path })
    }

    /// Reads `topic` with `read_committed` and the format's deserializer
    /// until the expected orders are in (or the timeout), comparing each
    /// field by field.
    pub fn consume(&self, topic: &str, expect: &Expect) -> anyhow::Result<Summary> {
        let mut args = self.common(topic);
        args.extend(
            [
                "--format",
                expect.format.name(),
                "--expect-start",
                &expect.start.to_string(),
                "--expect-count",
                &expect.count.to_string(),
                "--schema",
                expect.shape.name(),
                "--timeout",
                &CONSUME_TIMEOUT.as_secs().to_string(),
            ]
            .map(String::from),
        );
        if let Some(n) = expect.v2_from {
            args.extend(["--v2-from".into(), n.to_string()]);
        }
        if expect.typed_key {
            args.push("--key".into());
        }
        let line = self.run("consume", &args, CONSUME_TIMEOUT + Duration::from_secs(30))?;
        Summary::parse(&line)
    }

    /// Writes `count` raw records numbered from `start` (keys `c-<n % 40>`)
    /// and returns where each landed and its value bytes.
    pub fn produce_raw(&self, topic: &str, raw: Raw, start: u64, count: u64) -> anyhow::Result<Vec<RawRecord>> {
        let (kind, id, version) = match raw {
            Raw::NoMagicByte => ("no-magic", 0, Version::V1),
            Raw::UnknownId(id) => ("unknown-id", id, Version::V1),
            Raw::Undecodable(id) => ("undecodable", id, Version::V1),
            Raw::Avro(id, version) => ("avro", id, version),
        };
        let args = [
            "--bootstrap",
            &self.bootstrap,
            "--topic",
            topic,
            "--kind",
            kind,
            "--schema-id",
            &id.to_string(),
            "--schema",
            version.name(),
            "--start",
            &start.to_string(),
            "--count",
            &count.to_string(),
        ]
        .map(String::from);
        let line = self.run("produce-raw", &args, CLIENT_CALL)?;
        let json: serde_json::Value = serde_json::from_str(&line).with_context(|| format!("produce-raw printed {line}"))?;
        let records = json.get("records").and_then(serde_json::Value::as_array).context("produce-raw: no records")?;
        records
            .iter()
            .map(|record| {
                let field = |name: &str| record.get(name).with_context(|| format!("produce-raw record without {name}: {record}"));
                Ok(RawRecord {
                    n: field("n")?.as_u64().context("n")?,
                    partition: field("partition")?.as_i64().context("partition")? as i32,
                    offset: field("offset")?.as_i64().context("offset")?,
                    value: from_hex(field("value_hex")?.as_str().context("value_hex")?)?,
                })
            })
            .collect()
    }

    /// Registers the schema in `file` under `subject`; its id.
    pub fn register(&self, subject: &str, file: &Path, format: Format) -> anyhow::Result<u32> {
        let file = file.display().to_string();
        let args = ["--registry", &self.registry, "--subject", subject, "--schema-file", &file, "--type", format.registry_type()]
            .map(String::from);
        let line = self.run("register", &args, CLIENT_CALL)?;
        line.trim().parse().with_context(|| format!("register printed {line:?}, not an id"))
    }

    /// The compatibility level of `subject` (`BACKWARD`, `NONE`, …).
    pub fn set_compatibility(&self, subject: &str, level: &str) -> anyhow::Result<()> {
        let args = ["--registry", &self.registry, "--subject", subject, "--level", level].map(String::from);
        self.run("compatibility", &args, CLIENT_CALL).map(|_| ())
    }
}

/// A producer running in the background; dropping it kills it.
pub struct Background {
    child: Option<Child>,
    stderr_path: PathBuf,
}

impl Background {
    /// Waits up to `within` for it to have written everything.
    pub fn finish(mut self, within: Duration) -> anyhow::Result<()> {
        let child = self.child.take().context("already finished")?;
        let status = wait_exit(child, within).context("the background producer")?;
        if !status.success() {
            bail!("the background producer failed ({status}); stderr tail:\n{}", tail(&self.stderr_path, 15));
        }
        Ok(())
    }

    /// Whether it is still writing.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How the child ended; killed (and an error) after `within`.
fn wait_exit(mut child: Child, within: Duration) -> anyhow::Result<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("still running after {within:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn from_hex(hex: &str) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(hex.len().is_multiple_of(2), "odd hex length: {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).with_context(|| format!("not hex: {hex}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_with_any_fault_is_not_exact() {
        let exact = r#"{"read": 4, "distinct": 4, "duplicates": 0, "missing": 0, "mismatched": 0, "order_violations": 0, "undecodable": 0, "unexpected": 0, "schema_problems": []}"#;
        assert!(Summary::parse(exact).expect("parses").is_exact());
        for fault in ["duplicates", "missing", "mismatched", "order_violations", "undecodable", "unexpected"] {
            let line = exact.replace(&format!("\"{fault}\": 0"), &format!("\"{fault}\": 1"));
            assert!(!Summary::parse(&line).expect("parses").is_exact(), "{fault}");
        }
        let problem = exact.replace(r#""schema_problems": []"#, r#""schema_problems": ["id 9 is no version"]"#);
        assert!(!Summary::parse(&problem).expect("parses").is_exact());
    }

    #[test]
    fn hex_values_come_back_as_bytes() {
        assert_eq!(from_hex("00000f4240ff").expect("hex"), vec![0, 0, 0x0f, 0x42, 0x40, 0xff]);
        assert!(from_hex("abc").is_err());
    }
}
