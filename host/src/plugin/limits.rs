//! The bounds every plugin instance runs under ([`SandboxLimits`]: time,
//! memory, stack, output) and the store's resource limiter that enforces the
//! memory cap ([`MemoryCap`]), which remembers that it refused a growth, so
//! the trap that follows (an allocator abort, an out-of-bounds access) is
//! labelled `memory`, not `panic`.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// How often the ticker advances the epoch. A call overruns its budget by at
/// most one tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The bounds every plugin instance runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Wall-clock budget of one `init` or `transform` call.
    pub call_timeout: Duration,
    /// Cap on each linear memory of one instance.
    pub memory_bytes: usize,
    /// Cap on the Wasm (native) stack of a call.
    pub stack_bytes: usize,
    /// Bytes of stdout and of stderr kept per call; the rest is dropped.
    pub output_bytes_per_call: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            call_timeout: Duration::from_millis(crate::defaults::PLUGIN_TIMEOUT_MS),
            memory_bytes: (crate::defaults::PLUGIN_MEMORY_MB as usize) << 20,
            stack_bytes: 512 << 10,
            output_bytes_per_call: 16 << 10,
        }
    }
}

impl SandboxLimits {
    /// The epoch deadline, in ticks, that enforces `call_timeout`.
    pub fn deadline_ticks(&self) -> u64 {
        (self.call_timeout.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64
    }
}

/// Upper bound on table growth; tables hold function references, not data.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

#[derive(Debug)]
pub struct MemoryCap {
    max_bytes: usize,
    denied_growth: bool,
}

impl MemoryCap {
    pub fn new(max_bytes: usize) -> Self {
        MemoryCap { max_bytes, denied_growth: false }
    }

    /// Whether a growth was refused since the instance was made.
    pub fn denied_growth(&self) -> bool {
        self.denied_growth
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_bytes && maximum.is_none_or(|max| desired <= max);
        self.denied_growth |= !allowed;
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.denied_growth = true;
        Ok(())
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|max| desired <= max))
    }
}
