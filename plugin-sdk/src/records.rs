//! Conveniences on the generated record types, so transforms read as
//! domain code rather than struct plumbing, and a typed [`Rejection`].

use crate::{Header, InputRecord, OutputRecord};

/// "This record is bad in itself": the operator's `--on-error` policy applies
/// at once and the record is not retried. The reason is logged and, under
/// `--on-error dlq`, written to the dead letter's `eoshost.error` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why the record was rejected, for the operator.
    pub reason: String,
}

impl Rejection {
    /// A rejection with the given reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Rejection { reason: reason.into() }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Rejection {}

impl Header {
    /// A header with a text value.
    pub fn new(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Header { key: key.into(), value: value.into() }
    }
}

impl InputRecord {
    /// A record with only a value, as if read from offset 0 of partition 0 of
    /// topic `test`: the starting point of native unit tests.
    pub fn with_value(value: impl Into<Vec<u8>>) -> Self {
        InputRecord {
            topic: "test".to_owned(),
            partition: 0,
            offset: 0,
            timestamp: None,
            key: None,
            value: Some(value.into()),
            headers: Vec::new(),
        }
    }

    /// The same record with `key`.
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The same record with one more header.
    pub fn header(mut self, key: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header::new(key, value));
        self
    }

    /// The value of the last header named `key`, if any.
    pub fn header_value(&self, key: &str) -> Option<&[u8]> {
        self.headers.iter().rev().find(|h| h.key == key).map(|h| h.value.as_slice())
    }
}

impl OutputRecord {
    /// A record for the default output (the first `--output` topic).
    pub fn new(key: Option<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        OutputRecord { topic: None, key, value: Some(value.into()), headers: Vec::new() }
    }

    /// The input record unchanged, for the default output.
    pub fn from_input(record: InputRecord) -> Self {
        OutputRecord { topic: None, key: record.key, value: record.value, headers: record.headers }
    }

    /// The same record sent to `topic` instead of the default output.
    pub fn to_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// The same record with one more header.
    pub fn header(mut self, key: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header::new(key, value));
        self
    }
}
