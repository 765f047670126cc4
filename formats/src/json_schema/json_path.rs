//! The `$.items[2].price` form in which every codec of this crate names a
//! place in a record's JSON ([`crate::FitError::path`]), built from the steps
//! a parser or validator reports, and the [`FitError`] made of it.

use crate::FitError;

/// The longest message a [`FitError`] keeps: validators and parsers quote
/// the offending value, which can be a whole record.
const MAX_MESSAGE: usize = 300;

/// One step down into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A member of an object, by key.
    Key(String),
    /// An element of an array, from 0.
    Index(usize),
}

/// `$` followed by `.key` for each key that is an identifier, `["key"]`
/// (JSON-quoted) for any other key, and `[i]` for each index.
pub(crate) fn format(steps: &[Step]) -> String {
    let mut path = String::from("$");
    for step in steps {
        match step {
            Step::Key(key) if is_identifier(key) => {
                path.push('.');
                path.push_str(key);
            }
            Step::Key(key) => {
                path.push('[');
                path.push_str(&serde_json::Value::from(key.as_str()).to_string());
                path.push(']');
            }
            Step::Index(index) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

/// The error at the place `steps` lead to, its message cut to
/// [`MAX_MESSAGE`] bytes (at a character boundary, marked with `…`).
pub(crate) fn fit_error(steps: &[Step], message: impl std::fmt::Display) -> FitError {
    let mut message = message.to_string();
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    FitError::new(format(steps), message)
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|rest| rest.is_ascii_alphanumeric() || rest == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_indexes_read_as_a_dotted_path() {
        let steps = [Step::Key("items".into()), Step::Index(2), Step::Key("price".into())];
        assert_eq!(format(&steps), "$.items[2].price");
        assert_eq!(format(&[]), "$");
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let error = fit_error(&[], "é".repeat(400));
        assert_eq!(error.message.chars().count(), MAX_MESSAGE / 2 + 1);
        assert!(error.message.ends_with("é…"));
        assert_eq!(fit_error(&[], "short").message, "short");
    }

    #[test]
    fn keys_that_are_not_identifiers_are_quoted() {
        assert_eq!(format(&[Step::Key("unit price".into())]), r#"$["unit price"]"#);
        assert_eq!(format(&[Step::Key("2".into())]), r#"$["2"]"#);
    }
}
