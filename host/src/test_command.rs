//! `eoshost test`: runs a plugin over JSONL records without Kafka (DESIGN
//! §1.2). One JSON object a line in; one line per output record, or one
//! `{"offset":N,"error":"…"}` line per rejected record, out. A stateful
//! plugin gets an in-memory store scoped, as in the pipeline, to each
//! record's `topic` and `partition`; a rejected record's writes are undone.
//! `--table NAME=FILE.jsonl` gives a plugin a table read from a file in the
//! same format (`key` and `value`).
//!
//! Timers run too. Stream time comes from the records' `timestamp`s; the
//! stream-time timers a record makes due fire right after it. The wall
//! clock is the test's own: it starts at the system clock's time and moves
//! only on a line `{"advance_wall_clock_ms": N}` (or is set by
//! `{"wall_clock_ms": N}`), after which the wall-clock timers due fire. A
//! timer's outputs are output lines with a `"timestamp"` (and a
//! `"partition"` when the plugin chose one); a rejected timer is a line
//! `{"timer":{"clock":…,"key":…,"time":…},"error":"…"}`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cli::{TestArgs, parse_pair};
use crate::config::schema_registry_settings;
use crate::failure::Failure;
use crate::metrics::Metrics;
use crate::plugin::{CallError, Chain, Header, InputRecord, OutputRecord, OutputTopics, SandboxLimits, assign_config};
use crate::policy::OnError;
use crate::processor::{Firing, OutputRules, Processor, TimerFate};
use crate::schemas::{FormatSpec, RecordFormats, SubjectStrategy, Unavailable};
use crate::state::SharedState;
use crate::tables::{Table, TableSpec, Tables};

/// Lines of an input file given to a plugin that takes batches in one call,
/// as many as the pipeline's batches hold at most.
const TEST_BATCH: usize = 256;

/// One input line. Text fields are UTF-8; the `_b64` forms carry bytes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    topic: Option<String>,
    partition: Option<i32>,
    offset: Option<i64>,
    timestamp: Option<i64>,
    key: Option<String>,
    key_b64: Option<String>,
    value: Option<String>,
    value_b64: Option<String>,
    #[serde(default)]
    headers: Map<String, Value>,
}

/// A line that moves the test's wall clock instead of carrying a record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockLine {
    advance_wall_clock_ms: Option<i64>,
    wall_clock_ms: Option<i64>,
}

/// What one input line says.
#[derive(Debug)]
enum TestLine {
    Record(InputRecord),
    /// Move the wall clock by this many milliseconds.
    AdvanceWallClock(i64),
    /// Set the wall clock to this time.
    SetWallClock(i64),
}

/// One output line, keys in this order.
#[derive(Debug, Serialize)]
struct LineOut {
    topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_b64: Option<String>,
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_b64: Option<String>,
    value: Option<String>,
    headers: Map<String, Value>,
    /// A timer's output: the timestamp it is written with.
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<i64>,
    /// A timer's output: the partition the plugin chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<i32>,
}

/// A timer whose handler rejected it.
#[derive(Debug, Serialize)]
struct TimerRejected<'a> {
    timer: TimerLine,
    error: &'a str,
}

#[derive(Debug, Serialize)]
struct TimerLine {
    clock: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_b64: Option<String>,
    key: Option<String>,
    time: i64,
}

#[derive(Debug, Serialize)]
struct Rejected<'a> {
    offset: i64,
    error: &'a str,
}

fn bytes_field(text: Option<String>, b64: Option<String>, name: &str) -> Result<Option<Vec<u8>>, String> {
    match (text, b64) {
        (Some(_), Some(_)) => Err(format!("give either \"{name}\" or \"{name}_b64\", not both")),
        (Some(text), None) => Ok(Some(text.into_bytes())),
        (None, Some(b64)) => BASE64.decode(b64).map(Some).map_err(|e| format!("\"{name}_b64\" is not base64: {e}")),
        (None, None) => Ok(None),
    }
}

/// Parses one input line: a record, or a move of the wall clock.
fn parse_test_line(line: &str, index: i64) -> Result<TestLine, String> {
    match serde_json::from_str::<ClockLine>(line) {
        Ok(ClockLine { advance_wall_clock_ms: Some(ms), wall_clock_ms: None }) if ms >= 0 => Ok(TestLine::AdvanceWallClock(ms)),
        Ok(ClockLine { advance_wall_clock_ms: Some(_), wall_clock_ms: None }) => {
            Err("\"advance_wall_clock_ms\" must not be negative: the wall clock does not go back".to_owned())
        }
        Ok(ClockLine { advance_wall_clock_ms: None, wall_clock_ms: Some(ms) }) => Ok(TestLine::SetWallClock(ms)),
        Ok(ClockLine { advance_wall_clock_ms: Some(_), wall_clock_ms: Some(_) }) => {
            Err("give either \"advance_wall_clock_ms\" or \"wall_clock_ms\", not both".to_owned())
        }
        _ => parse_line(line, index).map(TestLine::Record),
    }
}

/// Parses one input line into the record the plugin sees; `index` (0-based)
/// is the offset when the line gives none.
fn parse_line(line: &str, index: i64) -> Result<InputRecord, String> {
    let parsed: LineIn = serde_json::from_str(line).map_err(|e| format!("not a record object: {e}"))?;
    let value =
        bytes_field(parsed.value, parsed.value_b64, "value")?.ok_or_else(|| "missing \"value\" (or \"value_b64\")".to_owned())?;
    let headers = parsed
        .headers
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok(Header { key, value: text.into_bytes() }),
            _ => Err(format!("header \"{key}\" must be a string")),
        })
        .collect::<Result<_, _>>()?;
    Ok(InputRecord {
        topic: parsed.topic.unwrap_or_else(|| "test".to_owned()),
        partition: parsed.partition.unwrap_or(0),
        offset: parsed.offset.unwrap_or(index),
        timestamp: parsed.timestamp,
        key: bytes_field(parsed.key, parsed.key_b64, "key")?,
        value: Some(value),
        headers,
    })
}

/// Text when the bytes are UTF-8, else base64 in the `_b64` twin.
fn text_or_b64(bytes: Option<Vec<u8>>) -> (Option<String>, Option<String>) {
    match bytes.map(String::from_utf8) {
        None => (None, None),
        Some(Ok(text)) => (Some(text), None),
        Some(Err(raw)) => (None, Some(BASE64.encode(raw.into_bytes()))),
    }
}

fn render_output(record: OutputRecord, topic: Option<String>) -> LineOut {
    let (key, key_b64) = text_or_b64(record.key);
    let (value, value_b64) = text_or_b64(record.value);
    let headers =
        record.headers.into_iter().map(|h| (h.key, Value::String(String::from_utf8_lossy(&h.value).into_owned()))).collect();
    LineOut { topic, key_b64, key, value_b64, value, headers, timestamp: None, partition: None }
}

/// Writes what became of each timer that fired: its outputs, or an error
/// line for a timer its handler rejected. A trap ends the test.
fn write_firings(out: &mut impl Write, firings: Vec<Firing>, topics: Option<&OutputTopics>, plugin: &str) -> Result<(), Failure> {
    for firing in firings {
        let timer = firing.describe();
        let error = match firing.fate {
            TimerFate::Write(outputs) => {
                for output in outputs {
                    let topic = match topics {
                        None => output.record.topic.clone(),
                        Some(topics) => Some(topics.resolve(&output.record).expect("checked by the processor").to_owned()),
                    };
                    let mut line = render_output(output.record, topic);
                    line.timestamp = Some(output.timestamp);
                    line.partition = output.partition;
                    write_line(out, &line)?;
                }
                continue;
            }
            TimerFate::Retry | TimerFate::Fail(_) | TimerFate::Skip(_) | TimerFate::DeadLetter(_) if firing.trapped => {
                let _ = out.flush();
                return Err(Failure::Fatal(anyhow::anyhow!("plugin {plugin} trapped on the {timer}")));
            }
            TimerFate::Retry => unreachable!("a timer is retried only after a trap"),
            TimerFate::Fail(error) | TimerFate::Skip(error) | TimerFate::DeadLetter(error) => error,
        };
        let (key, key_b64) = text_or_b64(Some(firing.timer.key));
        let line = TimerLine { clock: firing.timer.clock.as_str(), key_b64, key, time: firing.timer.time };
        write_line(out, &TimerRejected { timer: line, error: error.strip_prefix("rejected: ").unwrap_or(&error) })?;
    }
    Ok(())
}

fn write_line(out: &mut impl Write, line: &impl Serialize) -> Result<(), Failure> {
    serde_json::to_writer(&mut *out, line).map_err(|e| Failure::Fatal(e.into()))?;
    out.write_all(b"\n").map_err(|e| Failure::Fatal(e.into()))
}

/// Runs `eoshost test`.
pub fn run(args: TestArgs) -> Result<(), Failure> {
    let pairs = args
        .plugin_config
        .iter()
        .map(|raw| parse_pair("--plugin-config", raw))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::usage)?;
    let specs = assign_config(&args.plugin, pairs).map_err(Failure::usage)?;
    let limits = SandboxLimits {
        call_timeout: Duration::from_millis(args.plugin_timeout_ms),
        memory_bytes: (args.plugin_memory_mb as usize) << 20,
        ..SandboxLimits::default()
    };
    let table_specs =
        args.table.iter().map(|raw| TableSpec::parse("--table", raw)).collect::<Result<Vec<_>, _>>().map_err(Failure::usage)?;
    TableSpec::check_distinct("--table", &table_specs).map_err(Failure::usage)?;
    let tables = Tables::new(&table_specs, usize::MAX);
    for spec in &table_specs {
        load_table_file(tables.table(&spec.name).expect("made from the specs"), Path::new(&spec.source))?;
    }
    let (chain, state) = Chain::load(&specs, limits, || SharedState::new((args.state_max_mb as usize) << 20), &tables)?;
    let plugin_name = chain.name().to_owned();
    // The same output checks as the pipeline's (without a size bound); no
    // poison policy for records (`call`): a rejection is shown, a trap ends
    // the test. A timer that fails is dropped (skip) and shown the same way.
    let rules = OutputRules {
        topics: (!args.output.is_empty()).then(|| OutputTopics::new(args.output.clone())),
        max_message_bytes: None,
    };
    let topics = rules.topics.clone();
    let formats = RecordFormats::offline(format_spec(&args)?, &args.output)?;
    let mut processor =
        Processor::new(chain, rules, OnError::Skip, 0, state.clone(), Arc::new(Metrics::new())).with_formats(formats);
    if let Some(state) = &state {
        let now = state.lock().wall_clock_ms();
        state.lock().fix_wall_clock(now);
    }

    let (source_name, reader): (String, Box<dyn BufRead>) = match &args.input {
        Some(path) => (path.display().to_string(), Box::new(BufReader::new(open(path)?))),
        None => ("<stdin>".to_owned(), Box::new(BufReader::new(std::io::stdin()))),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A plugin that takes batches gets the lines of a file in batches, as
    // the pipeline gives it records; lines typed on stdin go one by one.
    let batch_size = if args.input.is_some() && processor.takes_batches() { TEST_BATCH } else { 1 };
    let mut lines =
        jsonl_records(reader, &source_name, "each line must be a JSON object with \"value\" (see `eoshost test --help`)");
    let mut records: Vec<InputRecord> = Vec::with_capacity(batch_size);
    let mut line_numbers: Vec<usize> = Vec::with_capacity(batch_size);
    loop {
        records.clear();
        line_numbers.clear();
        let mut clock_move = None;
        for line in lines.by_ref() {
            match line? {
                (line_no, TestLine::Record(record)) => {
                    records.push(record);
                    line_numbers.push(line_no);
                }
                (_, clock) => {
                    clock_move = Some(clock);
                    break;
                }
            }
            if records.len() == batch_size {
                break;
            }
        }
        if records.is_empty() && clock_move.is_none() {
            break;
        }
        if let Err(Unavailable(reason)) = processor.resolve_schemas(&records) {
            return Err(Failure::Fatal(anyhow::anyhow!(
                "cannot read the writer schemas of {source_name}'s records from the Schema Registry: {reason}"
            )));
        }
        processor.prepare(&records);
        for (record, &line_no) in records.iter().zip(&line_numbers) {
            let offset = record.offset;
            let result = processor.call(record).map_err(|full| match full {
                Failure::Usage(error) => Failure::usage(format!("{source_name}:{line_no} (offset {offset}): {error:#}")),
                other => other,
            })?;
            match result {
                Ok(outputs) => {
                    for output in outputs {
                        let topic = match &topics {
                            None => output.topic.clone(),
                            Some(topics) => Some(topics.resolve(&output).expect("checked above").to_owned()),
                        };
                        write_line(&mut out, &render_output(output, topic))?;
                    }
                }
                Err(CallError::Rejected(reason)) => write_line(&mut out, &Rejected { offset, error: &reason })?,
                Err(CallError::Trap(trap)) => {
                    let _ = out.flush();
                    return Err(Failure::Fatal(anyhow::anyhow!(
                        "plugin {plugin_name} trapped on {source_name}:{line_no} (offset {offset}): {trap}"
                    )));
                }
            }
            let firings = processor.fire_stream_timers(record)?;
            write_firings(&mut out, firings, topics.as_ref(), &plugin_name)?;
            // Each record (with the timers it fired) commits on its own.
            if let Some(state) = &state {
                state.lock().transaction_committed();
            }
        }
        if let Some(clock_move) = clock_move {
            let Some(state) = &state else { continue };
            {
                let mut store = state.lock();
                let now = match clock_move {
                    TestLine::AdvanceWallClock(ms) => store.wall_clock_ms().saturating_add(ms),
                    TestLine::SetWallClock(ms) => ms,
                    TestLine::Record(_) => unreachable!("records are gathered above"),
                };
                store.fix_wall_clock(now);
            }
            let firings = processor.fire_wall_timers()?;
            write_firings(&mut out, firings, topics.as_ref(), &plugin_name)?;
            state.lock().transaction_committed();
        }
    }
    out.flush().map_err(|e| Failure::Fatal(e.into()))
}

/// The test's formats: as the pipeline's, with no registry needed.
fn format_spec(args: &TestArgs) -> Result<FormatSpec, Failure> {
    let registry_config = schema_registry_settings(BTreeMap::new(), &args.schema_registry_config)?;
    Ok(FormatSpec {
        key: args.key_format,
        value: args.value_format,
        output_key: args.output_key_format.unwrap_or(args.key_format),
        output_value: args.output_value_format.unwrap_or(args.value_format),
        output_key_schema: args.output_key_schema.clone(),
        output_value_schema: args.output_value_schema.clone(),
        strategy: SubjectStrategy::Topic,
        registry_url: args.schema_registry_url.clone(),
        registry_config,
    })
}

/// Fills `table` from a JSONL file of records (`key` and `value`, as in the
/// input); a later line of the same key replaces an earlier one.
fn load_table_file(table: &Table, path: &Path) -> Result<(), Failure> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::usage(format!("cannot read the file of --table {}={source}: {e}; check the path", table.name())))?;
    let what = "each line of a table file is a JSON object with \"key\" and \"value\"";
    for line in jsonl_records(BufReader::new(file), &source, what) {
        let (line_no, record) = match line? {
            (line_no, TestLine::Record(record)) => (line_no, record),
            (line_no, _) => {
                return Err(Failure::usage(format!("{source}:{line_no}: a table file holds records, not clock moves")));
            }
        };
        let key = record
            .key
            .ok_or_else(|| Failure::usage(format!("{source}:{line_no}: a table row needs a \"key\" (or \"key_b64\")")))?;
        table.apply(&key, record.value.as_deref()).map_err(Failure::usage)?;
    }
    Ok(())
}

/// The records of a JSONL source with their line numbers, blank lines
/// skipped. A line that cannot be read or parsed is a usage error naming
/// `source` and the line, then `what` (how every line must look).
fn jsonl_records<'a>(
    reader: impl BufRead + 'a,
    source: &'a str,
    what: &'a str,
) -> impl Iterator<Item = Result<(usize, TestLine), Failure>> + 'a {
    reader.lines().enumerate().filter_map(move |(index, line)| {
        let line_no = index + 1;
        let line = match line {
            Ok(line) => line,
            Err(e) => return Some(Err(Failure::usage(format!("{source}:{line_no}: cannot read: {e}")))),
        };
        if line.trim().is_empty() {
            return None;
        }
        let record = parse_test_line(&line, index as i64)
            .map_err(|reason| Failure::usage(format!("{source}:{line_no}: {reason}; {what}")));
        Some(record.map(|record| (line_no, record)))
    })
}

fn open(path: &Path) -> Result<std::fs::File, Failure> {
    std::fs::File::open(path)
        .map_err(|e| Failure::usage(format!("cannot read input {}: {e}; check the --input path", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_defaults_to_the_line_index_and_b64_fields_decode() {
        let record = parse_line(r#"{"value_b64":"/w==","key":"k","headers":{"h":"v"}}"#, 4).unwrap();
        assert_eq!(record.offset, 4);
        assert_eq!(record.value.as_deref(), Some(&[0xff][..]));
        assert_eq!(record.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(record.headers[0].key, "h");
    }

    #[test]
    fn a_line_without_value_or_with_unknown_fields_is_refused() {
        assert!(parse_line(r#"{"key":"k"}"#, 0).unwrap_err().contains("missing \"value\""));
        assert!(parse_line(r#"{"value":"v","vaule":"x"}"#, 0).unwrap_err().contains("unknown field"));
        assert!(parse_line("[1]", 0).is_err());
    }

    #[test]
    fn non_utf8_output_is_written_as_base64() {
        let line = render_output(OutputRecord { topic: None, key: None, value: Some(vec![0xff, 0x00]), headers: vec![] }, None);
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(json, r#"{"topic":null,"key":null,"value_b64":"/wA=","value":null,"headers":{}}"#);
    }
}
