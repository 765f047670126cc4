//! The Schema Registry client: the few calls of the Confluent-compatible
//! REST API eoshost makes (a schema by id, a subject's version, register),
//! over HTTP or HTTPS with the settings of `--schema-registry-config`, and
//! what each answer means for the caller: found, not there (a record's
//! problem), refused (the user's), or unavailable (wait and try again).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use eoshost_formats::{Kind, Reference};
use serde::{Deserialize, Serialize};

use super::settings::RegistrySettings;

/// The media type of the registry's API.
const MEDIA_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Why a call did not give what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    /// 404: no such schema id, subject or version.
    #[error("{0}")]
    NotFound(String),
    /// The registry answered and said no (409 incompatible, 422 invalid
    /// schema, 401/403 credentials): retrying the same call cannot help.
    #[error("HTTP {status}: {message}")]
    Refused { status: u16, message: String },
    /// No answer, or 5xx/429: the registry is down or overloaded; the same
    /// call may work later.
    #[error("{0}")]
    Unavailable(String),
}

impl RegistryError {
    /// The metric label of the outcome.
    pub fn outcome(&self) -> &'static str {
        match self {
            RegistryError::NotFound(_) => "not_found",
            RegistryError::Refused { .. } => "refused",
            RegistryError::Unavailable(_) => "unavailable",
        }
    }
}

/// A schema as the registry keeps it, with its references resolved to
/// their texts.
#[derive(Debug, Clone)]
pub struct RegisteredSchema {
    pub id: u32,
    pub kind: Kind,
    pub text: String,
    /// The referenced schemas' texts, those referred to first.
    pub references: Vec<Reference>,
    /// The references as the registry lists them (to register the schema
    /// under another subject).
    pub listed: Vec<SchemaReference>,
}

/// A reference as the registry lists it: the name the schema uses, and the
/// subject and version holding the referenced schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaAnswer {
    schema: String,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<SchemaReference>,
    #[serde(default)]
    id: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Registration<'a> {
    schema: &'a str,
    schema_type: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    references: &'a [SchemaReference],
}

#[derive(Deserialize)]
struct Registered {
    id: u32,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    message: Option<String>,
}

/// Deepest chain of references followed before giving up (a cycle).
const MAX_REFERENCE_DEPTH: usize = 16;

/// One registry, its URL and credentials.
#[derive(Clone)]
pub struct RegistryClient {
    base: Arc<str>,
    agent: ureq::Agent,
    authorization: Option<String>,
    headers: Vec<(String, String)>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("base", &crate::redact::urls(&self.base)).finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client of the registry at `url` (the base Confluent clients take,
    /// e.g. `http://127.0.0.1:58081/apis/ccompat/v7`).
    pub fn new(url: &str, settings: &RegistrySettings) -> Result<Self, String> {
        let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::NativeTls);
        tls = match &settings.ca_pem {
            Some(pem) => {
                let certs = ureq::tls::parse_pem(pem.as_bytes())
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("ssl.ca.location: not a PEM certificate file: {e}"))?;
                if certs.is_empty() {
                    return Err("ssl.ca.location: the file holds no PEM certificate".to_owned());
                }
                tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
            }
            None => tls.root_certs(ureq::tls::RootCerts::PlatformVerifier),
        };
        if let Some((cert_pem, key_pem)) = &settings.client_pem {
            let certs = ureq::tls::parse_pem(cert_pem.as_bytes())
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect::<Vec<_>>();
            let key = ureq::tls::PrivateKey::from_pem(key_pem.as_bytes())
                .map_err(|e| format!("ssl.key.location: not a PEM private key: {e}"))?;
            if certs.is_empty() {
                return Err("ssl.certificate.location: the file holds no PEM certificate".to_owned());
            }
            tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&certs, key)));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.request_timeout))
            .user_agent(format!("eoshost/{}", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build()
            .new_agent();
        Ok(RegistryClient {
            base: url.trim_end_matches('/').into(),
            agent,
            authorization: settings.authorization.clone(),
            headers: settings.headers.clone(),
        })
    }

    /// The registry's URL, with any credentials in it redacted.
    pub fn url(&self) -> String {
        crate::redact::urls(&self.base)
    }

    /// The schema with this id, its references fetched too.
    pub fn schema_by_id(&self, id: u32) -> Result<RegisteredSchema, RegistryError> {
        let answer: SchemaAnswer = self.get(&format!("/schemas/ids/{id}"))?;
        self.resolved(id, answer)
    }

    /// Version `version` (a number or `latest`) of `subject`.
    pub fn subject_version(&self, subject: &str, version: &str) -> Result<RegisteredSchema, RegistryError> {
        let answer: SchemaAnswer = self.get(&format!("/subjects/{}/versions/{version}", encode_path(subject)))?;
        let id = answer.id.ok_or_else(|| RegistryError::Unavailable("the registry's answer has no schema id".into()))?;
        self.resolved(id, answer)
    }

    /// Registers `text` under `subject` (an existing identical schema is
    /// found, not registered twice): its id.
    pub fn register(&self, subject: &str, kind: Kind, text: &str, references: &[SchemaReference]) -> Result<u32, RegistryError> {
        let body = Registration { schema: text, schema_type: kind.registry_name(), references };
        let body = serde_json::to_string(&body).expect("a registration serialises");
        let registered: Registered = self.post(&format!("/subjects/{}/versions", encode_path(subject)), &body)?;
        Ok(registered.id)
    }

    fn resolved(&self, id: u32, answer: SchemaAnswer) -> Result<RegisteredSchema, RegistryError> {
        let kind = kind_of(answer.schema_type.as_deref())?;
        let mut references = Vec::new();
        self.follow(&answer.references, &mut references, 0)?;
        Ok(RegisteredSchema { id, kind, text: answer.schema, references, listed: answer.references })
    }

    /// Appends the texts of `listed` (and of what they refer to, first) to
    /// `into`, each name once.
    fn follow(&self, listed: &[SchemaReference], into: &mut Vec<Reference>, depth: usize) -> Result<(), RegistryError> {
        if listed.is_empty() {
            return Ok(());
        }
        if depth >= MAX_REFERENCE_DEPTH {
            return Err(RegistryError::Refused {
                status: 0,
                message: format!("schema references nest deeper than {MAX_REFERENCE_DEPTH} (a cycle?)"),
            });
        }
        for reference in listed {
            if into.iter().any(|known| known.name == reference.name) {
                continue;
            }
            let path = format!("/subjects/{}/versions/{}", encode_path(&reference.subject), reference.version);
            let answer: SchemaAnswer = self.get(&path).map_err(|error| match error {
                RegistryError::NotFound(message) => RegistryError::NotFound(format!(
                    "reference {} (subject {} version {}): {message}",
                    reference.name, reference.subject, reference.version
                )),
                other => other,
            })?;
            self.follow(&answer.references, into, depth + 1)?;
            into.push(Reference { name: reference.name.clone(), schema: answer.schema });
        }
        Ok(())
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, RegistryError> {
        let mut request = self.agent.get(format!("{}{path}", self.base)).header("Accept", MEDIA_TYPE);
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        answer(request.call())
    }

    fn post<T: serde::de::DeserializeOwned>(&self, path: &str, body: &str) -> Result<T, RegistryError> {
        let mut request =
            self.agent.post(format!("{}{path}", self.base)).header("Accept", MEDIA_TYPE).header("Content-Type", MEDIA_TYPE);
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        answer(request.send(body))
    }
}

/// Sorts an HTTP outcome into found, not found, refused and unavailable.
fn answer<T: serde::de::DeserializeOwned>(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<T, RegistryError> {
    let mut response = response.map_err(|e| RegistryError::Unavailable(describe_transport(&e)))?;
    let status = response.status().as_u16();
    let mut text = String::new();
    response
        .body_mut()
        .as_reader()
        .take(64 << 20)
        .read_to_string(&mut text)
        .map_err(|e| RegistryError::Unavailable(format!("reading the registry's answer: {e}")))?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text).map_err(|e| {
            RegistryError::Unavailable(format!("the registry's answer is not what was expected ({e}): {text:.200}"))
        });
    }
    let message = serde_json::from_str::<ErrorAnswer>(&text)
        .ok()
        .and_then(|answer| answer.message)
        .unwrap_or_else(|| text.trim().chars().take(300).collect());
    Err(match status {
        404 => RegistryError::NotFound(message),
        429 | 500.. => RegistryError::Unavailable(format!("HTTP {status}: {message}")),
        _ => RegistryError::Refused { status, message },
    })
}

fn describe_transport(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => "no answer in time (timeout)".to_owned(),
        ureq::Error::Io(io) => format!("cannot reach the registry: {io}"),
        ureq::Error::HostNotFound => "cannot reach the registry: host not found".to_owned(),
        other => format!("cannot reach the registry: {other}"),
    }
}

fn kind_of(schema_type: Option<&str>) -> Result<Kind, RegistryError> {
    match schema_type.unwrap_or("AVRO") {
        "AVRO" => Ok(Kind::Avro),
        "PROTOBUF" => Ok(Kind::Protobuf),
        "JSON" => Ok(Kind::Json),
        other => Err(RegistryError::Refused { status: 0, message: format!("unknown schemaType {other}") }),
    }
}

/// A subject as one path segment (subjects may hold `/`, `:`, spaces).
fn encode_path(subject: &str) -> String {
    let mut out = String::with_capacity(subject.len());
    for byte in subject.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// How long one request may take when `--schema-registry-config` says nothing.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_one_path_segment() {
        assert_eq!(encode_path("orders-value"), "orders-value");
        assert_eq!(encode_path("com.acme/Order x"), "com.acme%2FOrder%20x");
    }

    #[test]
    fn a_schema_without_type_is_avro_as_in_confluent() {
        assert_eq!(kind_of(None).unwrap(), Kind::Avro);
        assert_eq!(kind_of(Some("PROTOBUF")).unwrap(), Kind::Protobuf);
        assert!(kind_of(Some("XML")).is_err());
    }
}
