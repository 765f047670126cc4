//! `identity`: every record, unchanged, to the default output. The baseline
//! for throughput figures and exactly-once tests.

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform};

pub struct Identity;

impl Transform for Identity {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&[])?;
        Ok(Identity)
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        Ok(vec![OutputRecord::from_input(record)])
    }
}

export_transform!(Identity);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_passes_through_with_key_and_headers() {
        let mut identity = Identity::init(Config::default()).unwrap();
        let input = InputRecord::with_value("v").key("k").header("h", "1");
        let out = identity.transform(input).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].topic, None);
        assert_eq!(out[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(out[0].value.as_deref(), Some(&b"v"[..]));
        assert_eq!(out[0].headers[0].key, "h");
    }

    #[test]
    fn unknown_config_key_is_refused() {
        let err = Identity::init(Config::from_pairs([("typo", "1")])).err().unwrap();
        assert_eq!(err, "unknown config key \"typo\"");
    }
}
