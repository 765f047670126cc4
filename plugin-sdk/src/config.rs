//! The plugin's `--plugin-config` pairs, with the lookups transforms need and
//! the "unknown key" check that keeps operators' typos from passing silently.

/// The `--plugin-config KEY=VALUE` pairs handed to [`crate::Transform::init`],
/// in the order the operator gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pairs: Vec<(String, String)>,
}

impl Config {
    /// Wraps the pairs as the host passed them.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Config { pairs }
    }

    /// Builds a config from literal pairs, for native unit tests.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Config::new(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }

    /// The value of `key`; the last one wins when a key is given twice.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value of `key` parsed as `T`, `default` when absent, and an error
    /// naming the key and the value when it does not parse.
    pub fn parse_or<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| format!("config key \"{key}\" has an invalid value \"{raw}\"")),
        }
    }

    /// Fails with `unknown config key "KEY"` for the first key not in `known`.
    pub fn expect_only(&self, known: &[&str]) -> Result<(), String> {
        match self.pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((key, _)) => Err(format!("unknown config key \"{key}\"")),
            None => Ok(()),
        }
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}
