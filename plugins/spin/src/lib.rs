//! `spin` (hostile fixture): never returns from `transform`. The host must
//! interrupt it at `--plugin-timeout-ms` and label the trap `timeout`.

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform};

pub struct Spin;

impl Transform for Spin {
    fn init(_config: Config) -> Result<Self, String> {
        Ok(Spin)
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let mut counter = record.offset as u64;
        loop {
            counter = std::hint::black_box(counter.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

export_transform!(Spin);
