//! `eoshost relay`: publishes the rows of a PostgreSQL outbox table to Kafka
//! exactly once. Each Kafka transaction carries a batch of rows (a row's
//! `topic`, else the first `--output`; through `--plugin` when given) and the
//! relay's new [`Cursor`] on the progress topic; the rows are deleted from
//! the outbox only after that commit. A crash before the commit publishes
//! nothing (the transaction is aborted and the rows are read again); a crash
//! after it leaves rows that the cursor already covers, which are skipped
//! and deleted on restart. Rows are read in the order of their writing
//! transactions' ids, as numbers (see [`outbox`]).
//!
//! One fixed transactional.id per outbox table (`eoshost-relay-<table>`): a
//! second relay on the same table fences the first, which stops on
//! PRODUCER_FENCED with exit code 1. The producer is the pipeline's
//! supervised [`TransactionalProducer`], built from the same settings
//! ([`client::producer_config`]): its commit waits for the rows' acknowledgements
//! inside librdkafka, not in 100 ms polling slices.

mod checkpoint;
mod outbox;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use postgres::Client;

use crate::cli::{RelayArgs, parse_pair};
use crate::config::{librdkafka_settings, schema_registry_settings};
use crate::defaults;
use crate::events::{Event, OutboxHeldBack};
use crate::failure::Failure;
use crate::kafka::TopicPartition;
use crate::kafka::client::{self, Cluster};
use crate::kafka::errors::{TxnError, is_fenced};
use crate::kafka::producer::{CommitPhases, TransactionalProducer};
use crate::kafka::topics::{Admin, OwnTopic};
use crate::metrics::Metrics;
use crate::plugin::{InputRecord, OutputRecord, OutputTopics, SandboxLimits, assign_config};
use crate::policy::OnError;
use crate::processor::{Fate, OutputRules, Processor};
use crate::redact;
use crate::retry::{Backoff, sleep_unless_stopped};
use crate::scaffold::{Host, ProgressSettings};
use crate::schemas::{FormatSpec, RecordFormats};
use crate::sink::{connect, is_unavailable};
use crate::state::SharedState;
use crate::tables::Tables;
use outbox::{Cursor, OutboxError, OutboxRow};

/// How long the relay waits for Kafka at start (`init_transactions`).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(defaults::CONNECT_TIMEOUT_MS);
/// A transaction open longer than this anywhere in the database is logged:
/// it holds the relay back.
const HELD_BACK_WARNING_SECS: f64 = 10.0;

struct Relay {
    table: String,
    url: String,
    outputs: Vec<String>,
    progress_topic: String,
    batch_rows: usize,
    poll_interval: Duration,
    client: Option<Client>,
    producer: TransactionalProducer,
    /// `--plugin`, when given: each row goes through it.
    processor: Option<Processor>,
    /// `--output-*-format`: how the records are encoded (no input side:
    /// rows are bytes).
    formats: RecordFormats,
    on_error: OnError,
    cursor: Cursor,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    last_held_back_check: Instant,
}

/// Runs the relay until SIGTERM/SIGINT (exit 0) or a fatal error.
pub fn run(args: RelayArgs, stop: Arc<AtomicBool>) -> Result<(), Failure> {
    let outputs: Vec<String> = args.output.iter().filter(|t| !t.is_empty()).cloned().collect();
    if outputs.is_empty() {
        return Err(Failure::usage("--output is required: the topic(s) rows may go to, comma-separated"));
    }
    if args.batch_rows == 0 || args.poll_interval_ms == 0 {
        return Err(Failure::usage("--batch-rows and --poll-interval-ms must be greater than 0"));
    }
    let on_error = args.on_error.unwrap_or(OnError::Fail);
    if on_error == OnError::Dlq {
        return Err(Failure::usage(
            "the relay takes --on-error fail or skip: a row that fails stays in PostgreSQL, where it can be inspected \
             (there is no dead-letter topic for the relay)",
        ));
    }
    let typed = args.output_key_format.kind().is_some() || args.output_value_format.kind().is_some();
    if args.plugin.is_none() && args.max_retries.is_some() {
        return Err(Failure::usage("--max-retries applies to rows going through --plugin; add --plugin or drop it"));
    }
    if args.plugin.is_none() && !typed && args.on_error.is_some() {
        return Err(Failure::usage(
            "--on-error applies to rows going through --plugin or encoded with a schema (--output-value-format \
             avro, protobuf, json-schema); add one or drop it",
        ));
    }
    let progress_topic = args.progress_topic.clone().unwrap_or_else(|| format!("eoshost.relay.{}", args.outbox_table));
    let librdkafka = librdkafka_settings(BTreeMap::new(), &args.librdkafka)?;
    let metrics_addr = match &args.metrics_addr {
        None => None,
        Some(raw) => Some(raw.parse().map_err(|_| Failure::usage(format!("--metrics-addr \"{raw}\" is not HOST:PORT")))?),
    };
    crate::logging::log_relay_configuration(&args, &librdkafka);

    let progress = ProgressSettings { every: Duration::from_secs(defaults::PROGRESS_INTERVAL_S), lag_known: false };
    let host = Host::start(stop, metrics_addr, Some(progress))?;
    let (metrics, stop) = (host.metrics.clone(), host.stop.clone());

    let processor = match &args.plugin {
        None => None,
        Some(path) => {
            let mut config = Vec::new();
            for raw in &args.plugin_config {
                config.push(parse_pair("--plugin-config", raw).map_err(Failure::usage)?);
            }
            let specs = assign_config(std::slice::from_ref(path), config).map_err(Failure::usage)?;
            let (chain, state) =
                host.load_plugins(&specs, SandboxLimits::default(), || SharedState::new(0), &Tables::default())?;
            if state.is_some() {
                return Err(Failure::usage(format!(
                    "{} keeps state or timers (it imports state or timers), which the relay does not provide; use a stateless plugin",
                    path.display()
                )));
            }
            let rules = OutputRules {
                topics: Some(OutputTopics::new(outputs.clone())),
                max_message_bytes: Some(client::max_message_bytes(&librdkafka)),
            };
            let max_retries = args.max_retries.unwrap_or(defaults::MAX_RETRIES);
            Some(Processor::new(chain, rules, on_error, max_retries, None, metrics.clone()))
        }
    };
    if host.stopping() {
        return host.stopped_during_start_up();
    }
    let Some(formats) = RecordFormats::start(relay_formats(&args)?, &outputs, metrics.clone(), &stop)? else {
        return host.stopped_during_start_up();
    };

    let (_, mut client) = connect(&args.postgres_url).map_err(|e| match e {
        crate::sink::DbError::Fatal(message) => Failure::usage(message),
        crate::sink::DbError::Unavailable(message) => Failure::Fatal(anyhow::anyhow!(
            "{message}; check --postgres-url and that the server is up (for a local server: scripts/postgres start)"
        )),
        // Connecting refuses no record.
        other => Failure::Fatal(anyhow::anyhow!("{other}")),
    })?;
    outbox::prepare(&mut client, &args.outbox_table).map_err(|e| match e {
        OutboxError::Database(error) => Failure::Fatal(anyhow::anyhow!("cannot prepare the outbox table: {error}")),
        other => Failure::usage(other),
    })?;

    let cluster = Cluster {
        bootstrap: &args.bootstrap_servers,
        librdkafka: &librdkafka,
        connect_timeout: CONNECT_TIMEOUT,
        name: &format!("relay-{}", args.outbox_table),
        topics: outputs.iter().map(|t| (t.as_str(), "output")).collect(),
    };
    if !cluster.wait(&stop)? {
        return host.stopped_during_start_up();
    }
    let admin_client =
        client::connection_config(&args.bootstrap_servers, &librdkafka, &format!("eoshost-relay-admin-{}", args.outbox_table));
    Admin::new(&admin_client)?.ensure_compacted(&OwnTopic {
        name: &progress_topic,
        role: "progress topic",
        option: "--progress-topic",
        partitions: 1,
        settings: &[],
    })?;
    if host.stopping() {
        return host.stopped_during_start_up();
    }
    let transactional_id = format!("eoshost-relay-{}", args.outbox_table);
    let producer_config = client::producer_config(&args.bootstrap_servers, &librdkafka, &transactional_id);
    // Its init_transactions fences a previous relay of this table and ends
    // its open transaction, so the progress read next is final.
    let producer = match TransactionalProducer::create(producer_config, metrics.clone(), stop.clone(), CONNECT_TIMEOUT) {
        Ok(_) | Err(_) if host.stopping() => return host.stopped_during_start_up(),
        Ok(producer) => producer,
        Err(error) => return Err(Failure::Fatal(error.context(format!("starting the relay's producer ({transactional_id})")))),
    };
    let reader =
        client::connection_config(&args.bootstrap_servers, &librdkafka, &format!("eoshost-relay-progress-{}", args.outbox_table));
    let Some(cursor) = checkpoint::read_back(reader, &progress_topic, &args.outbox_table, Duration::from_secs(60), &stop)
        .map_err(Failure::Fatal)?
    else {
        return host.stopped_during_start_up();
    };
    tracing::info!(
        table = %args.outbox_table, outputs = ?outputs, progress_topic = %progress_topic, %transactional_id,
        cursor = ?cursor, url = %redact::urls(&args.postgres_url), "relay started"
    );
    metrics.set_ready(true);
    let mut relay = Relay {
        table: args.outbox_table.clone(),
        url: args.postgres_url.clone(),
        outputs,
        progress_topic,
        batch_rows: args.batch_rows,
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        client: Some(client),
        producer,
        processor,
        formats,
        on_error,
        cursor,
        metrics,
        stop,
        last_held_back_check: Instant::now(),
    };
    relay.delete_published();
    relay.run()
}

impl Relay {
    fn run(mut self) -> Result<(), Failure> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        while !self.stop.load(Ordering::Acquire) {
            self.metrics.loop_alive();
            match self.step() {
                Ok(published) => {
                    backoff.reset();
                    if published == 0 {
                        sleep_unless_stopped(self.poll_interval, &self.stop);
                    }
                }
                Err(StepError::Database(error)) => {
                    tracing::warn!("PostgreSQL: {error}; retrying");
                    self.client = None;
                    backoff.wait(&self.stop);
                }
                Err(StepError::Fatal(failure)) => return Err(failure),
                Err(StepError::Stopping) => break,
            }
        }
        tracing::info!("stopped cleanly");
        Ok(())
    }

    fn client(&mut self) -> Result<&mut Client, String> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            let (_, client) = connect(&self.url).map_err(|e| e.to_string())?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// One batch: read, publish with the progress, delete. Returns how many
    /// rows were published.
    fn step(&mut self) -> Result<usize, StepError> {
        let (table, cursor, limit) = (self.table.clone(), self.cursor, self.batch_rows);
        let client = self.client().map_err(StepError::Database)?;
        let horizon = outbox::horizon(client).map_err(StepError::db)?;
        let rows = outbox::read(client, &table, cursor, horizon, limit).map_err(StepError::db)?;
        if rows.is_empty() {
            if horizon > self.cursor.xid {
                // Nothing below the horizon is left: skip ahead (in memory;
                // the next published batch records it).
                self.cursor = Cursor { xid: horizon, id: 0 };
            }
            self.warn_if_held_back();
            return Ok(0);
        }
        let last = rows.last().expect("not empty").next_cursor();
        let next = if rows.len() < limit { last.max(Cursor { xid: horizon, id: 0 }) } else { last };
        let records = self.transform(&rows)?;
        let started = Instant::now();
        match self.publish(&records, next) {
            Ok(()) => {}
            Err(TxnError::Abortable(error)) => {
                tracing::warn!("{error}; aborting and publishing the same rows again");
                self.metrics.transaction_aborted();
                let aborted = self.producer.abort();
                if let Some((_, refused)) = self.producer.take_refused().first() {
                    tracing::warn!("Kafka refused a row of that batch: {refused}");
                }
                match aborted {
                    Ok(()) | Err(TxnError::Abortable(_)) => return Ok(0),
                    Err(error) => return Err(StepError::Fatal(fatal(&self.table, &error))),
                }
            }
            Err(error) => return Err(StepError::Fatal(fatal(&self.table, &error))),
        }
        self.metrics.transaction_committed(started.elapsed(), records.len() as u64, 0, 0);
        if let Some(processor) = &mut self.processor {
            // Published rows never come back: no decision about them is kept.
            processor.committed(&[(TopicPartition::new(self.table.clone(), 0), i64::MAX)]);
        }
        self.cursor = next;
        self.delete_published();
        self.warn_if_held_back();
        Ok(rows.len())
    }

    /// The rows as Kafka records: through the plugin when there is one (in
    /// one `transform-batch` call when it takes batches).
    fn transform(&mut self, rows: &[OutboxRow]) -> Result<Vec<(String, OutputRecord)>, StepError> {
        let inputs: Vec<InputRecord> = match &mut self.processor {
            None => Vec::new(),
            Some(processor) => {
                let inputs: Vec<InputRecord> = rows.iter().map(|row| outbox_record(&self.table, row)).collect();
                processor.prepare(&inputs);
                inputs
            }
        };
        let mut records = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            let row_topic = row.topic.clone().unwrap_or_else(|| self.outputs[0].clone());
            let mut outputs = match &mut self.processor {
                None => vec![OutputRecord {
                    topic: None,
                    key: row.key.clone(),
                    value: row.value.clone(),
                    headers: row.headers.clone(),
                }],
                Some(processor) => transform_row(processor, &self.table, &inputs[index], &self.stop)?,
            };
            for output in &mut outputs {
                output.topic.get_or_insert_with(|| row_topic.clone());
            }
            if self.formats.typed()
                && let Err(rejection) = self.formats.encode(&mut outputs, None)
            {
                if self.on_error != OnError::Skip {
                    return Err(StepError::Fatal(Failure::RecordFailed(anyhow::anyhow!(
                        "outbox row {} of {}: {}; it was not published (nor any row after it). Fix the row or the \
                         schema, or run the relay with --on-error skip",
                        row.id,
                        self.table,
                        rejection.reason
                    ))));
                }
                tracing::warn!(row = row.id, table = %self.table, "outbox row skipped: {}", rejection.reason);
                outputs.clear();
            }
            for output in outputs {
                let topic = output.topic.clone().unwrap_or_else(|| row_topic.clone());
                if !self.outputs.contains(&topic) {
                    return Err(StepError::Fatal(Failure::usage(format!(
                        "outbox row {} of {} goes to topic \"{topic}\", which is not in --output ({}); add it to --output",
                        row.id,
                        self.table,
                        self.outputs.join(",")
                    ))));
                }
                records.push((topic, output));
            }
        }
        Ok(records)
    }

    /// One Kafka transaction: the records and the progress record. On
    /// error the transaction is still open: the caller aborts it or stops.
    fn publish(&mut self, records: &[(String, OutputRecord)], next: Cursor) -> Result<(), TxnError> {
        self.producer.begin()?;
        // Inside a transaction a refused record makes the commit fail; why
        // it was refused is read after the abort.
        for (topic, record) in records {
            self.producer.send(topic, record, None, None, 0).map_err(TxnError::from_refused_send)?;
        }
        let value = checkpoint::encode(&self.table, next);
        self.producer
            .send_to_partition(&self.progress_topic, checkpoint::PROGRESS_PARTITION, self.table.as_bytes(), Some(&value), 0)
            .map_err(TxnError::from_refused_send)?;
        self.producer.commit(None, &mut CommitPhases::default())
    }

    /// Deletes rows the cursor covers; a failure is only logged (they are
    /// skipped anyway and deleted next time).
    fn delete_published(&mut self) {
        let (table, cursor) = (self.table.clone(), self.cursor);
        let result = self.client().and_then(|client| outbox::delete_before(client, &table, cursor).map_err(|e| e.to_string()));
        match result {
            Ok(deleted) => tracing::debug!(deleted, "deleted published rows"),
            Err(error) => tracing::warn!("cannot delete published rows yet: {error}; retrying after the next batch"),
        }
    }

    /// Sets `eoshost_relay_held_back_seconds` (every second at most) and
    /// warns ([`OutboxHeldBack`], rate-limited) while a long transaction
    /// holds rows back.
    fn warn_if_held_back(&mut self) {
        if self.last_held_back_check.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last_held_back_check = Instant::now();
        if let Ok(age) = self.client().and_then(|c| outbox::oldest_transaction_age(c).map_err(|e| e.to_string())) {
            self.metrics.set_relay_held_back(age);
            if age > HELD_BACK_WARNING_SECS {
                OutboxHeldBack { seconds: age }.emit(&self.metrics);
            }
        }
    }
}

/// The relay's output formats (rows are read as bytes).
fn relay_formats(args: &RelayArgs) -> Result<FormatSpec, Failure> {
    let registry_config = schema_registry_settings(BTreeMap::new(), &args.schema_registry_config)?;
    Ok(FormatSpec {
        output_key: args.output_key_format,
        output_value: args.output_value_format,
        output_key_schema: args.output_key_schema.clone(),
        output_value_schema: args.output_value_schema.clone(),
        strategy: args.subject_name_strategy,
        registry_url: args.schema_registry_url.clone(),
        registry_config,
        ..FormatSpec::default()
    })
}

/// An outbox row as the plugin sees it: the table as its topic, the row's
/// id as its offset.
fn outbox_record(table: &str, row: &OutboxRow) -> InputRecord {
    InputRecord {
        topic: table.to_owned(),
        partition: 0,
        offset: row.id,
        timestamp: None,
        key: row.key.clone(),
        value: row.value.clone(),
        headers: row.headers.clone(),
    }
}

/// One row (`record`, from [`outbox_record`]) through the processor; a trap
/// is retried at once on a fresh instance (nothing of the batch is sent
/// yet), up to `--max-retries`, then `--on-error` applies: a skipped row
/// publishes nothing.
fn transform_row(
    processor: &mut Processor,
    table: &str,
    record: &InputRecord,
    stop: &AtomicBool,
) -> Result<Vec<OutputRecord>, StepError> {
    loop {
        if !processor.wait_for_instances(stop) {
            // Stopping: the batch is not published; it is read again.
            return Err(StepError::Stopping);
        }
        match processor.process(record).map_err(StepError::Fatal)? {
            Fate::Write(outputs) => return Ok(outputs),
            Fate::Retry => {}
            Fate::Skip(_) => return Ok(Vec::new()),
            Fate::Fail(error) | Fate::DeadLetter(error) => {
                return Err(StepError::Fatal(Failure::RecordFailed(anyhow::anyhow!(
                    "outbox row {} of {table} failed in the plugin: {error}; it was not published (nor any row after \
                     it). Fix the plugin or the row, or run the relay with --on-error skip",
                    record.offset
                ))));
            }
        }
    }
}

/// The relay's end after `error`.
fn fatal(table: &str, error: &TxnError) -> Failure {
    match error {
        TxnError::Fatal(kafka) if is_fenced(kafka) => Failure::Fatal(anyhow::anyhow!(
            "{error}: another relay for outbox table {table} took over (same transactional.id); this one stops"
        )),
        _ => Failure::Fatal(anyhow::anyhow!("{error}; restart the relay (it resumes from its progress topic)")),
    }
}

enum StepError {
    Database(String),
    Fatal(Failure),
    /// A stop came while a batch was being prepared: nothing of it was sent.
    Stopping,
}

impl StepError {
    fn db(error: postgres::Error) -> StepError {
        if is_unavailable(&error) {
            StepError::Database(error.to_string())
        } else {
            StepError::Fatal(Failure::Fatal(anyhow::anyhow!("PostgreSQL refused the relay's query: {error}")))
        }
    }
}
