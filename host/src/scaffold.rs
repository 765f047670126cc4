//! What every long-running mode stands on — the Kafka pipeline, the
//! PostgreSQL sink and the outbox relay: the stop request, the background
//! runtime that serves `/metrics` and logs the progress line, the stop
//! deadline, loading the plugins and the tables (`--table`), and the
//! failure a background part (a table's follower) ends the run with.
//!
//! The SIGTERM/SIGINT handlers are flags installed before the mode reads its
//! options ([`install_stop_handlers`]), so a signal at any moment of
//! start-up is a clean stop: each start-up step that waits checks
//! [`Host::stopping`] and the mode returns `Ok` (exit 0) having committed
//! nothing. A second signal exits at once with code 1. A mode builds its
//! loop on the calling thread — the blocking PostgreSQL client starts its own
//! runtime, which may not be nested in this one.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::defaults;
use crate::failure::Failure;
use crate::metrics::Metrics;
use crate::plugin::{Chain, PluginSpec, SandboxLimits, chain_paths};
use crate::state::SharedState;
use crate::tables::{self, FollowerSettings, TableSpec, Tables};

/// Installs the SIGTERM and SIGINT handlers: the first signal sets the
/// returned flag, a second one exits with code 1 without finishing anything
/// (the open transaction is aborted by the broker; its records are read
/// again).
pub fn install_stop_handlers() -> Result<Arc<AtomicBool>, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // Registered first, so it sees the flag as it was before this
        // signal set it: only a second signal exits.
        signal_hook::flag::register_conditional_shutdown(signal, 1, stop.clone())
            .and_then(|_| signal_hook::flag::register(signal, stop.clone()))
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot install the SIGTERM/SIGINT handlers: {e}")))?;
    }
    Ok(stop)
}

/// How a mode wants its progress line: every `every`, with the lag column
/// when the consumer's statistics run (`lag_known`).
#[derive(Debug, Clone, Copy)]
pub struct ProgressSettings {
    pub every: Duration,
    pub lag_known: bool,
}

/// The scaffold of one run: metrics, the stop flag and the runtime behind
/// them.
pub struct Host {
    pub metrics: Arc<Metrics>,
    pub stop: Arc<AtomicBool>,
    /// The failure a background part left when it asked for the stop; the
    /// run ends with it ([`Host::finish`]).
    background_failure: Arc<Mutex<Option<Failure>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Host {
    /// Starts the background runtime: `/metrics` on `metrics_addr` (when
    /// set), the progress line (when set), and the watch on the stop flag
    /// that logs the stop and enforces the stop deadline.
    pub fn start(
        stop: Arc<AtomicBool>,
        metrics_addr: Option<SocketAddr>,
        progress: Option<ProgressSettings>,
    ) -> Result<Host, Failure> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("eoshost-io")
            .build()
            .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot start the I/O runtime: {e}")))?;
        let metrics = Arc::new(Metrics::new());
        if let Some(addr) = metrics_addr {
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind(addr))
                .map_err(|e| Failure::usage(format!("cannot serve metrics on --metrics-addr {addr}: {e}")))?;
            tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
            runtime.spawn(crate::metrics::serve(listener, metrics.clone()));
        }
        if let Some(progress) = progress {
            runtime.spawn(crate::progress_line::report(metrics.clone(), progress.every, progress.lag_known));
        }
        runtime.spawn(watch_stop(stop.clone(), Duration::from_secs(defaults::STOP_DEADLINE_S)));
        Ok(Host { metrics, stop, background_failure: Arc::default(), _runtime: runtime })
    }

    /// Whether a stop was asked for: start-up steps give up, loops finish
    /// their open transaction.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Loads the plugins of a chain ([`Chain::load`]), logging the step,
    /// the one a stop during start-up most often lands in.
    pub fn load_plugins(
        &self,
        specs: &[PluginSpec],
        limits: SandboxLimits,
        state: impl FnOnce() -> SharedState,
        tables: &Tables,
    ) -> Result<(Chain, Option<SharedState>), Failure> {
        let started = Instant::now();
        tracing::info!(plugins = %chain_paths(specs), "loading plugins");
        let loaded = Chain::load(specs, limits, state, tables)?;
        tracing::info!(elapsed = ?started.elapsed(), "plugins loaded");
        Ok(loaded)
    }

    /// Loads every table of `specs` into `tables` up to the end its topic
    /// had now, logging each load, and leaves a follower keeping each
    /// current until the stop. `client` carries the connection settings.
    /// `Ok(false)`: a stop came first.
    pub fn load_tables(&self, tables: &Tables, specs: &[TableSpec], client: rdkafka::ClientConfig) -> Result<bool, Failure> {
        if specs.is_empty() {
            return Ok(true);
        }
        tracing::info!(tables = specs.len(), "loading tables");
        for spec in specs {
            // Exported from the start, at zero, like every labelled family.
            self.metrics.set_table_size(&spec.name, 0, 0);
            self.metrics.set_table_lag(&spec.name, 0);
        }
        let settings = FollowerSettings {
            client,
            metrics: self.metrics.clone(),
            stop: self.stop.clone(),
            failure: self.background_failure.clone(),
        };
        let Some(reports) = tables::follow(tables, specs, settings)? else { return Ok(false) };
        for report in reports {
            let seconds = report.elapsed.as_secs_f64();
            tracing::info!(
                table = %report.table, topic = %report.topic, records = report.records, keys = report.keys,
                bytes = report.bytes, seconds = format_args!("{seconds:.3}"),
                records_per_second = (report.records as f64 / seconds.max(1e-6)) as u64, "table loaded"
            );
        }
        Ok(true)
    }

    /// How the run ends: with the failure a background part left when it
    /// asked for the stop (the loop then stopped cleanly, committing what it
    /// had), else with the loop's own `outcome`.
    pub fn finish(&self, outcome: Result<(), Failure>) -> Result<(), Failure> {
        match self.background_failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(failure) => Err(failure),
            None => outcome,
        }
    }

    /// Ends a start-up that a stop interrupted: exit 0, nothing committed.
    pub fn stopped_during_start_up(&self) -> Result<(), Failure> {
        tracing::info!("stopped before start-up finished; nothing was committed");
        Ok(())
    }
}

/// Logs the stop once it is asked for and exits (code 1), saying why, when
/// it has not finished within `deadline` (it normally takes well under a
/// second): rather than outlive the orchestrator's grace period. Nothing is
/// lost: the open transaction is aborted by the broker (or the database)
/// and its records are read again.
async fn watch_stop(stop: Arc<AtomicBool>, deadline: Duration) {
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    loop {
        ticker.tick().await;
        if stop.load(Ordering::Acquire) {
            break;
        }
    }
    tracing::info!("stopping: finishing the open transaction");
    tokio::time::sleep(deadline).await;
    tracing::error!(
        "stop did not finish within {deadline:?}; exiting without finishing the open transaction (it is aborted; its \
         records are read again)"
    );
    std::process::exit(1);
}
