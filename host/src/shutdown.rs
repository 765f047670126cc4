//! Stopping on a signal, for every loop (the Kafka pipeline, the PostgreSQL
//! sink, the outbox relay): the first SIGTERM or SIGINT asks the loop to
//! finish its open transaction; a second one exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::failure::Failure;

/// The background runtime for signals and `/metrics`. The loops themselves
/// run on the calling thread: the blocking PostgreSQL client starts its own
/// runtime, which may not be nested in this one.
pub fn background_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("eoshost-io")
        .build()
        .map_err(|e| Failure::Fatal(anyhow::anyhow!("cannot start the I/O runtime: {e}")))
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `addr`, when set.
pub fn serve_metrics(
    runtime: &tokio::runtime::Runtime,
    addr: Option<std::net::SocketAddr>,
    metrics: &Arc<crate::metrics::Metrics>,
) -> Result<(), Failure> {
    let Some(addr) = addr else { return Ok(()) };
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|e| Failure::usage(format!("cannot serve metrics on --metrics-addr {addr}: {e}")))?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    runtime.spawn(crate::metrics::serve(listener, metrics.clone()));
    Ok(())
}

/// Sets the returned flag on the first SIGTERM or SIGINT.
pub fn stop_flag(runtime: &tokio::runtime::Runtime) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    runtime.spawn(stop_on_signal(stop.clone()));
    stop
}

/// Sets `stop` on the first SIGTERM or SIGINT; a second one exits at once.
pub async fn stop_on_signal(stop: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop eoshost with SIGKILL");
        return;
    };
    for round in 0.. {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if round > 0 {
            tracing::warn!(
                "second signal: exiting without finishing the open transaction (it is aborted, its records read again)"
            );
            std::process::exit(1);
        }
        tracing::info!("stopping: finishing the open transaction");
        stop.store(true, Ordering::Release);
    }
}
