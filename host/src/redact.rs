//! Keeping secrets out of everything eoshost prints — logs, error messages,
//! the effective-configuration line — in one place, with one marker: the
//! keys whose values are secrets, the password part of URLs, and secret
//! values quoted back by librdkafka.

/// What replaces a secret.
pub const MARKER: &str = "<redacted>";

/// librdkafka (and plugin-config) keys whose values are secrets, beyond any
/// key containing `password` or `secret`.
const SECRET_KEYS: [&str; 6] = [
    "ssl.key.pem",
    "ssl_key",
    "sasl.oauthbearer.config",
    "sasl.jaas.config",
    // --schema-registry-config: USER:PASSWORD, and a bearer token.
    "basic.auth.user.info",
    "bearer.auth.token",
];

/// Whether the value of `key` must never be printed: passwords, secrets,
/// private keys and configurations that embed them.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret") || SECRET_KEYS.contains(&key.as_str())
}

/// `value` of `key` as it may be printed: [`MARKER`] when the key is a
/// secret, else with the userinfo of every URL in it replaced.
pub fn value(key: &str, value: &str) -> String {
    if is_secret_key(key) { MARKER.to_owned() } else { urls(value) }
}

/// `text` with the userinfo (`user:password@`) of every `scheme://…@host`
/// replaced: `postgres://<redacted>@db:5432/app`.
pub fn urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#', whitespace or ','
        // (a list of URLs); userinfo is what precedes its last '@'.
        let end = tail.find(|c: char| matches!(c, '/' | '?' | '#' | ',') || c.is_whitespace()).unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(userinfo) => {
                out.push_str(MARKER);
                out.push_str(&tail[userinfo..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `text` with every secret value of `properties` replaced, for messages
/// that come from librdkafka and may quote a value.
pub fn known_secrets(text: &str, properties: &[(String, String)]) -> String {
    let mut text = text.to_owned();
    for (key, value) in properties {
        // Very short values would blank out unrelated words; they are not
        // secrets worth the name, and librdkafka never echoes them anyway.
        if is_secret_key(key) && value.len() >= 4 {
            text = text.replace(value.as_str(), MARKER);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_secrets_and_anything_called_password_or_secret_are_redacted() {
        for key in [
            "sasl.password",
            "ssl.key.password",
            "ssl.key.pem",
            "ssl_key",
            "sasl.oauthbearer.config",
            "sasl.oauthbearer.client.secret",
            "sasl.jaas.config",
            "ssl.keystore.password",
            "API_SECRET",
        ] {
            assert_eq!(value(key, "hunter2"), MARKER, "{key}");
        }
        assert_eq!(value("linger.ms", "5"), "5");
    }

    #[test]
    fn the_userinfo_of_every_url_is_redacted_and_the_rest_kept() {
        assert_eq!(
            urls("postgres://app:s3cret@db:5432/orders?sslmode=require"),
            "postgres://<redacted>@db:5432/orders?sslmode=require"
        );
        assert_eq!(urls("https://host/path@x"), "https://host/path@x");
        assert_eq!(urls("a://u:p@h1,b://h2,c://v:q@h3"), "a://<redacted>@h1,b://h2,c://<redacted>@h3");
        assert_eq!(urls("no url here"), "no url here");
        assert_eq!(urls("odd://p@ss@host"), "odd://<redacted>@host");
        assert_eq!(urls("host=h user=u"), "host=h user=u");
    }

    #[test]
    fn secret_values_quoted_back_are_blanked_and_short_ones_left() {
        let properties =
            vec![("sasl.password".to_owned(), "hunter22".to_owned()), ("ssl.key.password".to_owned(), "abc".to_owned())];
        assert_eq!(known_secrets("bad value hunter22 for abc", &properties), "bad value <redacted> for abc");
    }
}
