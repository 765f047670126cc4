//! TLS handshake and authentication failures. librdkafka retries them for
//! ever and only reports them to the client's `error()` callback, so a wrong
//! CA or password would otherwise look like a broker that is slow to answer.
//! At start they end eoshost (exit 2, naming the broker and the cause, see
//! `client::await_cluster`); later, the client contexts emit them as
//! [`crate::events::ConnectionRefused`]: counted in
//! `eoshost_connection_errors_total{kind}`, logged at most once per 30 s
//! while librdkafka keeps retrying.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Why a broker refused the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The TLS handshake failed (untrusted certificate, wrong host name, not
    /// a TLS listener, protocol mismatch).
    Tls,
    /// SASL authentication failed (credentials, mechanism, OAuth token).
    Authentication,
}

impl RefusalKind {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::Tls => "tls",
            RefusalKind::Authentication => "authentication",
        }
    }

    fn what_to_do(self) -> &'static str {
        match self {
            RefusalKind::Tls => {
                "check security.protocol (SSL or SASL_SSL for a TLS listener), ssl.ca.location (the CA that signed the \
                 broker's certificate; the system CAs are used when it is unset) and that the bootstrap address is \
                 the name in the certificate"
            }
            RefusalKind::Authentication => {
                "check sasl.mechanism and the credentials (sasl.username/sasl.password, or the OAuth client id, secret \
                 and token endpoint); secrets can be given as @FILE or EOSHOST_LIBRDKAFKA_* variables"
            }
        }
    }
}

/// One refused connection, as librdkafka reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// `sasl_ssl://host:port/id` as librdkafka names it, or the bootstrap
    /// list when the reason names no broker.
    pub broker: String,
    /// librdkafka's reason, without the broker prefix.
    pub cause: String,
}

impl Refusal {
    /// The error message for the user: broker, cause, what to do.
    pub fn message(&self) -> String {
        let what = match self.kind {
            RefusalKind::Tls => "the TLS handshake failed",
            RefusalKind::Authentication => "authentication failed",
        };
        format!("cannot connect to Kafka broker {}: {what}: {}. {}", self.broker, self.cause, self.kind.what_to_do())
    }
}

/// The error codes of a refused connection, the one list of them (the
/// consumer's poll errors are counted as `refused` by the same list).
pub fn refusal_kind(code: RDKafkaErrorCode) -> Option<RefusalKind> {
    match code {
        RDKafkaErrorCode::SSL => Some(RefusalKind::Tls),
        RDKafkaErrorCode::Authentication
        | RDKafkaErrorCode::SaslAuthenticationFailed
        | RDKafkaErrorCode::UnsupportedSASLMechanism
        | RDKafkaErrorCode::IllegalSASLState => Some(RefusalKind::Authentication),
        _ => None,
    }
}

/// A refusal, if `error` (from a client context's `error()` callback, with
/// its `reason`) is one. Other errors (transport, timeouts) are not.
pub fn refusal(error: &KafkaError, reason: &str, bootstrap: &str) -> Option<Refusal> {
    let kind = refusal_kind(error.rdkafka_error_code()?)?;
    // librdkafka prefixes broker errors with "proto://host:port/id: ".
    let (broker, cause) = match reason.split_once(": ") {
        Some((broker, cause)) if broker.contains("://") => (broker.to_owned(), cause.to_owned()),
        _ => (bootstrap.to_owned(), reason.to_owned()),
    };
    Some(Refusal { kind, broker, cause: cause.trim().to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_and_sasl_errors_are_refusals_naming_the_broker() {
        let tls = refusal(
            &KafkaError::Global(RDKafkaErrorCode::SSL),
            "ssl://127.0.0.1:9196/bootstrap: SSL handshake failed: certificate verify failed",
            "127.0.0.1:9196",
        )
        .unwrap();
        assert_eq!(tls.kind, RefusalKind::Tls);
        assert_eq!(tls.broker, "ssl://127.0.0.1:9196/bootstrap");
        assert_eq!(tls.cause, "SSL handshake failed: certificate verify failed");
        assert!(tls.message().contains("ssl.ca.location"), "{}", tls.message());

        let auth = refusal(&KafkaError::Global(RDKafkaErrorCode::Authentication), "SASL authentication error", "b:9094").unwrap();
        assert_eq!((auth.kind, auth.broker.as_str()), (RefusalKind::Authentication, "b:9094"));
        assert!(refusal(&KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure), "x: y", "b").is_none());
    }
}
