//! The store's resource limiter: enforces the memory cap and remembers that
//! it refused a growth, so the trap that follows (an allocator abort, an
//! out-of-bounds access) is labelled `memory`, not `panic`.

use wasmtime::ResourceLimiter;

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
