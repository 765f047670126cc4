//! TLS handshake and authentication failures. librdkafka retries them for
//! ever and only reports them to the client's `error()` callback, so a wrong
//! CA or password would otherwise look like a broker that is slow to answer.
//! At start they end eoshost (exit 2, naming the broker and the cause, see
//! `client::await_cluster`); later, [`BrokerErrors::report`] counts them in
//! `eoshost_connection_errors_total{kind}` and logs at most one line per
//! [`LOG_EVERY`] while librdkafka keeps retrying.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::metrics::Metrics;

/// The longest silence between two log lines about refused connections.
pub const LOG_EVERY: Duration = Duration::from_secs(30);

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

/// A refusal, if `error` (from a client context's `error()` callback, with
/// its `reason`) is one. Other errors (transport, timeouts) are not.
pub fn refusal(error: &KafkaError, reason: &str, bootstrap: &str) -> Option<Refusal> {
    let kind = match error.rdkafka_error_code()? {
        RDKafkaErrorCode::SSL => RefusalKind::Tls,
        RDKafkaErrorCode::Authentication
        | RDKafkaErrorCode::SaslAuthenticationFailed
        | RDKafkaErrorCode::UnsupportedSASLMechanism
        | RDKafkaErrorCode::IllegalSASLState => RefusalKind::Authentication,
        _ => return None,
    };
    // librdkafka prefixes broker errors with "proto://host:port/id: ".
    let (broker, cause) = match reason.split_once(": ") {
        Some((broker, cause)) if broker.contains("://") => (broker.to_owned(), cause.to_owned()),
        _ => (bootstrap.to_owned(), reason.to_owned()),
    };
    Some(Refusal { kind, broker, cause: cause.trim().to_owned() })
}

/// Counts and logs refusals after start, rate-limited. Owned by a client
/// context and called from its `error()` callback.
pub struct BrokerErrors {
    metrics: Arc<Metrics>,
    bootstrap: String,
    last_logged: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl BrokerErrors {
    pub fn new(metrics: Arc<Metrics>, bootstrap: &str) -> Self {
        BrokerErrors { metrics, bootstrap: bootstrap.to_owned(), last_logged: Mutex::new(None), suppressed: AtomicU64::new(0) }
    }

    /// Counts and (rate-limited) logs `error` if it is a refusal; returns
    /// false for any other error, which the caller handles as before.
    pub fn report(&self, error: &KafkaError, reason: &str) -> bool {
        let Some(refusal) = refusal(error, reason, &self.bootstrap) else { return false };
        self.metrics.connection_refused(refusal.kind.as_str());
        if self.should_log(Instant::now()) {
            let suppressed = self.suppressed.swap(0, Ordering::AcqRel);
            tracing::error!(kind = refusal.kind.as_str(), suppressed, "{}; librdkafka keeps retrying", refusal.message());
        } else {
            self.suppressed.fetch_add(1, Ordering::AcqRel);
        }
        true
    }

    fn should_log(&self, now: Instant) -> bool {
        let mut last = self.last_logged.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if now.duration_since(at) < LOG_EVERY => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
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

    #[test]
    fn refusals_are_counted_every_time_and_logged_at_most_every_interval() {
        let metrics = Arc::new(Metrics::new());
        let errors = BrokerErrors::new(metrics.clone(), "b:9094");
        let error = KafkaError::Global(RDKafkaErrorCode::Authentication);
        for _ in 0..3 {
            assert!(errors.report(&error, "sasl_ssl://b:9094/1: Authentication failed"));
        }
        assert!(!errors.report(&KafkaError::Global(RDKafkaErrorCode::AllBrokersDown), "all down"));
        assert_eq!(errors.suppressed.load(Ordering::Acquire), 2);
        let now = Instant::now();
        assert!(!errors.should_log(now));
        assert!(errors.should_log(now + LOG_EVERY));
        assert!(metrics.encode().contains("eoshost_connection_errors_total{kind=\"authentication\"} 3"), "{}", metrics.encode());
    }
}
