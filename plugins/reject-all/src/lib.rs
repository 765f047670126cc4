//! `reject-all`: rejects every record, for testing `--on-error` policies.

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform};

pub struct RejectAll;

impl Transform for RejectAll {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&[])?;
        Ok(RejectAll)
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        Err(Rejection::new(format!("reject-all rejects every record (offset {})", record.offset)))
    }
}

export_transform!(RejectAll);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_is_rejected_with_its_offset() {
        let mut plugin = RejectAll::init(Config::default()).unwrap();
        let err = plugin.transform(InputRecord::with_value("x")).unwrap_err();
        assert_eq!(err.reason, "reject-all rejects every record (offset 0)");
    }
}
