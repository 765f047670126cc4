//! `--sink postgres`: the exactly-once loop into PostgreSQL. A read_committed
//! consumer feeds the plugin; each input's outputs become rows of `--table`
//! and the partitions' next offsets go to `eoshost_offsets` in the same
//! database transaction, every `--commit-interval-ms` or
//! `--transaction-max-records`. There is no producer and no Kafka
//! transaction: the database is the single place where progress lives, so
//! a crash anywhere leaves rows and offsets agreeing.
//!
//! A trap is retried on a fresh instance at once (nothing of the record is
//! in the batch yet) until `--max-retries`, then `--on-error` applies as in
//! the pipeline; dead letters go to `NAME_dead_letters` in the same
//! transaction. While the database is unavailable the batch is kept, every
//! partition is paused, and the consumer keeps polling (the group session
//! stays alive) while commits are retried with backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::batch::{Batch, Partition};
use super::columns::UserTable;
use super::database::{Database, DbError, OpenError, Outcome};
use super::partitions::{Committed, SinkContext, SinkState, set_paused};
use crate::config::{Config, PostgresSink};
use crate::events::{Event, RecordDeadLettered};
use crate::failure::Failure;
use crate::kafka::client;
use crate::kafka::reading;
use crate::metrics::Metrics;
use crate::plugin::{InputRecord, OutputTopics};
use crate::policy::RecordId;
use crate::processor::{Fate, OutputRules, Processor};
use crate::retry::Backoff;
use crate::scaffold::{Host, ProgressSettings};
use crate::schemas::RecordFormats;
use crate::state::SharedState;
use crate::tables::Tables;

/// Longest wait between retries while the database is unavailable.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Runs the sink until SIGTERM/SIGINT (exit 0) or a fatal error.
pub fn run(config: Config, stop: Arc<AtomicBool>) -> Result<(), Failure> {
    let sink = config.postgres.clone().ok_or_else(|| Failure::usage("--sink postgres needs --postgres-url and --table"))?;
    let statistics = client::consumer_statistics(&config);
    let progress = config.progress_interval.map(|every| ProgressSettings { every, lag_known: statistics });
    let host = Host::start(stop, config.metrics_addr, progress)?;
    let outcome = match PostgresSinkLoop::start(config, sink, &host)? {
        Some(sink) => sink.run(),
        None => host.stopped_during_start_up(),
    };
    host.finish(outcome)
}

struct PostgresSinkLoop {
    config: Config,
    consumer: BaseConsumer<SinkContext>,
    processor: Processor,
    /// The record being processed, its buffers reused.
    record: InputRecord,
    /// `--columns auto`: the user's table, which each output is checked
    /// against and converted for.
    user_table: Option<Arc<UserTable>>,
    /// A plugin keeps state: each batch commits before the next record.
    stateful: bool,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    /// Set while the database is unavailable: every partition is paused and
    /// the next attempt waits until then.
    retry_at: Option<Instant>,
    backoff: Backoff,
}

/// Where a partition with no offset row starts (`-X auto.offset.reset`).
fn reset_offset(config: &Config) -> Offset {
    match config.librdkafka_value::<String>("auto.offset.reset").as_deref() {
        Some("latest" | "largest" | "end") => Offset::End,
        _ => Offset::Beginning,
    }
}

/// Opens the database, waiting up to `--connect-timeout-ms` for it.
/// `None`: a stop came while waiting.
fn open_database(sink: &PostgresSink, config: &Config, stateful: bool, stop: &AtomicBool) -> Result<Option<Database>, Failure> {
    let started = Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(200), MAX_BACKOFF);
    loop {
        let plugin = config.plugin.file_stem().map_or("plugin".into(), |s| s.to_string_lossy());
        match Database::open(&sink.url, &config.group, &sink.table, sink.columns.clone(), config.on_error, &plugin, stateful) {
            Ok(database) => return Ok(Some(database)),
            Err(OpenError::Schema(error)) => return Err(Failure::usage(error)),
            Err(OpenError::UserTable(message)) => return Err(Failure::usage(message)),
            Err(OpenError::Connect(error @ (DbError::Fatal(_) | DbError::Refused { .. } | DbError::RefusedStateful(_)))) => {
                return Err(Failure::usage(error.to_string()));
            }
            Err(OpenError::Connect(DbError::Unavailable(message))) if started.elapsed() >= config.connect_timeout => {
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "{message} (gave up after {:.0?}); check --postgres-url and that the server is up (for a local \
                     server: scripts/postgres start)",
                    started.elapsed()
                )));
            }
            Err(OpenError::Connect(error)) => tracing::warn!("{error}; retrying"),
        }
        if !backoff.wait(stop) {
            return Ok(None);
        }
    }
}

impl PostgresSinkLoop {
    /// `None`: a stop came during start-up.
    fn start(config: Config, sink: PostgresSink, host: &Host) -> Result<Option<Self>, Failure> {
        let (metrics, stop) = (host.metrics.clone(), host.stop.clone());
        let tables = Tables::new(&config.tables, config.table_max_bytes);
        let state = || SharedState::new(config.state_max_bytes);
        let (chain, store) = host.load_plugins(&config.chain, config.limits, state, &tables)?;
        if let Some(timers) = chain.timer_plugins().first() {
            return Err(Failure::usage(format!(
                "plugin {timers} has timers (it exports timer-handler), which only the Kafka sink fires; run it \
                 without --sink postgres (its state alone would be kept in PostgreSQL)"
            )));
        }
        let Some(db) = open_database(&sink, &config, store.is_some(), &stop)? else { return Ok(None) };
        let user_table = db.user_table();
        let stateful = store.is_some();
        let state = SinkState::new(db, reset_offset(&config), metrics.clone(), store.clone());
        // Only the inputs (and tables) must exist: nothing is written to
        // --output topics (they only restrict what outputs may name).
        let inputs_only = Config { outputs: Vec::new(), dlq_topic: None, ..config.clone() };
        if !client::await_cluster(&inputs_only, &stop)?
            || !host.load_tables(&tables, &config.tables, client::table_reader_config(&config))?
        {
            return Ok(None);
        }
        let consumer: BaseConsumer<SinkContext> =
            client::member_consumer_config(&config, None, client::consumer_statistics(&config))
                .create_with_context(SinkContext::new(state, &config.bootstrap_servers))
                .map_err(|e| {
                    Failure::usage(format!("invalid Kafka consumer settings: {}", client::describe_create_error(&e, &config)))
                })?;
        reading::subscribe(&consumer, &config.inputs)?;
        tracing::info!(
            plugin = %config.plugin.display(), group = %config.group, inputs = ?config.inputs, table = %sink.table,
            "eoshost started (sink: postgres)"
        );
        let Some(formats) = RecordFormats::start(config.formats.clone(), &[], metrics.clone(), &stop)? else {
            return Ok(None);
        };
        metrics.set_ready(true);
        let rules = OutputRules {
            topics: (!config.outputs.is_empty()).then(|| OutputTopics::new(config.outputs.clone())),
            max_message_bytes: None,
        };
        Ok(Some(PostgresSinkLoop {
            processor: Processor::new(chain, rules, config.on_error, config.max_retries, store, metrics.clone())
                .with_formats(formats),
            record: reading::empty_record(),
            user_table,
            stateful,
            consumer,
            metrics,
            stop,
            retry_at: None,
            backoff: Backoff::new(Duration::from_millis(100), MAX_BACKOFF),
            config,
        }))
    }

    fn run(mut self) -> Result<(), Failure> {
        loop {
            self.metrics.loop_alive();
            if self.stop.load(Ordering::Acquire) {
                return self.shutdown();
            }
            if self.processor.ensure_instances().is_err() {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            let waiting = self.retry_at.is_some_and(|at| Instant::now() < at);
            if !waiting {
                self.seed_unseeded();
                if self.consumer.context().state().commit_ended() {
                    self.take_commit()?;
                }
                let (records, age, committing) = {
                    let state = self.consumer.context().state();
                    (state.batch.records, state.batch.age(), state.committing())
                };
                let full = records >= self.config.transaction_max_records;
                let due = full || age >= self.config.commit_interval;
                if records > 0 && (due || self.retry_at.is_some()) {
                    if committing {
                        // One commit in flight: a full batch waits for it.
                        if full {
                            self.take_commit()?;
                        }
                    } else if self.stateful {
                        self.commit_now()?;
                    } else {
                        self.consumer.context().state().start_commit();
                    }
                    if full || !committing {
                        continue;
                    }
                }
            }
            let wait = if self.retry_at.is_some() { Duration::from_millis(100) } else { Duration::from_millis(20) };
            match self.consumer.poll(wait) {
                None => {}
                Some(Err(error)) => {
                    if let Some(message) = reading::poll_error(&error, &self.consumer, &self.config.group, &self.metrics) {
                        return Err(Failure::usage(message));
                    }
                }
                Some(Ok(message)) => {
                    let mut record = std::mem::replace(&mut self.record, reading::empty_record());
                    reading::fill_record(&mut record, &message);
                    drop(message);
                    let processed = self.process(&record);
                    self.record = record;
                    processed?;
                }
            }
        }
    }

    /// Points partitions assigned while the database was down (or re-read
    /// after a stale batch) at the database's offsets, and resumes them.
    fn seed_unseeded(&mut self) {
        let unseeded = self.consumer.context().state().unseeded();
        if unseeded.is_empty() {
            return;
        }
        set_paused(&self.consumer, &unseeded, true);
        let seeded = self.consumer.context().state().seed(&unseeded, &self.consumer);
        match seeded {
            Ok(targets) => {
                if let Err(error) = self.seek(targets) {
                    tracing::warn!("cannot seek to the database's offsets yet: {error}; retrying");
                    self.consumer.context().state().redo_from_database();
                    return;
                }
                tracing::info!(partitions = %Partition::list(&unseeded), "resuming at the database's offsets");
                let batch_empty = self.consumer.context().state().batch.is_empty();
                if self.retry_at.is_none() {
                    set_paused(&self.consumer, &unseeded, false);
                } else if batch_empty {
                    // The database answers and nothing waits to commit.
                    self.database_back();
                }
            }
            Err(error) => self.database_unavailable(&error),
        }
    }

    /// Seeks each partition to its start.
    fn seek(&self, targets: TopicPartitionList) -> anyhow::Result<()> {
        reading::seek(&self.consumer, targets)
    }

    fn assigned(&self) -> Vec<Partition> {
        self.consumer.context().state().partitions.keys().cloned().collect()
    }

    fn database_unavailable(&mut self, error: &DbError) {
        if self.retry_at.is_none() {
            tracing::warn!("{error}; pausing every partition and retrying (the open batch is kept)");
            set_paused(&self.consumer, &self.assigned(), true);
        } else {
            tracing::debug!("{error}; retrying");
        }
        self.retry_at = Some(Instant::now() + self.backoff.next_delay());
    }

    fn database_back(&mut self) {
        if self.retry_at.take().is_some() {
            tracing::info!("PostgreSQL answers again; resuming every partition");
            let seeded: Vec<Partition> = {
                let state = self.consumer.context().state();
                state.partitions.iter().filter(|(_, s)| s.seeded).map(|(p, _)| p.clone()).collect()
            };
            set_paused(&self.consumer, &seeded, false);
        }
        self.backoff.reset();
    }

    /// Takes in the outcome of the commit in flight (waiting for it).
    fn take_commit(&mut self) -> Result<(), Failure> {
        let result = self.consumer.context().state().finish_commit(&self.consumer);
        self.after_commit(result)
    }

    /// Commits the open batch and waits for it (a stateful plugin's: its
    /// state writes must be final before the next record's).
    fn commit_now(&mut self) -> Result<(), Failure> {
        self.consumer.context().state().start_commit();
        self.take_commit()
    }

    fn after_commit(&mut self, result: Result<Option<Committed>, DbError>) -> Result<(), Failure> {
        match result {
            Ok(None) => Ok(()),
            Ok(Some(Committed { outcome: Outcome::Committed, next })) => {
                self.processor.committed(&next);
                self.database_back();
                Ok(())
            }
            Ok(Some(Committed { outcome: Outcome::Stale(_), .. })) => {
                self.database_back();
                Ok(())
            }
            Err(error @ DbError::Unavailable(_)) => {
                self.database_unavailable(&error);
                Ok(())
            }
            Err(DbError::Fatal(message)) => Err(Failure::Fatal(anyhow::anyhow!("{message}"))),
            Err(DbError::RefusedStateful(refused)) => {
                tracing::warn!(
                    records = refused.len(),
                    "PostgreSQL refused rows of the batch; it is processed again, those records going to --on-error"
                );
                for (record, error) in refused {
                    self.processor.condemn(record, error);
                }
                self.consumer.context().state().redo_from_database();
                Ok(())
            }
            Err(DbError::Refused { record, error }) => Err(Failure::RecordFailed(anyhow::anyhow!(
                "record at {record} failed: {error}. Its offset was not committed (nor the open batch). Fix the row \
                 or the table, or run with --on-error skip or --on-error dlq"
            ))),
        }
    }

    /// One record through the processor (a trap is retried at once on a
    /// fresh instance: nothing of the record is in the batch yet), then its
    /// rows, dead letter or skip go into the batch.
    fn process(&mut self, record: &InputRecord) -> Result<(), Failure> {
        let partition = Partition::new(record.topic.clone(), record.partition);
        let base = {
            let state = self.consumer.context().state();
            match state.partitions.get(&partition) {
                // Not (or no longer) ours, not yet seeded, or fetched before
                // a seek back: dropped; it comes again in order.
                Some(p) if p.seeded && p.position.is_none_or(|next| record.offset >= next) => p.submitted.or(p.committed),
                _ => return Ok(()),
            }
        };
        // A registry outage holds the record (and the loop) until it ends.
        if !self.processor.wait_for_schemas(std::slice::from_ref(record), &self.stop) {
            return Ok(());
        }
        let fate = loop {
            match self.processor.process(record)? {
                Fate::Retry => {
                    if !self.processor.wait_for_instances(&self.stop) {
                        // Stopping: the record is read again by the next owner.
                        return Ok(());
                    }
                }
                fate => break fate,
            }
        };
        // Under --columns auto, outputs that do not fit the table reject the record.
        let fate = match (fate, &self.user_table) {
            (Fate::Write(outputs), Some(table)) => match outputs.iter().map(|output| table.change(output)).collect() {
                Ok(changes) => {
                    self.accept(&partition, record.offset, |batch| batch.add_changes(record, changes, base));
                    return Ok(());
                }
                Err(reason) => self.processor.reject(record, reason),
            },
            (fate, _) => fate,
        };
        match fate {
            Fate::Retry => unreachable!("retried above"),
            Fate::Write(outputs) => {
                self.accept(&partition, record.offset, |batch| batch.add_outputs(record, outputs, base));
                Ok(())
            }
            Fate::Fail(error) => {
                self.consumer.context().state().batch.clear();
                Err(Failure::RecordFailed(anyhow::anyhow!(
                    "record at {} failed: {error}. Its offset was not committed (nor the open batch). Fix the \
                     plugin or the record, or run with --on-error skip or --on-error dlq",
                    RecordId::of(record)
                )))
            }
            Fate::Skip(_) => {
                self.accept(&partition, record.offset, |batch| batch.add_skipped(record, base));
                Ok(())
            }
            Fate::DeadLetter(error) => {
                RecordDeadLettered { record: &RecordId::of(record), destination: "the dead-letter table", error: &error }
                    .emit(&self.metrics);
                let plugin = self.processor.plugin_name().to_owned();
                self.accept(&partition, record.offset, |batch| batch.add_dead_letter(record, error, &plugin, base));
                Ok(())
            }
        }
    }

    fn accept(&self, partition: &Partition, offset: i64, add: impl FnOnce(&mut Batch)) {
        let mut state = self.consumer.context().state();
        add(&mut state.batch);
        if let Some(p) = state.partitions.get_mut(partition) {
            p.position = Some(offset + 1);
        }
    }

    /// Commits the open batch (a few attempts if the database is briefly
    /// away), then leaves the group.
    fn shutdown(mut self) -> Result<(), Failure> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let result = self.consumer.context().state().commit_batch(&self.consumer);
            match result {
                Ok(_) => break,
                Err(DbError::Unavailable(message)) if Instant::now() < deadline => {
                    tracing::debug!("{message}; retrying the last commit");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(error) => {
                    tracing::warn!("{error}; stopping without the open batch (it is read again on restart)");
                    break;
                }
            }
        }
        self.retry_at = None;
        self.consumer.unsubscribe();
        drop(self.consumer);
        tracing::info!("stopped cleanly");
        Ok(())
    }
}
