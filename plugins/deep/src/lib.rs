//! `deep` (hostile fixture): recursion without a base case the input can
//! reach. The host must stop it when the Wasm stack is exhausted and label the
//! trap `stack`.

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform};

pub struct Deep;

/// Each frame keeps its values in Wasm locals (the native Wasm stack, which
/// the host bounds), not in linear memory.
#[inline(never)]
fn descend(depth: u64, salt: u64) -> u64 {
    if std::hint::black_box(depth) == u64::MAX {
        return salt;
    }
    let below = descend(depth + 1, salt ^ depth);
    std::hint::black_box(below.wrapping_add(depth))
}

impl Transform for Deep {
    fn init(_config: Config) -> Result<Self, String> {
        Ok(Deep)
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let bottom = descend(0, record.offset as u64);
        Ok(vec![OutputRecord::new(None, bottom.to_string())])
    }
}

export_transform!(Deep);
