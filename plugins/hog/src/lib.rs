//! `hog` (hostile fixture): allocates and touches 1 MiB after 1 MiB until the
//! allocator fails. The host must stop it at `--plugin-memory-mb` and label
//! the trap `memory`.

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform};

pub struct Hog;

impl Transform for Hog {
    fn init(_config: Config) -> Result<Self, String> {
        Ok(Hog)
    }

    fn transform(&mut self, _record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![0xA5; 1 << 20]);
            std::hint::black_box(&mut hoard);
        }
    }
}

export_transform!(Hog);
