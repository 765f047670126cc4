//! What a producer-side Kafka error means for the exactly-once loop: a
//! transactional call's error is retried, aborts the transaction, or makes
//! the producer unusable; a refused output would be refused again or not.
//! (Consumer errors: `consume_error`; connection refusals: `broker_errors`.)

use rdkafka::error::{KafkaError, RDKafkaErrorCode as Code};

/// What the caller must do after a failed transactional call.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    /// Abort the transaction and rewind the consumer.
    #[error("abortable transaction error: {0}")]
    Abortable(KafkaError),
    /// The producer is unusable (fenced, or an error librdkafka does not
    /// classify): replace it (the new one's `init_transactions` fences the
    /// old), then rewind.
    #[error("fatal producer error: {0}")]
    Fatal(KafkaError),
    /// The call did not return within its deadline: the producer is
    /// abandoned (librdkafka can block in some calls after a coordinator's
    /// node dies), replaced, and the consumer rewound.
    #[error("librdkafka's {call} did not return within {deadline:?}")]
    Hung { call: &'static str, deadline: std::time::Duration },
}

impl TxnError {
    /// A record the producer did not take inside a transaction: a fenced
    /// producer is done for (a newer one owns the transactional id); any
    /// other refusal aborts the transaction.
    pub fn from_refused_send(error: KafkaError) -> TxnError {
        if is_fenced(&error) { TxnError::Fatal(error) } else { TxnError::Abortable(error) }
    }

    /// The label of `eoshost_producer_replacements_total` when this error
    /// costs the producer, `None` when an abort is enough.
    pub fn replacement_reason(&self) -> Option<&'static str> {
        match self {
            TxnError::Abortable(_) => None,
            TxnError::Fatal(error) if is_fenced(error) => Some("fenced"),
            TxnError::Fatal(_) => Some("fatal"),
            TxnError::Hung { .. } => Some("hung_call"),
        }
    }
}

/// How librdkafka classifies a transactional call's error.
pub enum TxnClass {
    /// Retry the same call.
    Retriable,
    /// Abort the transaction.
    Abortable,
    /// The producer is unusable.
    Fatal,
}

/// Classifies the error of a transactional call (librdkafka's own flags
/// first; anything it does not classify is fatal, as its documentation asks).
pub fn classify_txn(error: &KafkaError) -> TxnClass {
    match error {
        KafkaError::Transaction(rd) if rd.is_fatal() => TxnClass::Fatal,
        KafkaError::Transaction(rd) if rd.txn_requires_abort() => TxnClass::Abortable,
        KafkaError::Transaction(rd) if rd.is_retriable() => TxnClass::Retriable,
        _ => TxnClass::Fatal,
    }
}

/// A newer producer with the same `transactional.id` took over.
pub fn is_fenced(error: &KafkaError) -> bool {
    matches!(error.rdkafka_error_code(), Some(Code::Fenced | Code::ProducerFenced | Code::InvalidProducerEpoch))
}

/// Errors after which the same output would be refused again: the record
/// that made it follows `--on-error` instead of failing forever.
pub fn is_permanent_produce_error(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            Code::MessageSizeTooLarge
                | Code::InvalidMessageSize
                | Code::InvalidMessage
                | Code::MessageBatchTooLarge
                | Code::InvalidRecord
                | Code::TopicAuthorizationFailed
                | Code::UnknownTopicOrPartition
                | Code::UnknownTopic
                | Code::UnknownPartition
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_producer_fenced_by_a_newer_epoch_is_recognised() {
        assert!(is_fenced(&KafkaError::MessageProduction(Code::Fenced)));
        assert!(is_fenced(&KafkaError::MessageProduction(Code::ProducerFenced)));
        assert!(!is_fenced(&KafkaError::MessageProduction(Code::MessageSizeTooLarge)));
    }
}
