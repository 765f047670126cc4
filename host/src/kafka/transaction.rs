//! The Kafka transaction's lifecycle and the offsets it commits, owned by one
//! type: [`Transaction::begin`], then each processed record's outputs, dead
//! letter or skip queued with its offset ([`Transaction::write`],
//! [`Transaction::dead_letter`], [`Transaction::skip`]);
//! [`Transaction::commit`] sends the next offset of every partition read with
//! the consumer's group metadata (EOS v2, KIP-447) and commits; a failed
//! transactional call goes through [`Transaction::recover`] (abort, or
//! replace the producer), which leaves a rewind pending. The loop and the
//! rebalance callbacks use the same `commit` and `recover`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};

use super::TopicPartition;
use super::errors::{TxnError, is_fenced, is_permanent_produce_error};
use super::membership::{DUEL_WINDOW, Membership, Rejoins};
use super::producer::{CommitPhases, TransactionalProducer};
use crate::failure::Failure;
use crate::metrics::Metrics;
use crate::plugin::{InputRecord, OutputRecord, OutputTopics};
use crate::policy::RecordId;
use crate::processor::{Processor, TimedOutput};
use crate::state::Changelog;
use crate::state::changelog::encode_key;

/// The delivery opaque of changelog records: no input record to blame (a
/// refused one fails the commit, which restores the state).
const CHANGELOG_OPAQUE: usize = usize::MAX;
/// The delivery opaque of a timer's outputs: no input record to blame (a
/// refused one stops the run, since the timer would fire and be refused
/// again).
const TIMER_OPAQUE: usize = usize::MAX - 1;

/// What the transaction needs of the consumer whose offsets it commits:
/// the group metadata they are sent with (EOS v2, KIP-447), and whether the
/// broker fenced the membership. The consumer is one; a unit test may play
/// it.
pub trait GroupMember {
    fn group_metadata(&self) -> Option<ConsumerGroupMetadata>;
    /// The consumer's fatal error, if any (FENCED_INSTANCE_ID: a newer
    /// instance with the same `group.instance.id` took its place).
    fn fatal_error(&self) -> Option<(RDKafkaErrorCode, String)>;
}

impl<C: ConsumerContext> GroupMember for BaseConsumer<C> {
    fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        Consumer::group_metadata(self)
    }

    fn fatal_error(&self) -> Option<(RDKafkaErrorCode, String)> {
        self.client().fatal_error()
    }
}

/// What the transaction needs to know of the run.
pub struct Settings {
    pub outputs: OutputTopics,
    pub commit_interval: Duration,
    pub max_records: usize,
    /// How to tell that a newer instance with the same ids took over.
    pub membership: Membership,
    /// The state store and its changelog topic, when a plugin is stateful.
    pub changelog: Option<Changelog>,
}

/// A partition read since the last assignment.
struct Partition {
    topic: String,
    partition: i32,
    /// The first offset read since the assignment: where a rewind goes when
    /// the group has no committed offset there yet.
    first_read: i64,
    /// The next offset to commit, when the open transaction read from it.
    next: Option<i64>,
    /// The next offset this instance last committed there.
    committed: Option<i64>,
}

/// The counts of the open transaction.
struct Open {
    started: Instant,
    records: usize,
    produced: u64,
    dead_lettered: u64,
    skipped: u64,
    /// Timer firings carried out (outputs written, or dropped by the policy).
    timers_fired: u64,
    /// The record behind each queued output, by the delivery opaque it was
    /// sent with (an index here), so a refused output can be blamed.
    sources: Vec<Source>,
}

/// The input record behind queued outputs: its partition (an index into
/// `Transaction::partitions`), its offset, and whether the output is its
/// dead letter.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Source {
    partition: usize,
    offset: i64,
    dead_letter: bool,
}

/// The producer, the open transaction and the offsets read.
pub struct Transaction {
    producer: TransactionalProducer,
    settings: Settings,
    open: Option<Open>,
    partitions: Vec<Partition>,
    /// Index into `partitions` of the last record's partition: records come
    /// in runs from one partition, so this saves most searches.
    last_partition: usize,
    rewind_pending: bool,
    /// When the consumer rejoined after its membership was fenced
    /// ([`Transaction::prepare_rejoin`]).
    rejoins: Rejoins,
    /// What the poison policy must learn, kept until the loop passes it on
    /// ([`Transaction::inform`]): commits and refusals also happen in the
    /// rebalance callbacks, where the processor is out of reach.
    news: PolicyNews,
    metrics: Arc<Metrics>,
}

/// Commits and Kafka's refusals since the processor last heard of them.
#[derive(Default)]
struct PolicyNews {
    /// The next offset of every partition, per commit, in order.
    committed: Vec<Vec<(TopicPartition, i64)>>,
    /// Records one of whose outputs Kafka refused for good.
    refused: Vec<(RecordId, String)>,
}

impl Transaction {
    pub fn new(producer: TransactionalProducer, settings: Settings, metrics: Arc<Metrics>) -> Self {
        Transaction {
            producer,
            settings,
            open: None,
            partitions: Vec::new(),
            last_partition: 0,
            rewind_pending: false,
            rejoins: Rejoins::default(),
            news: PolicyNews::default(),
            metrics,
        }
    }

    /// Whether the open transaction has reached `--commit-interval-ms` or
    /// `--transaction-max-records`.
    pub fn due(&self) -> bool {
        self.open.as_ref().is_some_and(|open| {
            open.records >= self.settings.max_records || open.started.elapsed() >= self.settings.commit_interval
        })
    }

    /// How long the loop may wait for input before the open transaction is
    /// due.
    pub fn time_left(&self) -> Option<Duration> {
        self.open.as_ref().map(|open| self.settings.commit_interval.saturating_sub(open.started.elapsed()))
    }

    /// Records in the open transaction.
    pub fn records(&self) -> usize {
        self.open.as_ref().map_or(0, |open| open.records)
    }

    /// Whether an abort happened since the last call: the consumer must go
    /// back to the committed offsets before reading on.
    pub fn take_rewind(&mut self) -> bool {
        std::mem::take(&mut self.rewind_pending)
    }

    /// Whether an abort left a rewind to do.
    pub fn rewind_is_pending(&self) -> bool {
        self.rewind_pending
    }

    /// Records read past the committed offsets were thrown away unprocessed
    /// (a rebalance came while reading): go back for them.
    pub fn require_rewind(&mut self) {
        self.rewind_pending = true;
    }

    /// Partitions were (re)assigned: forget what was read before. A revoke
    /// commits or aborts first; an incremental assignment can come while a
    /// transaction is open, and then its partitions are kept.
    pub fn assigned(&mut self) {
        if self.open.is_none() {
            self.partitions.clear();
            self.last_partition = 0;
        }
    }

    /// The next offset this instance last committed in a partition, if it
    /// committed there since the assignment (what lag is measured from).
    pub fn committed_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.partitions.iter().find(|p| p.topic == topic && p.partition == partition).and_then(|p| p.committed)
    }

    /// Where to rewind a partition the group has no committed offset for:
    /// the first offset read since the assignment, if any was.
    pub fn first_read(&self, topic: &str, partition: i32) -> Option<i64> {
        self.partitions.iter().find(|p| p.topic == topic && p.partition == partition).map(|p| p.first_read)
    }

    /// Passes on to the processor's poison policy what it must learn from
    /// this transaction: the offsets committed, and the records whose
    /// outputs Kafka refused. The loop calls it before each record.
    pub fn inform(&mut self, processor: &mut Processor) {
        for next_offsets in self.news.committed.drain(..) {
            processor.committed(&next_offsets);
        }
        for (id, error) in self.news.refused.drain(..) {
            processor.refused(id, &error);
        }
    }

    /// A record is about to be processed: its partition is one this
    /// transaction reads (a rewind goes back at least to it).
    pub fn read(&mut self, record: &InputRecord) {
        self.slot(record);
    }

    /// Opens a transaction unless one is open. `false`: beginning failed,
    /// the failure was recovered from and a rewind is pending.
    pub fn begin(&mut self, member: &impl GroupMember) -> Result<bool, Failure> {
        if self.open.is_some() {
            return Ok(true);
        }
        if let Err(error) = self.producer.begin() {
            self.recover(error, member)?;
            return Ok(false);
        }
        self.open = Some(Open {
            started: Instant::now(),
            records: 0,
            produced: 0,
            dead_lettered: 0,
            skipped: 0,
            timers_fired: 0,
            sources: Vec::new(),
        });
        Ok(true)
    }

    /// Queues a record's outputs (each checked by the processor) so that
    /// they are all queued or none, and accounts its offset. `false`: Kafka
    /// refused an output (the record is reported to the policy and the
    /// transaction aborted) or the producer cannot send (recovered); either
    /// way a rewind is pending.
    pub fn write(&mut self, record: &InputRecord, outputs: &[OutputRecord], member: &impl GroupMember) -> Result<bool, Failure> {
        let slot = self.slot(record);
        if !outputs.is_empty() {
            let opaque = self.source(Source { partition: slot, offset: record.offset, dead_letter: false });
            for output in outputs {
                let topic = self.settings.outputs.resolve(output).expect("the processor checked every output's topic");
                match self.producer.send(topic, output, record.timestamp, None, opaque) {
                    Ok(()) => {}
                    Err(error) if is_permanent_produce_error(&error) => {
                        self.news.refused.push((RecordId::of(record), error.to_string()));
                        self.abort(member)?;
                        return Ok(false);
                    }
                    // Not the record's fault: the producer cannot send
                    // (fenced, or failed for good).
                    Err(error) => {
                        self.recover(TxnError::Fatal(error), member)?;
                        return Ok(false);
                    }
                }
            }
        }
        self.account(record, slot).produced += outputs.len() as u64;
        Ok(true)
    }

    /// Queues a record's dead letter and accounts its offset.
    pub fn dead_letter(&mut self, record: &InputRecord, letter: &OutputRecord) -> Result<(), Failure> {
        let slot = self.slot(record);
        let dlq = letter.topic.as_deref().expect("a dead letter names its topic");
        let opaque = self.source(Source { partition: slot, offset: record.offset, dead_letter: true });
        self.producer.send(dlq, letter, record.timestamp, None, opaque).map_err(|error| {
            Failure::Fatal(anyhow::anyhow!(
                "cannot write the dead letter of {} to \"{dlq}\": {error}; check the dead-letter topic",
                RecordId::of(record)
            ))
        })?;
        self.account(record, slot).dead_lettered += 1;
        Ok(())
    }

    /// Queues the outputs of a timer that fired (or its dead letter), each
    /// with its timestamp and, if the plugin chose one, its partition; no
    /// input offset moves. `false`: the producer cannot send (recovered, a
    /// rewind is pending).
    pub fn write_timer(
        &mut self,
        outputs: &[TimedOutput],
        dead_letter: bool,
        member: &impl GroupMember,
    ) -> Result<bool, Failure> {
        for output in outputs {
            let topic = match &output.record.topic {
                Some(topic) if dead_letter => topic.clone(),
                _ => {
                    self.settings.outputs.resolve(&output.record).expect("the processor checked every output's topic").to_owned()
                }
            };
            let topic = topic.as_str();
            let sent = self.producer.send(topic, &output.record, Some(output.timestamp), output.partition, TIMER_OPAQUE);
            if let Err(error) = sent {
                if is_permanent_produce_error(&error) {
                    self.abandon();
                    return Err(Failure::Fatal(anyhow::anyhow!(
                        "Kafka refused an output of a timer for topic \"{topic}\": {error}; check the topic (and the \
                         partition the plugin chose)"
                    )));
                }
                self.recover(TxnError::Fatal(error), member)?;
                return Ok(false);
            }
        }
        let open = self.open.as_mut().expect("timer outputs are sent inside an open transaction");
        open.timers_fired += 1;
        if dead_letter {
            open.dead_lettered += outputs.len() as u64;
        } else {
            open.produced += outputs.len() as u64;
        }
        Ok(true)
    }

    /// A timer fired with nothing to write (dropped under `--on-error skip`).
    pub fn timer_dropped(&mut self) {
        let open = self.open.as_mut().expect("timers fire inside an open transaction");
        open.timers_fired += 1;
    }

    /// A wall-clock timer of `topic`/`partition` fires in this transaction:
    /// the partition's offset `next` (its position) is committed with it
    /// unless a record read moves it, so that the commit carries the group
    /// metadata and a zombie's firing is fenced like its records.
    pub fn fire_on(&mut self, topic: &str, partition: i32, next: i64) {
        let index = self.slot_at(topic, partition, next);
        let entry = &mut self.partitions[index];
        entry.next = Some(entry.next.map_or(next, |read| read.max(next)));
    }

    /// The offset a partition's position is known to be at without asking
    /// the consumer: the next to commit in the open transaction, or the
    /// last committed since the assignment.
    pub fn known_position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.partitions.iter().find(|p| p.topic == topic && p.partition == partition).and_then(|p| p.next.or(p.committed))
    }

    /// Accounts a skipped record's offset: committed with nothing written.
    pub fn skip(&mut self, record: &InputRecord) {
        let slot = self.slot(record);
        self.account(record, slot).skipped += 1;
    }

    /// `--on-error fail`: aborts the open transaction for good; the run
    /// stops, so nothing is rewound.
    pub fn abandon(&mut self) {
        if let Err(abort_error) = self.producer.abort() {
            tracing::warn!("{abort_error}; the broker aborts the transaction when it times out");
        }
        self.discard();
    }

    /// A record read but thrown away unprocessed (the rest of a batch after
    /// an abort, or a batch read across a rebalance): the next rewind must
    /// go back at least to it, also where the group has no committed offset.
    pub fn unread(&mut self, record: &InputRecord) {
        self.slot(record);
    }

    /// The index of the record's partition in `partitions`, added when new;
    /// the partition's first offset read is kept at most the record's.
    fn slot(&mut self, record: &InputRecord) -> usize {
        self.slot_at(&record.topic, record.partition, record.offset)
    }

    /// The index of `topic`/`partition` in `partitions`, added when new;
    /// its first offset read is kept at most `offset`.
    fn slot_at(&mut self, topic: &str, partition: i32, offset: i64) -> usize {
        let matches = |p: &Partition| p.partition == partition && p.topic == topic;
        if let Some(slot) = self.partitions.get_mut(self.last_partition).filter(|p| matches(p)) {
            slot.first_read = slot.first_read.min(offset);
            return self.last_partition;
        }
        let index = match self.partitions.iter().position(matches) {
            Some(index) => {
                let slot = &mut self.partitions[index];
                slot.first_read = slot.first_read.min(offset);
                index
            }
            None => {
                self.partitions.push(Partition {
                    topic: topic.to_owned(),
                    partition,
                    first_read: offset,
                    next: None,
                    committed: None,
                });
                self.partitions.len() - 1
            }
        };
        self.last_partition = index;
        index
    }

    /// The open transaction's counts, with the record's offset accounted.
    fn account(&mut self, record: &InputRecord, slot: usize) -> &mut Open {
        self.partitions[slot].next = Some(record.offset + 1);
        let open = self.open.as_mut().expect("a record is accounted inside an open transaction");
        open.records += 1;
        open
    }

    /// The delivery opaque of the outputs of `source`'s record.
    fn source(&mut self, source: Source) -> usize {
        let open = self.open.as_mut().expect("outputs are sent inside an open transaction");
        open.sources.push(source);
        open.sources.len() - 1
    }

    /// The record a source names.
    fn record_id(&self, source: &Source) -> RecordId {
        let partition = &self.partitions[source.partition];
        RecordId { topic: partition.topic.clone(), partition: partition.partition, offset: source.offset }
    }

    /// Commits the open transaction (outputs and the next offset of every
    /// partition read). A failure is recovered from here — the transaction
    /// aborted or the producer replaced, and a rewind left pending — so
    /// `Err` means only that eoshost cannot go on.
    pub fn commit(&mut self, member: &impl GroupMember) -> Result<(), Failure> {
        let Some(open) = &self.open else { return Ok(()) };
        let started = Instant::now();
        let next_offsets: Vec<(TopicPartition, i64)> = self
            .partitions
            .iter()
            .filter_map(|p| p.next.map(|next| (TopicPartition::new(p.topic.clone(), p.partition), next)))
            .collect();
        let offsets = if next_offsets.is_empty() {
            None
        } else {
            let mut list = TopicPartitionList::with_capacity(next_offsets.len());
            for (tp, next) in &next_offsets {
                list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*next))
                    .map_err(|e| Failure::Fatal(e.into()))?;
            }
            match member.group_metadata() {
                Some(group) => Some((list, group)),
                None => return self.recover(TxnError::Abortable(KafkaError::MetadataFetch(RDKafkaErrorCode::State)), member),
            }
        };
        let records = open.records;
        if let Err(error) = self.send_changelog() {
            return self.recover(TxnError::Fatal(error), member);
        }
        let mut phases = CommitPhases::default();
        if let Err(error) = self.producer.commit(offsets, &mut phases) {
            // The commit may have gone through (a timeout, a hung call): the
            // state is read back from the changelog, with the offsets.
            if let Some(changelog) = &self.settings.changelog {
                changelog.state.lock().restore_everything();
            }
            return self.recover(error, member);
        }
        if let Some(changelog) = &self.settings.changelog {
            let mut state = changelog.state.lock();
            state.transaction_committed();
            self.metrics.set_state_bytes(state.bytes());
            self.metrics.set_timers_pending(state.timers_pending());
        }
        let open = self.open.take().expect("checked above");
        let elapsed = started.elapsed();
        self.metrics.transaction_committed(elapsed, open.produced, open.dead_lettered, open.skipped);
        self.metrics.timers_fired(open.timers_fired);
        tracing::debug!(
            records,
            ?elapsed,
            send_offsets = ?phases.send_offsets,
            flush = ?phases.flush,
            commit = ?phases.commit,
            "committed"
        );
        for partition in &mut self.partitions {
            partition.committed = partition.next.take().or(partition.committed);
        }
        self.news.committed.push(next_offsets);
        // A successful commit means every output was delivered.
        let _ = self.producer.take_refused();
        Ok(())
    }

    /// Queues one changelog record per key the open transaction changed, to
    /// the changelog partition of its input partition.
    fn send_changelog(&self) -> Result<(), KafkaError> {
        let Some(changelog) = &self.settings.changelog else { return Ok(()) };
        let state = changelog.state.lock();
        for change in state.changes() {
            let key = encode_key(&change.scope.topic, &change.scope.plugin, change.key);
            self.producer.send_to_partition(&changelog.topic, change.scope.partition, &key, change.value, CHANGELOG_OPAQUE)?;
        }
        Ok(())
    }

    /// Whether `error` means that a newer instance with the same ids owns
    /// this one's partitions: then it must stop, not replace its producer,
    /// which would fence the newer one's. A fenced producer says so when the
    /// consumer hears FENCED_INSTANCE_ID within a heartbeat, or at once when
    /// the consumer rejoined within [`DUEL_WINDOW`] (the two instances
    /// would otherwise fence each other in turn). A TxnOffsetCommit answered
    /// FENCED_INSTANCE_ID while the producer is not fenced does not: the
    /// transaction is aborted, and the loop rejoins if the consumer itself
    /// was fenced ([`Transaction::prepare_rejoin`]).
    fn replaced_by_newer_instance(&self, error: &TxnError, member: &impl GroupMember) -> Option<Failure> {
        let kafka_error = match error {
            TxnError::Abortable(e) | TxnError::Fatal(e) => e,
            TxnError::Hung { .. } => return None,
        };
        if !is_fenced(kafka_error) {
            return None;
        }
        if self.rejoins.within(DUEL_WINDOW, Instant::now()) {
            return Some(self.settings.membership.fenced_failure(&format!("{kafka_error}, soon after a rejoin")));
        }
        self.settings.membership.await_fencing(member)
    }

    /// The consumer's membership was fenced (FENCED_INSTANCE_ID) and the
    /// loop is about to rejoin with a new consumer: aborts the open
    /// transaction and leaves a rewind pending. Refuses (returns `fenced`)
    /// when the producer turns out to be fenced too — a newer instance with
    /// the same transactional id runs — or when the consumer has used up its
    /// rejoins ([`Rejoins::exhausted`]): two live instances share the
    /// `group.instance.id`, and rejoining again would fence the other.
    pub fn prepare_rejoin(&mut self, fenced: Failure, member: &impl GroupMember) -> Result<(), Failure> {
        if self.rejoins.exhausted(Instant::now()) {
            tracing::warn!("the membership was fenced again after several rejoins within a minute");
            self.discard();
            return Err(fenced);
        }
        self.abort(member)?;
        self.rewind_pending = true;
        self.rejoins.record(Instant::now());
        Ok(())
    }

    /// Aborts the open transaction, if any, and leaves a rewind pending.
    pub fn abort(&mut self, member: &impl GroupMember) -> Result<(), Failure> {
        if self.open.is_none() {
            return Ok(());
        }
        match self.producer.abort() {
            Ok(()) => {
                let refused = self.producer.take_refused();
                self.aborted(refused)
            }
            Err(error) => {
                tracing::warn!("{error}; replacing the producer");
                self.replace_producer(&error, error.replacement_reason().unwrap_or("abort_failed"), member)
            }
        }
    }

    /// After a failed transactional call: abort, or replace the producer
    /// when the error (or a hung call) made it unusable; condemn the records
    /// whose outputs Kafka refused; leave a rewind pending.
    pub fn recover(&mut self, error: TxnError, member: &impl GroupMember) -> Result<(), Failure> {
        tracing::warn!("{error}; aborting the transaction and rewinding");
        if let Some(failure) = self.replaced_by_newer_instance(&error, member) {
            if let Err(abort_error) = self.producer.abort() {
                tracing::debug!("{abort_error} (aborting the fenced instance's transaction)");
            }
            self.discard();
            return Err(failure);
        }
        match error.replacement_reason() {
            Some(reason) => self.replace_producer(&error, reason, member),
            None => match self.producer.abort() {
                Ok(()) => {
                    let refused = self.producer.take_refused();
                    self.aborted(refused)
                }
                Err(abort_error) => {
                    tracing::warn!("{abort_error}; replacing the producer");
                    self.replace_producer(&abort_error, abort_error.replacement_reason().unwrap_or("abort_failed"), member)
                }
            },
        }
    }

    /// Replaces the producer after `error`, unless the error says a newer
    /// instance with the same ids took over (then this one must stop: a new
    /// producer would fence the newer instance's).
    fn replace_producer(&mut self, error: &TxnError, reason: &'static str, member: &impl GroupMember) -> Result<(), Failure> {
        if let Some(failure) = self.replaced_by_newer_instance(error, member) {
            self.discard();
            return Err(failure);
        }
        // Read before the replacement: the reports belong to the old producer.
        let refused = self.producer.take_refused();
        self.producer.replace(reason)?;
        self.aborted(refused)
    }

    /// The open transaction is gone (aborted, or fenced with its producer);
    /// `refused` are the outputs Kafka refused in it.
    fn aborted(&mut self, refused: Vec<(usize, KafkaError)>) -> Result<(), Failure> {
        let sources = self.discard();
        self.rewind_pending = true;
        for (opaque, error) in refused {
            if opaque == TIMER_OPAQUE && is_permanent_produce_error(&error) {
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "Kafka refused an output of a timer: {error}; check the output topics (their max.message.bytes, \
                     and the partition the plugin chose)"
                )));
            }
            let Some(source) = sources.get(opaque) else { continue };
            let id = self.record_id(source);
            if source.dead_letter {
                return Err(Failure::Fatal(anyhow::anyhow!(
                    "Kafka refused the dead letter of {id}: {error}; check the dead-letter topic"
                )));
            }
            if is_permanent_produce_error(&error) {
                self.news.refused.push((id, error.to_string()));
            }
        }
        Ok(())
    }

    /// Forgets the open transaction, counting it as aborted; returns what
    /// its outputs' opaques refer to.
    fn discard(&mut self) -> Vec<Source> {
        for partition in &mut self.partitions {
            partition.next = None;
        }
        if let Some(changelog) = &self.settings.changelog {
            changelog.state.lock().transaction_aborted();
        }
        match self.open.take() {
            Some(open) => {
                self.metrics.transaction_aborted();
                open.sources
            }
            None => Vec::new(),
        }
    }

    /// Stopping: commits the open transaction with the short timeouts of a
    /// stop, or aborts it; nothing is rewound, since nothing more is read.
    pub fn finish(&mut self, member: &impl GroupMember) -> Result<(), Failure> {
        self.commit(member)?;
        if self.take_rewind() {
            tracing::warn!("the final commit did not succeed; its records are read again by the next owner");
        }
        Ok(())
    }
}
