//! The metrics of DESIGN §1.6, one method per observable event, and the
//! small HTTP endpoint that serves them (`/metrics` in Prometheus text
//! format, `/healthz`, `/readyz`). The `prometheus-client` crate does the
//! encoding; it is the Prometheus project's own Rust client.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::kafka::TopicPartition;
use crate::plugin::TrapKind;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TrapLabels {
    kind: &'static str,
}

/// The `kind` of a consumer error or a refused connection.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    kind: &'static str,
}

/// The outcome of a Schema Registry request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Outcomes of Schema Registry requests: found, 404, refused (4xx),
/// unavailable (no answer, 5xx).
pub const REGISTRY_OUTCOMES: [&str; 4] = ["ok", "not_found", "refused", "unavailable"];

/// Why a key or value did not decode, or an output did not encode.
pub const SCHEMA_REJECTIONS: [&str; 6] =
    ["no_magic_byte", "unknown_schema", "wrong_schema_type", "undecodable", "not_json", "output_mismatch"];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Why a transactional producer was replaced: fenced by a newer epoch, a
/// fatal error, a call that never returned, or an abort that failed.
pub const REPLACEMENT_REASONS: [&str; 4] = ["fenced", "fatal", "hung_call", "abort_failed"];

/// A `--table` by its NAME.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabels {
    table: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: i32,
}

/// The counters a progress line reports, read at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub consumed: u64,
    pub produced: u64,
    pub dead_lettered: u64,
    pub skipped: u64,
    pub committed: u64,
    pub aborted: u64,
    /// Traps of every kind.
    pub traps: u64,
    /// Summed over the partitions whose lag librdkafka's statistics last
    /// reported.
    pub lag: i64,
}

/// Every metric eoshost exports, plus the liveness and readiness state.
pub struct Metrics {
    registry: Registry,
    records_consumed: Counter,
    records_produced: Counter,
    records_dead_lettered: Counter,
    records_skipped: Counter,
    transactions_committed: Counter,
    transactions_aborted: Counter,
    commit_seconds: Histogram,
    plugin_call_seconds: Histogram,
    plugin_traps: Family<TrapLabels, Counter>,
    consumer_lag: Family<PartitionLabels, Gauge>,
    producer_replacements: Family<ReasonLabels, Counter>,
    consumer_errors: Family<ErrorLabels, Counter>,
    connection_errors: Family<ErrorLabels, Counter>,
    relay_held_back: Gauge,
    state_restore_seconds: Histogram,
    state_bytes: Gauge,
    timers_pending: Gauge,
    timers_fired: Counter,
    registry_requests: Family<OutcomeLabels, Counter>,
    cached_schemas: Gauge,
    schema_rejections: Family<ErrorLabels, Counter>,
    /// Why records wait for the Schema Registry, while they do.
    registry_waiting: Mutex<Option<String>>,
    table_records: Family<TableLabels, Gauge>,
    table_bytes: Family<TableLabels, Gauge>,
    table_lag: Family<TableLabels, Gauge>,
    ready: AtomicBool,
    /// The rate limiters of the run's events ([`crate::events`]).
    pub(crate) limiters: crate::events::Limiters,
    last_loop_secs: AtomicU64,
    lag_partitions: Mutex<Vec<PartitionLabels>>,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let records_consumed = Counter::default();
        let records_produced = Counter::default();
        let records_dead_lettered = Counter::default();
        let records_skipped = Counter::default();
        let transactions_committed = Counter::default();
        let transactions_aborted = Counter::default();
        let commit_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let plugin_call_seconds = Histogram::new(exponential_buckets(0.000_001, 4.0, 12));
        let plugin_traps = Family::<TrapLabels, Counter>::default();
        let consumer_lag = Family::<PartitionLabels, Gauge>::default();
        let producer_replacements = Family::<ReasonLabels, Counter>::default();
        let consumer_errors = Family::<ErrorLabels, Counter>::default();
        let connection_errors = Family::<ErrorLabels, Counter>::default();
        let relay_held_back = Gauge::default();
        let state_restore_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        let state_bytes = Gauge::default();
        let timers_pending = Gauge::default();
        let timers_fired = Counter::default();
        let registry_requests = Family::<OutcomeLabels, Counter>::default();
        let cached_schemas = Gauge::default();
        let schema_rejections = Family::<ErrorLabels, Counter>::default();
        let table_records = Family::<TableLabels, Gauge>::default();
        let table_bytes = Family::<TableLabels, Gauge>::default();
        let table_lag = Family::<TableLabels, Gauge>::default();
        // Counters are registered without the `_total` suffix: the encoder adds it.
        registry.register("eoshost_records_consumed", "Input records read", records_consumed.clone());
        registry.register("eoshost_records_produced", "Output records committed", records_produced.clone());
        registry.register(
            "eoshost_records_dead_lettered",
            "Records committed to the dead-letter topic",
            records_dead_lettered.clone(),
        );
        registry.register("eoshost_records_skipped", "Records skipped under --on-error skip", records_skipped.clone());
        registry.register("eoshost_transactions_committed", "Transactions committed", transactions_committed.clone());
        registry.register("eoshost_transactions_aborted", "Transactions aborted", transactions_aborted.clone());
        registry.register("eoshost_transaction_commit_seconds", "Time to commit a transaction", commit_seconds.clone());
        registry.register("eoshost_plugin_call_seconds", "Time of one plugin transform call", plugin_call_seconds.clone());
        registry.register("eoshost_plugin_traps", "Plugin traps by kind", plugin_traps.clone());
        registry.register("eoshost_consumer_lag", "Records behind the last stable offset", consumer_lag.clone());
        registry.register(
            "eoshost_producer_replacements",
            "Transactional producers replaced (same transactional.id), by reason",
            producer_replacements.clone(),
        );
        for reason in REPLACEMENT_REASONS {
            let _ = producer_replacements.get_or_create(&ReasonLabels { reason });
        }
        registry.register("eoshost_consumer_errors", "Consumer errors retried, by kind", consumer_errors.clone());
        registry.register(
            "eoshost_connection_errors",
            "Connections a broker refused (TLS handshake or authentication), by kind",
            connection_errors.clone(),
        );
        registry.register(
            "eoshost_relay_held_back_seconds",
            "eoshost relay: age of the oldest open database transaction, which holds back rows committed after it began",
            relay_held_back.clone(),
        );
        registry.register(
            "eoshost_state_restore_seconds",
            "Time to restore the state of newly assigned partitions from the changelog",
            state_restore_seconds.clone(),
        );
        registry.register(
            "eoshost_state_bytes",
            "Bytes of keys and values of stateful plugins' state held (as of the last restore or commit)",
            state_bytes.clone(),
        );
        registry.register(
            "eoshost_timers_pending",
            "Timers of plugins with timers held for the owned partitions, not yet fired (as of the last restore or commit)",
            timers_pending.clone(),
        );
        registry.register(
            "eoshost_timers_fired",
            "Timer firings committed (outputs, state writes and the timer's removal in one transaction)",
            timers_fired.clone(),
        );
        registry.register(
            "eoshost_schema_registry_requests",
            "Schema Registry requests by outcome (ok, not_found, refused, unavailable)",
            registry_requests.clone(),
        );
        registry.register(
            "eoshost_schema_registry_cached_schemas",
            "Writer schemas of input records held (fetched once per id)",
            cached_schemas.clone(),
        );
        registry.register(
            "eoshost_schema_rejections",
            "Records rejected because a key or value did not decode, or an output did not fit its schema, by kind",
            schema_rejections.clone(),
        );
        registry.register("eoshost_table_records", "Keys held by each --table", table_records.clone());
        registry.register("eoshost_table_bytes", "Bytes of keys and values held by each --table", table_bytes.clone());
        registry.register(
            "eoshost_table_lag",
            "Records of each --table's topic not yet applied to the table (to the last stable offset)",
            table_lag.clone(),
        );
        for outcome in REGISTRY_OUTCOMES {
            let _ = registry_requests.get_or_create(&OutcomeLabels { outcome });
        }
        for kind in SCHEMA_REJECTIONS {
            let _ = schema_rejections.get_or_create(&ErrorLabels { kind });
        }
        for kind in TrapKind::ALL {
            // Every kind is exported from the start, so alerts see a zero.
            let _ = plugin_traps.get_or_create(&TrapLabels { kind: kind.as_str() });
        }
        Metrics {
            registry,
            records_consumed,
            records_produced,
            records_dead_lettered,
            records_skipped,
            transactions_committed,
            transactions_aborted,
            commit_seconds,
            plugin_call_seconds,
            plugin_traps,
            consumer_lag,
            producer_replacements,
            consumer_errors,
            connection_errors,
            relay_held_back,
            state_restore_seconds,
            state_bytes,
            timers_pending,
            timers_fired,
            registry_requests,
            cached_schemas,
            schema_rejections,
            registry_waiting: Mutex::new(None),
            table_records,
            table_bytes,
            table_lag,
            ready: AtomicBool::new(false),
            limiters: crate::events::Limiters::default(),
            last_loop_secs: AtomicU64::new(now_secs()),
            lag_partitions: Mutex::new(Vec::new()),
        }
    }

    /// A transient consumer error, retried (kinds: `consume_error`).
    pub fn consumer_error(&self, kind: &'static str) {
        self.consumer_errors.get_or_create(&ErrorLabels { kind }).inc();
    }

    /// A broker refused a connection (kind `tls` or `authentication`).
    pub fn connection_refused(&self, kind: &'static str) {
        self.connection_errors.get_or_create(&ErrorLabels { kind }).inc();
    }

    pub fn record_consumed(&self) {
        self.records_consumed.inc();
    }

    pub fn plugin_called(&self, elapsed: Duration) {
        self.plugin_call_seconds.observe(elapsed.as_secs_f64());
    }

    pub fn plugin_trapped(&self, kind: TrapKind) {
        self.plugin_traps.get_or_create(&TrapLabels { kind: kind.as_str() }).inc();
    }

    pub fn trap_count(&self, kind: TrapKind) -> u64 {
        self.plugin_traps.get_or_create(&TrapLabels { kind: kind.as_str() }).get()
    }

    /// A transaction committed with these counts of outputs, dead letters
    /// and skipped records.
    pub fn transaction_committed(&self, elapsed: Duration, produced: u64, dead_lettered: u64, skipped: u64) {
        self.transactions_committed.inc();
        self.commit_seconds.observe(elapsed.as_secs_f64());
        self.records_produced.inc_by(produced);
        self.records_dead_lettered.inc_by(dead_lettered);
        self.records_skipped.inc_by(skipped);
    }

    /// The transactional producer was replaced, for `reason` (one of
    /// [`REPLACEMENT_REASONS`]).
    pub fn producer_replaced(&self, reason: &'static str) {
        self.producer_replacements.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// The counters as they are now (for the progress line).
    pub fn totals(&self) -> Totals {
        let traps = TrapKind::ALL.iter().map(|kind| self.trap_count(*kind)).sum();
        let lag = {
            let known = self.lag_partitions.lock().unwrap_or_else(|p| p.into_inner());
            known.iter().map(|labels| self.consumer_lag.get_or_create(labels).get()).sum()
        };
        Totals {
            consumed: self.records_consumed.get(),
            produced: self.records_produced.get(),
            dead_lettered: self.records_dead_lettered.get(),
            skipped: self.records_skipped.get(),
            committed: self.transactions_committed.get(),
            aborted: self.transactions_aborted.get(),
            traps,
            lag,
        }
    }

    pub fn transaction_aborted(&self) {
        self.transactions_aborted.inc();
    }

    pub fn committed_transactions(&self) -> u64 {
        self.transactions_committed.get()
    }

    /// Replaces the lag of every partition (from librdkafka's statistics).
    pub fn set_consumer_lag(&self, lags: Vec<(TopicPartition, i64)>) {
        let mut known = self.lag_partitions.lock().unwrap_or_else(|p| p.into_inner());
        for labels in known.drain(..) {
            self.consumer_lag.remove(&labels);
        }
        for (TopicPartition { topic, partition }, lag) in lags {
            let labels = PartitionLabels { topic, partition };
            self.consumer_lag.get_or_create(&labels).set(lag.max(0));
            known.push(labels);
        }
    }

    /// The relay's horizon is held back by a transaction open this long.
    pub fn set_relay_held_back(&self, seconds: f64) {
        self.relay_held_back.set(seconds.max(0.0) as i64);
    }

    /// A restore of state from the changelog took `elapsed`; `bytes` are held now.
    pub fn state_restored(&self, elapsed: Duration, bytes: usize) {
        self.state_restore_seconds.observe(elapsed.as_secs_f64());
        self.set_state_bytes(bytes);
    }

    pub fn set_state_bytes(&self, bytes: usize) {
        self.state_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub fn set_timers_pending(&self, timers: usize) {
        self.timers_pending.set(i64::try_from(timers).unwrap_or(i64::MAX));
    }

    /// A transaction with `fired` timer firings committed.
    pub fn timers_fired(&self, fired: u64) {
        self.timers_fired.inc_by(fired);
    }

    /// A table holds `records` keys and `bytes` bytes of keys and values.
    pub fn set_table_size(&self, table: &str, records: usize, bytes: usize) {
        let labels = TableLabels { table: table.to_owned() };
        self.table_records.get_or_create(&labels).set(i64::try_from(records).unwrap_or(i64::MAX));
        self.table_bytes.get_or_create(&labels).set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// A table's topic holds `records` not yet applied to it.
    pub fn set_table_lag(&self, table: &str, records: i64) {
        self.table_lag.get_or_create(&TableLabels { table: table.to_owned() }).set(records.max(0));
    }

    /// A Schema Registry request ended so (one of [`REGISTRY_OUTCOMES`]).
    pub fn registry_request(&self, outcome: &'static str) {
        self.registry_requests.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn set_cached_schemas(&self, schemas: usize) {
        self.cached_schemas.set(schemas as i64);
    }

    /// A record rejected for its format (one of [`SCHEMA_REJECTIONS`]).
    pub fn schema_rejection(&self, kind: &'static str) {
        self.schema_rejections.get_or_create(&ErrorLabels { kind }).inc();
    }

    /// Records wait for the Schema Registry (`Some(why)`), or no longer.
    pub fn set_registry_waiting(&self, why: Option<String>) {
        let mut waiting = self.registry_waiting.lock().unwrap_or_else(|e| e.into_inner());
        if waiting.is_some() || why.is_some() {
            *waiting = why;
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The loop calls this every iteration; `/healthz` fails when it stops.
    pub fn loop_alive(&self) {
        self.last_loop_secs.store(now_secs(), Ordering::Relaxed);
    }

    pub fn encode(&self) -> String {
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn respond(&self, path: &str) -> (u16, &'static str, String) {
        const TEXT: &str = "text/plain; charset=utf-8";
        match path {
            "/metrics" => (200, "application/openmetrics-text; version=1.0.0; charset=utf-8", self.encode()),
            "/healthz" => {
                let stalled = now_secs().saturating_sub(self.last_loop_secs.load(Ordering::Relaxed));
                if stalled >= 120 {
                    (503, TEXT, format!("loop stalled for {stalled}s\n"))
                } else if let Some(why) = self.registry_waiting.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    // Alive: a restart would not bring the registry back.
                    (200, TEXT, format!("ok (records wait for the Schema Registry: {why})\n"))
                } else {
                    (200, TEXT, "ok\n".into())
                }
            }
            "/readyz" if let Some(why) = self.registry_waiting.lock().unwrap_or_else(|e| e.into_inner()).as_ref() => {
                (503, TEXT, format!("not ready: records wait for the Schema Registry ({why})\n"))
            }
            "/readyz" if self.ready.load(Ordering::Relaxed) => (200, TEXT, "ready\n".into()),
            "/readyz" => (503, TEXT, "not ready: connecting or joining the group\n".into()),
            _ => (404, TEXT, "not found: try /metrics, /healthz or /readyz\n".into()),
        }
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until the task
/// is dropped. One request per connection (HTTP/1.1 with `Connection: close`).
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut head = vec![0u8; 4096];
            let Ok(Ok(read)) = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head)).await else { return };
            let request = String::from_utf8_lossy(&head[..read]);
            let path = request.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/");
            let (status, content_type, body) = metrics.respond(path);
            let reason = match status {
                200 => "OK",
                404 => "Not Found",
                _ => "Service Unavailable",
            };
            let response = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_waiting_for_the_registry_make_readyz_fail_and_healthz_say_why() {
        let metrics = Metrics::new();
        metrics.set_ready(true);
        metrics.set_registry_waiting(Some("cannot reach the registry: connection refused".into()));
        let (status, _, body) = metrics.respond("/readyz");
        assert_eq!(status, 503);
        assert!(body.contains("Schema Registry") && body.contains("connection refused"), "{body}");
        let (status, _, body) = metrics.respond("/healthz");
        assert_eq!(status, 200, "waiting is alive");
        assert!(body.contains("Schema Registry"), "{body}");
        metrics.set_registry_waiting(None);
        assert_eq!(metrics.respond("/readyz").0, 200);
        assert_eq!(metrics.respond("/healthz").2, "ok\n");
        let text = metrics.encode();
        for name in [
            "eoshost_schema_registry_requests_total",
            "eoshost_schema_registry_cached_schemas",
            "eoshost_schema_rejections_total",
        ] {
            assert!(text.contains(name), "{name} not exported:\n{text}");
        }
    }

    #[test]
    fn exported_names_match_the_design() {
        let metrics = Metrics::new();
        metrics.record_consumed();
        metrics.transaction_committed(Duration::from_millis(3), 2, 1, 0);
        metrics.plugin_trapped(TrapKind::Timeout);
        metrics.set_consumer_lag(vec![(TopicPartition::new("orders", 1), 42)]);
        let text = metrics.encode();
        for name in [
            "eoshost_records_consumed_total 1",
            "eoshost_records_produced_total 2",
            "eoshost_records_dead_lettered_total 1",
            "eoshost_transactions_committed_total 1",
            "eoshost_transactions_aborted_total 0",
            "eoshost_transaction_commit_seconds_count 1",
            "eoshost_plugin_call_seconds_count 0",
            "eoshost_plugin_traps_total{kind=\"timeout\"} 1",
            "eoshost_plugin_traps_total{kind=\"memory\"} 0",
            "eoshost_consumer_lag{topic=\"orders\",partition=\"1\"} 42",
            "eoshost_producer_replacements_total{reason=\"hung_call\"} 0",
        ] {
            assert!(text.contains(name), "missing {name:?} in\n{text}");
        }
    }

    #[test]
    fn consumer_and_connection_errors_are_counted_by_kind() {
        let metrics = Metrics::new();
        metrics.consumer_error("transport");
        metrics.consumer_error("transport");
        metrics.connection_refused("tls");
        let text = metrics.encode();
        assert!(text.contains("eoshost_consumer_errors_total{kind=\"transport\"} 2"), "{text}");
        assert!(text.contains("eoshost_connection_errors_total{kind=\"tls\"} 1"), "{text}");
    }

    #[test]
    fn producer_replacements_count_by_reason_and_totals_add_up() {
        let metrics = Metrics::new();
        metrics.producer_replaced("fenced");
        metrics.producer_replaced("fenced");
        metrics.record_consumed();
        metrics.record_consumed();
        metrics.transaction_committed(Duration::from_millis(3), 2, 1, 1);
        metrics.transaction_aborted();
        metrics.plugin_trapped(TrapKind::Timeout);
        metrics.plugin_trapped(TrapKind::Panic);
        metrics.set_consumer_lag(vec![(TopicPartition::new("orders", 0), 5), (TopicPartition::new("orders", 1), 7)]);
        assert!(metrics.encode().contains("eoshost_producer_replacements_total{reason=\"fenced\"} 2"));
        let totals = metrics.totals();
        assert_eq!(
            totals,
            Totals { consumed: 2, produced: 2, dead_lettered: 1, skipped: 1, committed: 1, aborted: 1, traps: 2, lag: 12 }
        );
    }
}
