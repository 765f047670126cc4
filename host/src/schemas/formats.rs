//! The run's typed records: the writer schemas of the input ids (fetched
//! once each, before the records that carry them are processed), the
//! output schemas of each output topic (registered or looked up at start,
//! or taken from the input's writer schema), the decoding of each input
//! key and value to JSON text and the encoding of each output back.
//!
//! Registry calls happen only in [`RecordFormats::start`] and
//! [`RecordFormats::resolve`]; decode and encode never wait for the
//! network, so a registry outage holds the loop before a record is
//! processed ([`RecordFormats::wait`]), never in the middle of one, and no
//! record is rejected because of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use eoshost_formats::{Kind, Schema};

use super::registry::{RegisteredSchema, RegistryClient, RegistryError, SchemaReference};
use super::settings::RegistrySettings;
use super::wire::{self, HEADER_LEN};
use super::{Format, FormatSpec, Side};
use crate::failure::Failure;
use crate::metrics::Metrics;
use crate::plugin::{InputRecord, OutputRecord};
use crate::retry::Backoff;

/// The registry cannot be reached (or answers 5xx): records wait.
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

/// Why a record's key or value cannot be decoded, or an output encoded:
/// the record is rejected and `--on-error` applies.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The metric label: `no_magic_byte`, `unknown_schema`,
    /// `wrong_schema_type`, `undecodable`, `not_json`, `output_mismatch`.
    pub kind: &'static str,
    pub reason: String,
}

/// A schema a record was written with, or an output is written with.
#[derive(Debug)]
struct Writer {
    id: u32,
    schema: Arc<Schema>,
    /// What the registry keeps, to register it under another subject.
    text: String,
    references: Vec<SchemaReference>,
    subject: Option<String>,
}

/// Where the schema of one output side on one topic comes from.
#[derive(Debug)]
enum OutputSchema {
    /// `--output-*-schema FILE`, or the subject's latest at start.
    Fixed(Arc<Writer>),
    /// The writer schema of the input record, registered under the output
    /// subject (by input schema id; `Err` when the registry refused it).
    FromInput { by_input: HashMap<u32, Result<Arc<Writer>, String>>, last: Option<Arc<Writer>> },
}

/// Every typed-record setting and schema of one run.
pub struct RecordFormats {
    spec: FormatSpec,
    client: Option<RegistryClient>,
    /// Writer schemas by id, or why a record with that id is rejected.
    by_id: HashMap<u32, Result<Arc<Writer>, String>>,
    /// The input ids (key side, value side) whose schemas are fetched and
    /// registered for the outputs that take them: nothing more to ask.
    resolved: [std::collections::HashSet<u32>; 2],
    /// Output schemas: key side, value side, by topic.
    outputs: [HashMap<String, OutputSchema>; 2],
    /// The topic of outputs that name none.
    default_topic: Option<String>,
    /// The input writer ids of the record being processed (key, value).
    current: [Option<u32>; 2],
    /// `eoshost test`: nothing is registered; inputs may be JSON text
    /// already; outputs are checked against their schema but stay JSON.
    offline: bool,
    metrics: Arc<Metrics>,
}

/// How long start-up waits between tries while the registry is away.
const START_BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

fn slot(side: Side) -> usize {
    match side {
        Side::Key => 0,
        Side::Value => 1,
    }
}

impl RecordFormats {
    /// The run's formats: the registry client, and the output schemas of
    /// every `topics` (the `--output` list) registered or looked up. A
    /// schema the registry refuses is a usage error (exit 2) naming the
    /// subject and the registry's reason; an unreachable registry is
    /// waited for. `None`: a stop came first.
    pub fn start(
        spec: FormatSpec,
        topics: &[String],
        metrics: Arc<Metrics>,
        stop: &AtomicBool,
    ) -> Result<Option<RecordFormats>, Failure> {
        spec.check().map_err(Failure::usage)?;
        Self::open(spec, topics, metrics, stop, false)
    }

    /// The formats of `eoshost test`: no registry needed (with one, schemas
    /// are read from it, never registered). An input key or value that is
    /// not in the wire format is taken as the JSON text a plugin sees; an
    /// output is checked against its schema (`--output-*-schema` FILE, the
    /// subject's latest, or the input's writer schema) and printed as the
    /// JSON the plugin wrote.
    pub fn offline(spec: FormatSpec, topics: &[String]) -> Result<RecordFormats, Failure> {
        spec.check_schema_files().and_then(|()| spec.check_url()).map_err(Failure::usage)?;
        let stop = AtomicBool::new(false);
        let formats = Self::open(spec, topics, Arc::new(Metrics::new()), &stop, true)?;
        Ok(formats.expect("no stop offline"))
    }

    fn open(
        spec: FormatSpec,
        topics: &[String],
        metrics: Arc<Metrics>,
        stop: &AtomicBool,
        offline: bool,
    ) -> Result<Option<RecordFormats>, Failure> {
        let client = match &spec.registry_url {
            Some(url) if spec.needs_registry() || offline => {
                let settings = RegistrySettings::from_pairs(url, &spec.registry_config).map_err(Failure::usage)?;
                Some(RegistryClient::new(url, &settings).map_err(|e| Failure::usage(format!("--schema-registry-config: {e}")))?)
            }
            _ => None,
        };
        let mut formats = RecordFormats {
            default_topic: topics.first().cloned(),
            spec,
            client,
            by_id: HashMap::new(),
            resolved: Default::default(),
            outputs: [HashMap::new(), HashMap::new()],
            current: [None, None],
            offline,
            metrics,
        };
        // Offline, one schema file checks the outputs of any topic.
        let topics: Vec<String> = if offline && topics.is_empty() { vec![String::new()] } else { topics.to_vec() };
        for side in [Side::Key, Side::Value] {
            for topic in &topics {
                let Some(schema) = formats.output_schema_at_start(side, topic, stop)? else { return Ok(None) };
                if let Some(schema) = schema {
                    formats.outputs[slot(side)].insert(topic.clone(), schema);
                }
            }
        }
        Ok(Some(formats))
    }

    /// Whether records need anything of this (else they pass as bytes).
    pub fn typed(&self) -> bool {
        self.spec.typed()
    }

    /// The output schema of `side` on `topic`: `Some(None)` for an untyped
    /// side; `None` when a stop came while waiting for the registry.
    fn output_schema_at_start(
        &mut self,
        side: Side,
        topic: &str,
        stop: &AtomicBool,
    ) -> Result<Option<Option<OutputSchema>>, Failure> {
        let (format, file) = self.spec.output(side);
        let Some(kind) = format.kind() else { return Ok(Some(None)) };
        let flag = format!("--output-{}-schema", side.name());
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("{flag} {}: cannot read it: {e}", path.display())))?;
            let schema = Schema::parse(kind, &text, &[])
                .map_err(|e| Failure::usage(format!("{flag} {}: not a valid {} schema: {e}", path.display(), format.name())))?;
            if self.offline {
                let writer = Writer { id: 0, schema: Arc::new(schema), text, references: Vec::new(), subject: None };
                return Ok(Some(Some(OutputSchema::Fixed(Arc::new(writer)))));
            }
            let subject = self.spec.strategy.subject(topic, side, schema.record_name().as_deref()).map_err(Failure::usage)?;
            let Some(id) = self.at_start(stop, |client| client.register(&subject, kind, &text, &[])).map_err(|error| {
                Failure::usage(format!(
                    "the Schema Registry refused {flag} {} under subject {subject}: {error}. Make the schema compatible \
                     with the subject's versions (or change the subject's compatibility level)",
                    path.display()
                ))
            })?
            else {
                return Ok(None);
            };
            tracing::info!(subject, id, file = %path.display(), "output {} schema registered", side.name());
            let writer = Writer { id, schema: Arc::new(schema), text, references: Vec::new(), subject: Some(subject) };
            return Ok(Some(Some(OutputSchema::Fixed(Arc::new(writer)))));
        }
        // No file, same format in and out: each record's own writer schema,
        // registered under the output subject. Not the subject's latest:
        // after a restart that would be whatever the last run registered,
        // and what a record becomes would depend on when eoshost restarted.
        if self.spec.input(side) == format {
            return Ok(Some(Some(OutputSchema::FromInput { by_input: HashMap::new(), last: None })));
        }
        // No file, another format in: the subject's latest (topic strategy
        // only: the other two name the subject after a record).
        if self.spec.strategy == super::SubjectStrategy::Topic && self.client.is_some() && !topic.is_empty() {
            let subject = self.spec.strategy.subject(topic, side, None).map_err(Failure::usage)?;
            let latest = match self.at_start(stop, |client| client.subject_version(&subject, "latest")) {
                Ok(None) => return Ok(None),
                Ok(Some(latest)) => Some(latest),
                Err(RegistryError::NotFound(_)) => None,
                Err(error) => {
                    return Err(Failure::usage(format!(
                        "cannot read the latest schema of subject {subject} from the Schema Registry: {error}"
                    )));
                }
            };
            if let Some(latest) = latest {
                if latest.kind != kind {
                    return Err(Failure::usage(format!(
                        "subject {subject}'s latest schema is {}, not {} as --output-{}-format says",
                        latest.kind.registry_name(),
                        kind.registry_name(),
                        side.name()
                    )));
                }
                let id = latest.id;
                let writer = parse_writer(latest, Some(subject.clone()))
                    .map_err(|e| Failure::usage(format!("subject {subject}'s latest schema (id {id}): {e}")))?;
                tracing::info!(subject, id, "output {} schema: the subject's latest", side.name());
                return Ok(Some(Some(OutputSchema::Fixed(Arc::new(writer)))));
            }
        }
        if self.offline {
            // Nothing to check the outputs against: they are shown as written.
            return Ok(Some(None));
        }
        Err(Failure::usage(format!(
            "no schema for the {} of output topic {topic}: give {flag} FILE, or register one under subject {}",
            side.name(),
            self.spec.strategy.subject(topic, side, Some("<record name>")).unwrap_or_default()
        )))
    }

    /// A registry call at start: retried while the registry is away
    /// (`Ok(None)`: a stop came first).
    fn at_start<T>(
        &self,
        stop: &AtomicBool,
        call: impl Fn(&RegistryClient) -> Result<T, RegistryError>,
    ) -> Result<Option<T>, RegistryError> {
        let client = self.client.as_ref().expect("a registry format has a client");
        let mut backoff = Backoff::new(START_BACKOFF.0, START_BACKOFF.1);
        loop {
            match counted(&self.metrics, call(client)) {
                // `eoshost test` says so at once rather than wait.
                Err(RegistryError::Unavailable(reason)) if !self.offline => {
                    tracing::warn!(registry = %client.url(), "the Schema Registry is unavailable ({reason}); retrying");
                    if !backoff.wait(stop) {
                        return Ok(None);
                    }
                }
                other => return other.map(Some),
            }
        }
    }

    /// Fetches the writer schemas of `records` not known yet, and registers
    /// them under the output subjects that take the input's schema. `Err`:
    /// the registry is away; nothing about the records is decided.
    pub fn resolve(&mut self, records: &[InputRecord]) -> Result<(), Unavailable> {
        if self.client.is_none() {
            return Ok(());
        }
        for side in [Side::Key, Side::Value] {
            if self.spec.input(side).kind().is_none() {
                continue;
            }
            for record in records {
                let bytes = match side {
                    Side::Key => record.key.as_deref(),
                    Side::Value => record.value.as_deref(),
                };
                let Some(Ok((id, _))) = bytes.map(wire::unframe) else { continue };
                if self.resolved[slot(side)].contains(&id) {
                    continue;
                }
                if !self.by_id.contains_key(&id) {
                    let writer = self.fetch(id)?;
                    self.by_id.insert(id, writer);
                    self.metrics.set_cached_schemas(self.by_id.len());
                }
                self.register_from_input(side, id)?;
                self.resolved[slot(side)].insert(id);
            }
        }
        Ok(())
    }

    /// [`Self::resolve`] until the registry answers, backing off, saying
    /// so on `/readyz` and in the logs. `false`: a stop came first.
    pub fn wait(&mut self, records: &[InputRecord], stop: &AtomicBool) -> bool {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        loop {
            match self.resolve(records) {
                Ok(()) => {
                    self.metrics.set_registry_waiting(None);
                    return true;
                }
                Err(Unavailable(reason)) => {
                    self.metrics.set_registry_waiting(Some(reason.clone()));
                    self.metrics.limiters.registry_unavailable.warn(format_args!(
                        "the Schema Registry is unavailable ({reason}); records wait for it, nothing is skipped"
                    ));
                    self.metrics.loop_alive();
                    if !backoff.wait(stop) {
                        return false;
                    }
                }
            }
        }
    }

    fn fetch(&self, id: u32) -> Result<Result<Arc<Writer>, String>, Unavailable> {
        let client = self.client.as_ref().expect("resolve has a client");
        let error = match counted(&self.metrics, client.schema_by_id(id)) {
            Ok(registered) => {
                return Ok(parse_writer(registered, None)
                    .map(Arc::new)
                    .map_err(|e| format!("schema id {id} does not parse: {e}")));
            }
            Err(error) => error,
        };
        if let Some(outage) = outage(&error) {
            return Err(outage);
        }
        Ok(Err(match error {
            RegistryError::NotFound(message) => format!("unknown schema id {id}: the registry has none ({message})"),
            refused => format!("schema id {id}: the registry refused it ({refused})"),
        }))
    }

    /// Registers the input's writer schema `id` under the subject of every
    /// output topic of `side` that takes the input's schema.
    fn register_from_input(&mut self, side: Side, id: u32) -> Result<(), Unavailable> {
        let Some(Ok(writer)) = self.by_id.get(&id).cloned() else { return Ok(()) };
        let client = self.client.clone().expect("resolve has a client");
        let strategy = self.spec.strategy;
        let metrics = self.metrics.clone();
        for (topic, output) in self.outputs[slot(side)].iter_mut() {
            let OutputSchema::FromInput { by_input, last } = output else { continue };
            if by_input.contains_key(&id) {
                continue;
            }
            let subject = strategy.subject(topic, side, writer.schema.record_name().as_deref());
            let registered = match subject {
                Ok(_) if self.offline => Ok(writer.clone()),
                Err(reason) => Err(reason),
                Ok(subject) => {
                    match counted(&metrics, client.register(&subject, writer.schema.kind(), &writer.text, &writer.references)) {
                        Ok(out_id) => {
                            tracing::info!(subject, id = out_id, input_id = id, "the input's schema registered for the output");
                            Ok(Arc::new(Writer {
                                id: out_id,
                                schema: writer.schema.clone(),
                                text: writer.text.clone(),
                                references: writer.references.clone(),
                                subject: Some(subject),
                            }))
                        }
                        Err(error) => match outage(&error) {
                            Some(outage) => return Err(outage),
                            None => {
                                Err(format!("the registry refused the input's schema (id {id}) under subject {subject}: {error}"))
                            }
                        },
                    }
                }
            };
            if let Ok(out) = &registered {
                *last = Some(out.clone());
            }
            by_input.insert(id, registered);
        }
        Ok(())
    }

    /// `record` with its key and value decoded to JSON text, into `into`
    /// (reused between records).
    pub fn decode(&mut self, record: &InputRecord, into: &mut InputRecord) -> Result<(), Rejection> {
        into.topic.clone_from(&record.topic);
        into.partition = record.partition;
        into.offset = record.offset;
        into.timestamp = record.timestamp;
        into.headers.clone_from(&record.headers);
        self.current = [None, None];
        for side in [Side::Key, Side::Value] {
            let (bytes, out) = match side {
                Side::Key => (record.key.as_deref(), &mut into.key),
                Side::Value => (record.value.as_deref(), &mut into.value),
            };
            let Some(bytes) = bytes else {
                *out = None;
                continue;
            };
            let buffer = out.get_or_insert_with(Vec::new);
            buffer.clear();
            let format = self.spec.input(side);
            // Offline, a typed key or value given as text is the JSON itself.
            let framed = format.kind().filter(|_| !(self.offline && bytes.first() != Some(&0)));
            let decoded = match (framed, format) {
                (Some(kind), _) => decode_framed(&self.by_id, kind, bytes, buffer).map(|id| {
                    self.current[slot(side)] = Some(id);
                }),
                (None, Format::Bytes) => {
                    buffer.extend_from_slice(bytes);
                    Ok(())
                }
                (None, Format::Json) => json_text(bytes)
                    .map(|()| buffer.extend_from_slice(bytes))
                    .map_err(|e| ("not_json", format!("not JSON ({e})"))),
                (None, _) => json_text(bytes)
                    .map(|()| buffer.extend_from_slice(bytes))
                    .map_err(|e| ("not_json", format!("neither JSON text nor the Confluent wire format ({e})"))),
            };
            if let Err((kind, why)) = decoded {
                let reason = format!("{} at offset {}: {why}", side.name(), record.offset);
                self.metrics.schema_rejection(kind);
                return Err(Rejection { kind, reason });
            }
        }
        Ok(())
    }

    /// Encodes each output's key and value in its output format, in place.
    /// `origin`: the input record as read and as decoded, when the outputs
    /// are a record's (not a timer's): an output value equal to the decoded
    /// input's, written with the same schema, keeps the input's bytes.
    pub fn encode(
        &mut self,
        outputs: &mut [OutputRecord],
        origin: Option<(&InputRecord, &InputRecord)>,
    ) -> Result<(), Rejection> {
        for (index, output) in outputs.iter_mut().enumerate() {
            let topic = match output.topic.as_deref().or(self.default_topic.as_deref()) {
                Some(topic) => topic.to_owned(),
                None => String::new(),
            };
            for side in [Side::Key, Side::Value] {
                let result = self.encode_side(side, &topic, output, origin);
                if let Err((kind, why)) = result {
                    self.metrics.schema_rejection(kind);
                    let topic = if topic.is_empty() { String::new() } else { format!(" to {topic}") };
                    let of = origin.map(|(read, _)| format!(" of the record at offset {}", read.offset)).unwrap_or_default();
                    return Err(Rejection { kind, reason: format!("output {index}{topic}{of}: {} {why}", side.name()) });
                }
            }
        }
        Ok(())
    }

    fn encode_side(
        &self,
        side: Side,
        topic: &str,
        output: &mut OutputRecord,
        origin: Option<(&InputRecord, &InputRecord)>,
    ) -> Result<(), (&'static str, String)> {
        let (format, _) = self.spec.output(side);
        let bytes = match side {
            Side::Key => &mut output.key,
            Side::Value => &mut output.value,
        };
        let Some(json) = bytes.as_mut() else { return Ok(()) };
        let Some(_) = format.kind() else {
            if format == Format::Json {
                json_text(json).map_err(|e| {
                    ("output_mismatch", format!("is not JSON ({e}), as --output-{}-format json says", side.name()))
                })?;
            }
            return Ok(());
        };
        let writer = match self.output_writer(side, topic) {
            Ok(writer) => writer,
            Err(_) if self.offline => match self.outputs[slot(side)].values().find_map(|o| match o {
                OutputSchema::Fixed(writer) => Some(writer.clone()),
                OutputSchema::FromInput { .. } => None,
            }) {
                Some(writer) => writer,
                None => return Ok(()),
            },
            Err(missing) => return Err(missing),
        };
        if self.offline {
            let mut scratch = Vec::with_capacity(json.len());
            return writer
                .schema
                .encode(json, &mut scratch)
                .map_err(|fit| ("output_mismatch", format!("does not fit the output schema: {fit}")));
        }
        // Unchanged by the plugin and written with the input's own schema:
        // the input's bytes are the encoding.
        if let (Some((read, decoded)), Some(input_id)) = (origin, self.current[slot(side)]) {
            let (original, seen) = match side {
                Side::Key => (read.key.as_deref(), decoded.key.as_deref()),
                Side::Value => (read.value.as_deref(), decoded.value.as_deref()),
            };
            if let (Some(original), Some(seen)) = (original, seen)
                && seen == json.as_slice()
                && self.same_schema(input_id, &writer)
            {
                let mut framed = Vec::with_capacity(original.len());
                wire::frame_header(writer.id, &mut framed);
                framed.extend_from_slice(&original[HEADER_LEN..]);
                *json = framed;
                return Ok(());
            }
        }
        let mut framed = Vec::with_capacity(json.len() + HEADER_LEN);
        wire::frame_header(writer.id, &mut framed);
        writer.schema.encode(json, &mut framed).map_err(|fit| {
            let subject = writer.subject.as_deref().map(|s| format!(", subject {s}")).unwrap_or_default();
            ("output_mismatch", format!("does not fit the output schema (id {}{subject}): {fit}", writer.id))
        })?;
        *json = framed;
        Ok(())
    }

    /// Whether input schema `input_id` is the output's (same id, or the
    /// same text registered under another id).
    fn same_schema(&self, input_id: u32, writer: &Writer) -> bool {
        input_id == writer.id
            || matches!(self.by_id.get(&input_id), Some(Ok(input)) if input.text == writer.text && input.references == writer.references)
    }

    fn output_writer(&self, side: Side, topic: &str) -> Result<Arc<Writer>, (&'static str, String)> {
        let missing = || ("output_mismatch", format!("has no output schema for topic {topic:?}"));
        match self.outputs[slot(side)].get(topic).ok_or_else(missing)? {
            OutputSchema::Fixed(writer) => Ok(writer.clone()),
            OutputSchema::FromInput { by_input, last } => {
                let input = self.current[slot(side)];
                match input.and_then(|id| by_input.get(&id)) {
                    Some(Ok(writer)) => Ok(writer.clone()),
                    Some(Err(reason)) => Err(("output_mismatch", reason.clone())),
                    // A timer's output, or an input of another format: the
                    // last input schema registered for the topic.
                    None => last.clone().ok_or_else(|| {
                        (
                            "output_mismatch",
                            format!(
                                "has no output schema yet: topic {topic} takes the input's schema, and no input record \
                                 has given one; give --output-{}-schema FILE",
                                side.name()
                            ),
                        )
                    }),
                }
            }
        }
    }
}

/// Counts a registry call's outcome (`eoshost_schema_registry_requests_total`)
/// and hands it on.
fn counted<T>(metrics: &Metrics, outcome: Result<T, RegistryError>) -> Result<T, RegistryError> {
    metrics.registry_request(match &outcome {
        Ok(_) => "ok",
        Err(error) => error.outcome(),
    });
    outcome
}

/// What holds records back while they flow, rather than rejecting them: the
/// registry away, or refusing eoshost's credentials (they may be fixed
/// without a restart).
fn outage(error: &RegistryError) -> Option<Unavailable> {
    match error {
        RegistryError::Unavailable(reason) => Some(Unavailable(reason.clone())),
        RegistryError::Refused { status: 401 | 403, message } => {
            Some(Unavailable(format!("the registry refuses eoshost's credentials ({message}); check --schema-registry-config")))
        }
        RegistryError::NotFound(_) | RegistryError::Refused { .. } => None,
    }
}

/// Whether `bytes` are one JSON value (the value is not kept).
fn json_text(bytes: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map(|_| ())
}

/// Decodes framed `bytes` written with a known schema of `kind`: the id.
fn decode_framed(
    by_id: &HashMap<u32, Result<Arc<Writer>, String>>,
    kind: Kind,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<u32, (&'static str, String)> {
    let (id, payload) = wire::unframe(bytes).map_err(|e| ("no_magic_byte", e.to_string()))?;
    let writer = match by_id.get(&id) {
        Some(Ok(writer)) => writer,
        Some(Err(reason)) => return Err(("unknown_schema", reason.clone())),
        None => return Err(("unknown_schema", format!("schema id {id} was not fetched (the registry did not answer)"))),
    };
    if writer.schema.kind() != kind {
        return Err((
            "wrong_schema_type",
            format!("schema id {id} is {}, not {}", writer.schema.kind().registry_name(), kind.registry_name()),
        ));
    }
    writer
        .schema
        .decode(payload, out)
        .map_err(|fit| ("undecodable", format!("does not decode with its writer schema (id {id}): {fit}")))?;
    Ok(id)
}

fn parse_writer(registered: RegisteredSchema, subject: Option<String>) -> Result<Writer, String> {
    let schema = Schema::parse(registered.kind, &registered.text, &registered.references).map_err(|e| e.to_string())?;
    Ok(Writer { id: registered.id, schema: Arc::new(schema), text: registered.text, references: registered.listed, subject })
}
