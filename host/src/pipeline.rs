//! The exactly-once loop (EOS v2): poll a read_committed consumer, call the
//! plugin once per record, queue its outputs in the open transaction, and
//! commit outputs and input offsets together every `--commit-interval-ms` or
//! `--transaction-max-records`. Every abort rewinds the consumer to the
//! committed offsets, so nothing is lost and nothing is written twice.
//!
//! The loop reads: it drains the consumer's prefetched records in batches,
//! asks the [`Processor`] what becomes of each record (`processor.rs`: the
//! plugins, the output checks, the poison policy), carries that out in the
//! open [`Transaction`] (`kafka/transaction.rs`: queue, commit, abort),
//! commits when the transaction is due, and rewinds when an abort asks for
//! it. A plugin's timers fire in the same transactions: stream-time timers
//! right after the record that made them due, wall-clock timers between
//! batches ([`Pipeline::fire_wall_timers`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::config::Config;
use crate::events::{Event, RecordDeadLettered, TimerDropped};
use crate::failure::Failure;
use crate::kafka::client;
use crate::kafka::context::PipelineContext;
use crate::kafka::membership::Membership;
use crate::kafka::producer::TransactionalProducer;
use crate::kafka::reading;
use crate::kafka::slot;
use crate::kafka::transaction::{Settings, Transaction};
use crate::metrics::Metrics;
use crate::plugin::{self, InputRecord, OutputTopics};
use crate::policy::{RecordId, dead_letter, timer_dead_letter};
use crate::processor::{Fate, Firing, OutputRules, Processor, TimedOutput, TimerFate};
use crate::scaffold::{Host, ProgressSettings};
use crate::schemas::RecordFormats;
use crate::state::{self, Changelog, SharedState};
use crate::tables::Tables;

/// Bound on one rewind (committed-offset fetch and seeks).
const REWIND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the pipeline until SIGTERM/SIGINT (exit 0) or a fatal error.
pub fn run(config: Config, stop: Arc<AtomicBool>) -> Result<(), Failure> {
    let statistics = client::consumer_statistics(&config);
    let progress = config.progress_interval.map(|every| ProgressSettings { every, lag_known: statistics });
    let host = Host::start(stop, config.metrics_addr, progress)?;
    let outcome = match Pipeline::start(config, &host)? {
        Some(pipeline) => pipeline.run(),
        None => host.stopped_during_start_up(),
    };
    host.finish(outcome)
}

/// Records read in one go from the consumer's prefetch queue before they
/// are processed: enough to amortise taking the transaction's lock, few
/// enough that a commit is never late by more than a few milliseconds.
const BATCH: usize = 256;

struct Pipeline {
    consumer: BaseConsumer<PipelineContext>,
    /// What the consumer was built from, to build its replacement after a
    /// fencing of its membership ([`Pipeline::rejoin`]).
    consumer_config: ClientConfig,
    inputs: Vec<String>,
    membership: Membership,
    processor: Processor,
    /// `--dlq-topic`, set exactly when `--on-error dlq`.
    dlq_topic: Option<String>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    group: String,
    /// Reused record buffers, so reading allocates nothing once warm.
    batch: Vec<InputRecord>,
    filled: usize,
    /// The state store and its changelog, when the plugin is stateful.
    changelog: Option<Changelog>,
    _slot: Option<slot::Slot>,
}

impl Pipeline {
    /// Builds the pipeline: plugins, the changelog topic of a stateful
    /// chain, the tables (loaded), the producer (`init_transactions`), the
    /// consumer, subscribed.
    /// `None`: a stop came during start-up.
    fn start(config: Config, host: &Host) -> Result<Option<Self>, Failure> {
        let (metrics, stop) = (host.metrics.clone(), host.stop.clone());
        let max_message_bytes = client::max_message_bytes(&config.librdkafka);
        let tables = Tables::new(&config.tables, config.table_max_bytes);
        let state = || {
            let state = SharedState::new(config.state_max_bytes);
            // Room for the record's framing and headers.
            state.lock().limit_entries(max_message_bytes.saturating_sub(1024));
            state
        };
        let (chain, state) = host.load_plugins(&config.chain, config.limits, state, &tables)?;
        if host.stopping() {
            return Ok(None);
        }
        let (transactional_id, slot) = match &config.transactional_id {
            Some(id) => (id.clone(), None),
            None => {
                let slot = slot::acquire(&config.group)?;
                (slot.transactional_id.clone(), Some(slot))
            }
        };

        if !client::await_cluster(&config, &stop)?
            || !host.load_tables(&tables, &config.tables, client::table_reader_config(&config))?
        {
            return Ok(None);
        }
        let changelog = match &state {
            None => None,
            Some(state) => {
                let mut client = client::member_consumer_config(&config, None, false);
                client.remove("group.id");
                client.set("client.id", format!("eoshost-state-{}", config.group));
                state::changelog::ensure_topic(&client, &config)?;
                Some(Changelog {
                    topic: config.state_topic.clone(),
                    state: state.clone(),
                    client,
                    restore_patience: client::transaction_timeout(&config) + state::RESTORE_MARGIN,
                })
            }
        };
        if host.stopping() {
            return Ok(None);
        }
        let producer = match TransactionalProducer::create(
            client::producer_config(&config.bootstrap_servers, &config.librdkafka, &transactional_id),
            metrics.clone(),
            stop.clone(),
            config.connect_timeout,
        ) {
            Ok(_) | Err(_) if host.stopping() => return Ok(None),
            Ok(producer) => producer,
            Err(error) => return Err(Failure::Fatal(error)),
        };
        let Some(formats) = RecordFormats::start(config.formats.clone(), &config.outputs, metrics.clone(), &stop)? else {
            return Ok(None);
        };
        let membership = Membership::new(&config, &transactional_id);
        let outputs = OutputTopics::new(config.outputs.clone());
        let processor = Processor::new(
            chain,
            OutputRules { topics: Some(outputs.clone()), max_message_bytes: Some(max_message_bytes) },
            config.on_error,
            config.max_retries,
            state.clone(),
            metrics.clone(),
        )
        .with_formats(formats);
        let settings = Settings {
            outputs,
            commit_interval: config.commit_interval,
            max_records: config.transaction_max_records,
            membership: membership.clone(),
            changelog: changelog.clone(),
        };
        let context = PipelineContext::new(
            Transaction::new(producer, settings, metrics.clone()),
            metrics.clone(),
            &config.bootstrap_servers,
            state,
        );
        let consumer_config = client::member_consumer_config(&config, Some(&membership), client::consumer_statistics(&config));
        let consumer: BaseConsumer<PipelineContext> = consumer_config.create_with_context(context).map_err(|e| {
            Failure::usage(format!("invalid Kafka consumer settings: {}", client::describe_create_error(&e, &config)))
        })?;
        reading::subscribe(&consumer, &config.inputs)?;
        tracing::info!(
            plugins = %plugin::chain_paths(&config.chain), group = %config.group, transactional_id = %transactional_id,
            group_instance_id = membership.instance_id().unwrap_or("none (dynamic membership)"),
            inputs = ?config.inputs, outputs = ?config.outputs,
            state_topic = changelog.as_ref().map_or("none (stateless plugin)", |c| c.topic.as_str()), "eoshost started"
        );
        Ok(Some(Pipeline {
            group: config.group.clone(),
            consumer_config,
            inputs: config.inputs.clone(),
            membership,
            processor,
            dlq_topic: config.dlq_topic.clone(),
            consumer,
            metrics,
            stop,
            batch: Vec::new(),
            filled: 0,
            changelog,
            _slot: slot,
        }))
    }

    fn run(mut self) -> Result<(), Failure> {
        loop {
            self.metrics.loop_alive();
            if let Some(failure) = self.consumer.context().take_failure() {
                return Err(failure);
            }
            if let Some(fenced) = self.membership.fenced(&self.consumer) {
                self.rejoin(fenced)?;
                continue;
            }
            if self.stop.load(Ordering::Acquire) {
                return self.shutdown();
            }
            if self.consumer.context().transaction().take_rewind() {
                self.filled = 0;
                self.rewind()?;
            }
            self.restore_state()?;
            // Keep the instance ready outside any record's call.
            if self.processor.ensure_instances().is_err() {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            let wait = {
                let mut transaction = self.consumer.context().transaction();
                if transaction.due() {
                    transaction.commit(&self.consumer)?;
                    continue;
                }
                transaction.time_left().map_or(Duration::from_millis(100), |left| left.min(Duration::from_millis(50)))
            };
            let unreadable = self.read_batch(wait);
            self.process_batch()?;
            self.fire_wall_timers()?;
            if let Some(message) = unreadable {
                // What was read before the record that cannot be is committed.
                self.shutdown()?;
                return Err(Failure::usage(message));
            }
        }
    }

    /// Fills the batch: waits up to `wait` for the first record, then takes
    /// what is already prefetched without waiting. A rebalance while reading
    /// throws the batch away and rewinds: records read before it may belong
    /// to partitions this instance no longer owns. Returns the message of a
    /// consumer error that retrying cannot cure (an unsupported codec, a
    /// corrupt batch), which ends the run.
    fn read_batch(&mut self, wait: Duration) -> Option<String> {
        self.filled = 0;
        let rebalances = self.consumer.context().rebalances();
        let mut timeout = wait;
        while self.filled < BATCH {
            let polled = self.consumer.poll(timeout);
            timeout = Duration::ZERO;
            match polled {
                None => break,
                Some(Err(error)) => {
                    if let Some(message) = reading::poll_error(&error, &self.consumer, &self.group, &self.metrics) {
                        return Some(message);
                    }
                }
                Some(Ok(message)) => {
                    if self.batch.len() == self.filled {
                        self.batch.push(reading::empty_record());
                    }
                    reading::fill_record(&mut self.batch[self.filled], &message);
                    self.filled += 1;
                }
            }
            if self.consumer.context().rebalances() != rebalances {
                break;
            }
        }
        if self.consumer.context().rebalances() != rebalances {
            self.throw_away(0);
        }
        None
    }

    /// Drops the batch's records from `from` on, unprocessed, and leaves a
    /// rewind that reads them again.
    fn throw_away(&mut self, from: usize) {
        let mut transaction = self.consumer.context().transaction();
        for record in &self.batch[from..self.filled] {
            transaction.unread(record);
        }
        transaction.require_rewind();
        self.filled = 0;
    }

    /// Takes the batch's records one by one through the processor (a
    /// plugin that takes batches answers for them all in one call first)
    /// and carries out each one's fate in the open transaction, committing
    /// when it is due; stops at the first abort (the rest is read again).
    fn process_batch(&mut self) -> Result<(), Failure> {
        if !self.await_schemas()? {
            return Ok(());
        }
        self.processor.prepare(&self.batch[..self.filled]);
        let mut transaction = self.consumer.context().transaction();
        let mut done = 0;
        while done < self.filled {
            let record = &self.batch[done];
            transaction.inform(&mut self.processor);
            transaction.read(record);
            // A record that trapped before is retried alone.
            if self.processor.retry_alone(record) && transaction.records() > 0 {
                transaction.commit(&self.consumer)?;
                if transaction.rewind_is_pending() {
                    break;
                }
            }
            if !transaction.begin(&self.consumer)? {
                break;
            }
            let fate = match self.processor.process(record) {
                Ok(fate) => fate,
                Err(failure) => {
                    transaction.abort(&self.consumer)?;
                    return Err(failure);
                }
            };
            done += 1;
            match fate {
                Fate::Write(outputs) => {
                    if !transaction.write(record, &outputs, &self.consumer)? {
                        break;
                    }
                }
                Fate::Retry => {
                    transaction.abort(&self.consumer)?;
                    break;
                }
                Fate::Skip(_) => transaction.skip(record),
                Fate::DeadLetter(error) => {
                    let dlq = self.dlq_topic.as_deref().expect("--on-error dlq has a topic");
                    let destination = format!("\"{dlq}\"");
                    RecordDeadLettered { record: &RecordId::of(record), destination: &destination, error: &error }
                        .emit(&self.metrics);
                    transaction.dead_letter(record, &dead_letter(record, dlq, &error, self.processor.plugin_name()))?;
                }
                Fate::Fail(error) => {
                    transaction.abandon();
                    return Err(Failure::RecordFailed(anyhow::anyhow!(
                        "record at {} failed: {error}. Its offset was not committed. Fix the plugin or the record, or \
                         run with --on-error skip or --on-error dlq",
                        RecordId::of(record)
                    )));
                }
            }
            if self.processor.has_timers() {
                let firings = self.processor.fire_stream_timers(record)?;
                let dlq = self.dlq_topic.as_deref();
                if !carry_out(firings, &mut transaction, &self.consumer, dlq, self.processor.plugin_name(), &self.metrics)? {
                    break;
                }
            }
            if transaction.due() {
                transaction.commit(&self.consumer)?;
            }
            if transaction.rewind_is_pending() {
                break;
            }
        }
        drop(transaction);
        if done < self.filled {
            self.throw_away(done);
        }
        self.filled = 0;
        Ok(())
    }

    /// Makes sure the schemas of the batch's records are known before any
    /// is processed. While the Schema Registry is away, what the open
    /// transaction holds is committed (it would time out) and the loop
    /// waits; no record is rejected for it. `false`: the batch was given
    /// up (a stop, or the commit asked for a rewind).
    fn await_schemas(&mut self) -> Result<bool, Failure> {
        if self.processor.resolve_schemas(&self.batch[..self.filled]).is_ok() {
            return Ok(true);
        }
        {
            let mut transaction = self.consumer.context().transaction();
            if transaction.records() > 0 {
                transaction.commit(&self.consumer)?;
            }
        }
        if self.consumer.context().transaction().rewind_is_pending()
            || !self.processor.wait_for_schemas(&self.batch[..self.filled], &self.stop)
        {
            self.throw_away(0);
            return Ok(false);
        }
        Ok(true)
    }

    /// Fires the wall-clock timers that are due, on any partition this
    /// instance holds the state of (idle ones included), in the open
    /// transaction. Each firing's partition has its offset committed with
    /// it ([`Transaction::fire_on`]), so a zombie's firings are fenced.
    fn fire_wall_timers(&mut self) -> Result<(), Failure> {
        if !self.processor.wall_timers_due() {
            return Ok(());
        }
        let mut transaction = self.consumer.context().transaction();
        if transaction.rewind_is_pending() || !transaction.begin(&self.consumer)? {
            return Ok(());
        }
        let firings = self.processor.fire_wall_timers()?;
        if firings.is_empty() {
            return Ok(());
        }
        let mut positions = None;
        for firing in &firings {
            let (topic, partition) = (&firing.scope.topic, firing.scope.partition);
            let next = transaction.known_position(topic, partition).or_else(|| {
                let positions = positions.get_or_insert_with(|| self.consumer.position().ok());
                positions.as_ref()?.find_partition(topic, partition).and_then(|element| match element.offset() {
                    Offset::Offset(offset) => Some(offset),
                    _ => None,
                })
            });
            match next {
                Some(next) => transaction.fire_on(topic, partition, next),
                None => {
                    tracing::debug!(topic, partition, "no known position: a wall-clock timer's firing commits no offset there")
                }
            }
        }
        let dlq = self.dlq_topic.as_deref();
        carry_out(firings, &mut transaction, &self.consumer, dlq, self.processor.plugin_name(), &self.metrics)?;
        Ok(())
    }

    /// Moves every assigned partition back to its committed offset (where the
    /// group has none, to the first offset read since the assignment).
    fn rewind(&mut self) -> Result<(), Failure> {
        let assignment = self
            .consumer
            .assignment()
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot read the assignment to rewind: {e}")))?;
        if assignment.count() == 0 {
            return Ok(());
        }
        let committed = match client::committed_offsets(&self.consumer, &assignment, REWIND_TIMEOUT, &self.stop) {
            Ok(Some(committed)) => committed,
            // Stopping: nothing more is read, so there is nothing to rewind.
            Ok(None) => return Ok(()),
            Err(error) => {
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "cannot fetch committed offsets to rewind: {error}; restart eoshost (it resumes from the committed offsets)"
                )));
            }
        };
        let mut targets = TopicPartitionList::with_capacity(committed.count());
        {
            let transaction = self.consumer.context().transaction();
            for element in committed.elements() {
                let offset = match element.offset() {
                    Offset::Offset(offset) => offset,
                    _ => match transaction.first_read(element.topic(), element.partition()) {
                        Some(first) => first,
                        None => continue, // nothing read there since the assignment
                    },
                };
                targets
                    .add_partition_offset(element.topic(), element.partition(), Offset::Offset(offset))
                    .map_err(|e| Failure::Fatal(e.into()))?;
            }
        }
        self.seek(targets)
    }

    /// Restores the state of the partitions waiting for it (newly assigned,
    /// or every one after a commit whose outcome is unknown), which are
    /// paused meanwhile, then seeks them to the committed offsets the state
    /// belongs to and resumes them.
    fn restore_state(&mut self) -> Result<(), Failure> {
        let Some(changelog) = &self.changelog else { return Ok(()) };
        let Some(which) = changelog.state.lock().take_restore() else { return Ok(()) };
        let Some((targets, restored)) = state::restore::restore(&self.consumer, changelog, which, &self.stop)? else {
            return Ok(());
        };
        self.metrics.state_restored(restored.elapsed, restored.bytes);
        self.metrics.set_timers_pending(changelog.state.lock().timers_pending());
        self.seek(targets.clone())?;
        self.consumer
            .resume(&targets)
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot resume partitions after restoring their state: {e}")))
    }

    /// Seeks every partition of `targets` to its offset.
    fn seek(&self, targets: TopicPartitionList) -> Result<(), Failure> {
        reading::seek(&self.consumer, targets)
            .map_err(|error| Failure::Fatal(anyhow::anyhow!("{error}; restart eoshost (it resumes from the committed offsets)")))
    }

    /// The consumer's membership was fenced (FENCED_INSTANCE_ID, fatal to a
    /// librdkafka consumer). Unless the transaction says a newer instance
    /// owns the ids ([`Transaction::prepare_rejoin`]: then `fenced` is
    /// returned and eoshost exits with code 4), its open transaction is
    /// aborted and a new consumer with the same `group.instance.id` and the
    /// same transaction rejoins the group; it starts from the committed
    /// offsets. The fenced consumer is closed first, with nothing in flight,
    /// so its revoke callback has nothing to commit.
    fn rejoin(&mut self, fenced: Failure) -> Result<(), Failure> {
        tracing::warn!(
            "the consumer's group membership was fenced (FENCED_INSTANCE_ID); aborting the open transaction to rejoin"
        );
        self.consumer.context().transaction().prepare_rejoin(fenced, &self.consumer)?;
        let started = Instant::now();
        let replacement: BaseConsumer<PipelineContext> = self
            .consumer_config
            .create_with_context(self.consumer.context().for_replacement())
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot build a consumer to rejoin the group: {e}")))?;
        drop(std::mem::replace(&mut self.consumer, replacement));
        reading::subscribe(&self.consumer, &self.inputs)?;
        self.filled = 0;
        tracing::warn!(
            closed_in = ?started.elapsed(),
            group_instance_id = self.membership.instance_id().unwrap_or("none"),
            "the membership was fenced while this instance's producer was not (its own rejoin after a coordinator \
             failover, most often); rejoined the group with a new consumer, from the committed offsets"
        );
        Ok(())
    }

    /// Finishes the open transaction (commit, or abort when the commit fails
    /// with the short timeouts of a stop) and leaves the group.
    fn shutdown(self) -> Result<(), Failure> {
        self.consumer.context().transaction().finish(&self.consumer)?;
        self.consumer.unsubscribe();
        drop(self.consumer); // closes: leaves the group
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// Carries out timer firings in the open transaction, as `process_batch`
/// does records' fates: outputs queued, a dropped timer counted, a dead
/// letter naming the timer queued, an abort for a retry, a stop for
/// `--on-error fail`. `false`: the transaction was aborted (a rewind is
/// pending).
fn carry_out(
    firings: Vec<Firing>,
    transaction: &mut Transaction,
    consumer: &BaseConsumer<PipelineContext>,
    dlq_topic: Option<&str>,
    plugin: &str,
    metrics: &Metrics,
) -> Result<bool, Failure> {
    for firing in firings {
        // Named only when it is dropped or fails (not for every firing).
        let timer = || firing.describe();
        let written = match &firing.fate {
            TimerFate::Write(outputs) => transaction.write_timer(outputs, false, consumer)?,
            TimerFate::Retry => {
                transaction.abort(consumer)?;
                false
            }
            TimerFate::Skip(error) => {
                TimerDropped { timer: &timer(), destination: None, error }.emit(metrics);
                transaction.timer_dropped();
                true
            }
            TimerFate::DeadLetter(error) => {
                let dlq = dlq_topic.expect("--on-error dlq has a topic");
                let scope = &firing.scope;
                let destination = format!("\"{dlq}\"");
                TimerDropped { timer: &timer(), destination: Some(&destination), error }.emit(metrics);
                let letter = timer_dead_letter(&scope.topic, scope.partition, &firing.timer, dlq, error, plugin);
                let letter = TimedOutput { record: letter, timestamp: firing.timer.time, partition: None };
                transaction.write_timer(&[letter], true, consumer)?
            }
            TimerFate::Fail(error) => {
                transaction.abandon();
                let timer = timer();
                return Err(Failure::RecordFailed(anyhow::anyhow!(
                    "{timer} failed: {error}. Nothing of it was committed. Fix the plugin, or run with --on-error skip \
                     or --on-error dlq"
                )));
            }
        };
        if !written {
            return Ok(false);
        }
    }
    Ok(true)
}
