//! What a plugin instance can reach (its WASI view and the host state of its
//! store): a WASI context with no preopened
//! directories, no environment, no arguments, no sockets and no name lookup;
//! clocks and random numbers only. Its stdout and stderr are captured into
//! bounded per-call buffers that the host drains into its own log.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::MemoryCap;

/// The data of one instance's store.
pub struct SandboxState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) memory: MemoryCap,
    pub(super) stdout: CapturedOutput,
    pub(super) stderr: CapturedOutput,
    pub(super) plugin_name: Arc<str>,
    /// The store behind the `state` import (`None` for a stateless plugin).
    pub(super) state: Option<crate::state::SharedState>,
    /// The tables behind the `tables` import (`None` in `init`, and for a
    /// plugin that reads none).
    pub(super) tables: Option<crate::tables::Tables>,
}

impl SandboxState {
    pub fn new(
        plugin_name: Arc<str>,
        memory_bytes: usize,
        output_bytes: usize,
        state: Option<crate::state::SharedState>,
        tables: Option<crate::tables::Tables>,
    ) -> Self {
        let stdout = CapturedOutput::new(output_bytes);
        let stderr = CapturedOutput::new(output_bytes);
        // The builder starts empty: nothing is inherited or preopened.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        SandboxState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap::new(memory_bytes),
            stdout,
            stderr,
            plugin_name,
            state,
            tables,
        }
    }
}

impl WasiView for SandboxState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A plugin's stdout or stderr: keeps up to a bound of bytes per call and
/// counts the rest. Writes never fail, so a chatty plugin is never made to
/// trap by its own logging.
#[derive(Clone)]
pub struct CapturedOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: usize,
    limit: usize,
}

impl CapturedOutput {
    fn new(limit: usize) -> Self {
        CapturedOutput { inner: Arc::new(Mutex::new(Captured { limit, ..Captured::default() })) }
    }

    fn append(&self, bytes: &[u8]) {
        let mut captured = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let room = captured.limit.saturating_sub(captured.kept.len());
        let kept = bytes.len().min(room);
        captured.kept.extend_from_slice(&bytes[..kept]);
        captured.dropped += bytes.len() - kept;
    }

    /// The last non-empty line kept so far, without draining it.
    pub fn peek_last_line(&self) -> Option<String> {
        let captured = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let text = String::from_utf8_lossy(&captured.kept);
        // Rust's hint about RUST_BACKTRACE follows every panic message.
        text.lines()
            .rev()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE"))
            .map(|line| line.chars().take(300).collect())
    }

    /// Takes what was written since the last drain: the kept text and the
    /// number of bytes dropped.
    pub fn drain(&self) -> (String, usize) {
        let mut captured = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let text = String::from_utf8_lossy(&captured.kept).into_owned();
        captured.kept.clear();
        (text, std::mem::take(&mut captured.dropped))
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
