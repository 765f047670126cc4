//! librdkafka properties that carry secrets: where they come from besides the
//! command line. (How they are kept out of what eoshost prints:
//! [`crate::redact`].)
//!
//! Sources, lowest precedence first: the `--config` file's `[librdkafka]`
//! table, then one environment variable per property, then `-X`. The
//! variable of a property is `EOSHOST_LIBRDKAFKA_` followed by its name in
//! upper case with `.` written `_` (and a literal `_` written `__`):
//! `EOSHOST_LIBRDKAFKA_SASL_PASSWORD` sets `sasl.password`,
//! `EOSHOST_LIBRDKAFKA_SASL_OAUTHBEARER_CLIENT_SECRET` sets
//! `sasl.oauthbearer.client.secret`.
//!
//! In every source, a value `@PATH` is read from the file PATH (one trailing
//! newline trimmed), so a mounted Kubernetes Secret never appears in a
//! process listing: `-X sasl.password=@/run/secrets/kafka`. A value that
//! really starts with `@` is written with two: `@@x` is the literal `@x`.

use std::path::PathBuf;

/// The prefix of the per-property environment variables.
pub const ENV_PREFIX: &str = "EOSHOST_LIBRDKAFKA_";

/// A `@file` value that could not be read. Names the property and the path,
/// never the content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the value of {key} from {}: {source}; check that the file is mounted and readable (write @@ for a value that starts with a literal @)", path.display())]
    Unreadable { key: String, path: PathBuf, source: std::io::Error },
    #[error("the value of {key} is read from {} but the file is not UTF-8 text", path.display())]
    NotText { key: String, path: PathBuf },
    #[error("the value of {key} is `@` with no file name; write @PATH to read it from a file, or @@ for a literal @")]
    NoPath { key: String },
}

/// The properties set by `EOSHOST_LIBRDKAFKA_*` variables among `vars`, sorted
/// by name so that the order does not depend on the environment's.
pub fn from_env_vars(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut properties: Vec<(String, String)> = vars
        .into_iter()
        .filter_map(|(name, value)| {
            let rest = name.strip_prefix(ENV_PREFIX)?;
            (!rest.is_empty()).then(|| (property_name(rest), value))
        })
        .collect();
    properties.sort();
    properties
}

/// `SASL_PASSWORD` → `sasl.password`; `__` stands for a literal `_`.
fn property_name(env_tail: &str) -> String {
    env_tail.to_ascii_lowercase().split("__").map(|part| part.replace('_', ".")).collect::<Vec<_>>().join("_")
}

/// Replaces every `@PATH` value by the file's content and `@@x` by `@x`.
pub fn resolve_files(properties: &mut [(String, String)]) -> Result<(), SecretError> {
    for (key, value) in properties.iter_mut() {
        if let Some(resolved) = resolve_value(key, value)? {
            *value = resolved;
        }
    }
    Ok(())
}

/// The value to use, or `None` when `value` is already it.
fn resolve_value(key: &str, value: &str) -> Result<Option<String>, SecretError> {
    let Some(rest) = value.strip_prefix('@') else { return Ok(None) };
    if let Some(literal) = rest.strip_prefix('@') {
        return Ok(Some(format!("@{literal}")));
    }
    if rest.is_empty() {
        return Err(SecretError::NoPath { key: key.to_owned() });
    }
    let path = PathBuf::from(rest);
    let bytes =
        std::fs::read(&path).map_err(|source| SecretError::Unreadable { key: key.to_owned(), path: path.clone(), source })?;
    let mut text = String::from_utf8(bytes).map_err(|_| SecretError::NotText { key: key.to_owned(), path })?;
    // Editors and `echo` end files with a newline; a secret never does.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn environment_variables_map_to_property_names() {
        let vars = [
            ("EOSHOST_LIBRDKAFKA_SASL_PASSWORD", "pw"),
            ("EOSHOST_LIBRDKAFKA_SASL_OAUTHBEARER_CLIENT_SECRET", "cs"),
            ("EOSHOST_LIBRDKAFKA_SOME__ODD_NAME", "x"),
            ("EOSHOST_LIBRDKAFKA", "linger.ms=5"),
            ("EOSHOST_LIBRDKAFKA_", "ignored"),
            ("EOSHOST_GROUP", "g"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            from_env_vars(vars),
            pairs(&[("sasl.oauthbearer.client.secret", "cs"), ("sasl.password", "pw"), ("some_odd.name", "x")])
        );
    }

    #[test]
    fn at_values_are_read_from_files_with_one_newline_trimmed() {
        let dir = std::env::temp_dir().join(format!("eoshost-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kafka");
        std::fs::write(&file, "pa ss\n\n").unwrap();
        let crlf = dir.join("crlf");
        std::fs::write(&crlf, "win\r\n").unwrap();
        let mut properties = pairs(&[
            ("sasl.password", &format!("@{}", file.display())),
            ("ssl.key.password", &format!("@{}", crlf.display())),
            ("sasl.username", "@@alice"),
            ("client.rack", "plain"),
        ]);
        resolve_files(&mut properties).unwrap();
        assert_eq!(
            properties,
            pairs(&[
                ("sasl.password", "pa ss\n"),
                ("ssl.key.password", "win"),
                ("sasl.username", "@alice"),
                ("client.rack", "plain")
            ])
        );
    }

    #[test]
    fn an_unreadable_file_is_named_without_any_value() {
        let mut properties = pairs(&[("sasl.password", "@/nonexistent/eoshost/secret")]);
        let message = resolve_files(&mut properties).unwrap_err().to_string();
        assert!(message.contains("sasl.password") && message.contains("/nonexistent/eoshost/secret"), "{message}");
        assert!(message.contains("@@"), "{message}");
        let mut empty = pairs(&[("sasl.password", "@")]);
        assert!(matches!(resolve_files(&mut empty), Err(SecretError::NoPath { .. })));
    }
}
