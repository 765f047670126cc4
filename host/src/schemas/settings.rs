//! `--schema-registry-config KEY=VALUE`: the Schema Registry client's
//! settings, under the names Confluent's clients use, from the command
//! line, the `[schema-registry]` table of `--config`, and the
//! `EOSHOST_SCHEMA_REGISTRY_<KEY>` variables (`@FILE` values read from
//! files, as for `-X`; secrets redacted wherever they are printed).

use std::time::Duration;

use base64::Engine;

use super::registry::DEFAULT_REQUEST_TIMEOUT;

/// The keys `--schema-registry-config` takes, and what each does.
pub const KEYS: [(&str, &str); 9] = [
    ("basic.auth.user.info", "USER:PASSWORD for HTTP basic authentication (Confluent Cloud: API key and secret)"),
    ("basic.auth.credentials.source", "USER_INFO (the default) or URL (credentials from the URL's userinfo)"),
    ("bearer.auth.token", "a static bearer token (Authorization: Bearer …)"),
    ("bearer.auth.logical.cluster", "Confluent Cloud: the target-sr-cluster header"),
    ("bearer.auth.identity.pool.id", "Confluent Cloud: the Confluent-Identity-Pool-Id header"),
    ("ssl.ca.location", "a PEM file of the CA certificates to trust (default: the system's)"),
    ("ssl.certificate.location", "a PEM client certificate, for mutual TLS (with ssl.key.location)"),
    ("ssl.key.location", "the PEM private key of ssl.certificate.location"),
    ("request.timeout.ms", "how long one request may take (default 10000)"),
];

/// The prefix of the per-setting environment variables.
pub const ENV_PREFIX: &str = "EOSHOST_SCHEMA_REGISTRY_";

/// The client's settings, checked.
#[derive(Debug, Clone, Default)]
pub struct RegistrySettings {
    /// The `Authorization` header's value, if any.
    pub authorization: Option<String>,
    /// Other headers (Confluent Cloud's).
    pub headers: Vec<(String, String)>,
    pub ca_pem: Option<String>,
    /// Client certificate and key, PEM.
    pub client_pem: Option<(String, String)>,
    pub request_timeout: Duration,
}

impl RegistrySettings {
    /// The settings of `pairs` (in order; the last of a key wins) for the
    /// registry at `url`: unknown keys and unreadable files are usage errors
    /// naming the key.
    pub fn from_pairs(url: &str, pairs: &[(String, String)]) -> Result<RegistrySettings, String> {
        let get = |key: &str| pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        for (key, _) in pairs {
            if !KEYS.iter().any(|(known, _)| known == key) {
                let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
                return Err(format!("--schema-registry-config: unknown key {key}; the keys are {}", known.join(", ")));
            }
        }
        let mut settings = RegistrySettings { request_timeout: DEFAULT_REQUEST_TIMEOUT, ..Default::default() };
        let basic = match get("basic.auth.credentials.source").unwrap_or("USER_INFO") {
            "USER_INFO" => get("basic.auth.user.info").map(str::to_owned),
            "URL" => url_user_info(url),
            other => {
                return Err(format!("--schema-registry-config basic.auth.credentials.source={other}: use USER_INFO or URL"));
            }
        };
        if let Some(user_info) = basic {
            if !user_info.contains(':') {
                return Err("--schema-registry-config basic.auth.user.info: write USER:PASSWORD".to_owned());
            }
            settings.authorization =
                Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_info.as_bytes())));
        }
        if let Some(token) = get("bearer.auth.token") {
            if settings.authorization.is_some() {
                return Err("--schema-registry-config: give basic.auth.user.info or bearer.auth.token, not both".to_owned());
            }
            settings.authorization = Some(format!("Bearer {token}"));
        }
        if let Some(cluster) = get("bearer.auth.logical.cluster") {
            settings.headers.push(("target-sr-cluster".to_owned(), cluster.to_owned()));
        }
        if let Some(pool) = get("bearer.auth.identity.pool.id") {
            settings.headers.push(("Confluent-Identity-Pool-Id".to_owned(), pool.to_owned()));
        }
        let read = |key: &str, path: &str| {
            std::fs::read_to_string(path).map_err(|e| format!("--schema-registry-config {key}={path}: cannot read it: {e}"))
        };
        if let Some(path) = get("ssl.ca.location") {
            settings.ca_pem = Some(read("ssl.ca.location", path)?);
        }
        match (get("ssl.certificate.location"), get("ssl.key.location")) {
            (Some(cert), Some(key)) => {
                settings.client_pem = Some((read("ssl.certificate.location", cert)?, read("ssl.key.location", key)?))
            }
            (None, None) => {}
            _ => {
                return Err("--schema-registry-config: ssl.certificate.location and ssl.key.location go together".to_owned());
            }
        }
        if let Some(ms) = get("request.timeout.ms") {
            let ms: u64 = ms
                .parse()
                .ok()
                .filter(|ms| *ms > 0)
                .ok_or_else(|| format!("--schema-registry-config request.timeout.ms={ms}: give milliseconds, above 0"))?;
            settings.request_timeout = Duration::from_millis(ms);
        }
        Ok(settings)
    }
}

/// `user:password` of `scheme://user:password@host/…`, if there.
fn url_user_info(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    authority.rsplit_once('@').map(|(user_info, _)| user_info.to_owned())
}

/// The settings the `EOSHOST_SCHEMA_REGISTRY_*` variables among `vars` give
/// (`EOSHOST_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO` sets
/// `basic.auth.user.info`), sorted by name. `…_URL` and `…_CONFIG` are the
/// variables of the options themselves, not settings.
pub fn from_env_vars(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = vars
        .into_iter()
        .filter_map(|(name, value)| {
            let rest = name.strip_prefix(ENV_PREFIX)?;
            (!rest.is_empty() && rest != "URL" && rest != "CONFIG").then(|| (rest.to_ascii_lowercase().replace('_', "."), value))
        })
        .collect();
    settings.sort();
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn basic_auth_user_info_becomes_a_basic_authorization_header() {
        let settings = RegistrySettings::from_pairs("http://r", &pairs(&[("basic.auth.user.info", "key:secret")])).unwrap();
        assert_eq!(settings.authorization.as_deref(), Some("Basic a2V5OnNlY3JldA=="));
    }

    #[test]
    fn credentials_may_come_from_the_url() {
        let settings = RegistrySettings::from_pairs(
            "https://key:secret@sr.example/apis",
            &pairs(&[("basic.auth.credentials.source", "URL")]),
        )
        .unwrap();
        assert_eq!(settings.authorization.as_deref(), Some("Basic a2V5OnNlY3JldA=="));
    }

    #[test]
    fn a_bearer_token_and_cloud_headers_are_sent() {
        let settings = RegistrySettings::from_pairs(
            "http://r",
            &pairs(&[("bearer.auth.token", "t0k"), ("bearer.auth.logical.cluster", "lsrc-1")]),
        )
        .unwrap();
        assert_eq!(settings.authorization.as_deref(), Some("Bearer t0k"));
        assert_eq!(settings.headers, [("target-sr-cluster".to_owned(), "lsrc-1".to_owned())]);
    }

    #[test]
    fn an_unknown_key_is_refused_naming_the_known_ones() {
        let error = RegistrySettings::from_pairs("http://r", &pairs(&[("basic.auth.user", "x")])).unwrap_err();
        assert!(error.contains("unknown key basic.auth.user") && error.contains("basic.auth.user.info"), "{error}");
    }

    #[test]
    fn variables_name_settings_but_not_the_options_themselves() {
        let vars = [
            ("EOSHOST_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "a:b"),
            ("EOSHOST_SCHEMA_REGISTRY_URL", "http://r"),
            ("EOSHOST_OTHER", "x"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(from_env_vars(vars), [("basic.auth.user.info".to_owned(), "a:b".to_owned())]);
    }
}
