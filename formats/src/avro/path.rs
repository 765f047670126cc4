//! Where a decode or encode failed. The hot path keeps no path: a failure
//! starts as a bare message and each enclosing field, element or map entry
//! adds its step while the error travels out, so `$.items[2].price` costs
//! nothing unless something is wrong.

use crate::FitError;

/// One step from a value into a part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Field(String),
    Index(usize),
    Key(String),
}

/// A failure on its way out: the steps seen so far (innermost first) and
/// what is wrong.
#[derive(Debug)]
pub(crate) struct Failure {
    steps: Vec<Segment>,
    message: String,
}

/// The result of one step of decoding or encoding. Boxed so that `Ok`
/// stays one word wide.
pub(crate) type Step<T> = Result<T, Box<Failure>>;

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Box<Failure> {
        Box::new(Failure { steps: Vec::new(), message: message.into() })
    }

    /// Adds the step through which the failing value was reached.
    pub(crate) fn at(mut self: Box<Self>, step: Segment) -> Box<Failure> {
        self.steps.push(step);
        self
    }

    pub(crate) fn into_fit_error(self) -> FitError {
        let mut path = String::from("$");
        for step in self.steps.iter().rev() {
            match step {
                Segment::Field(name) => {
                    path.push('.');
                    path.push_str(name);
                }
                Segment::Index(i) => {
                    path.push('[');
                    path.push_str(itoa::Buffer::new().format(*i));
                    path.push(']');
                }
                Segment::Key(key) => {
                    path.push('[');
                    path.push_str(&quoted(key, 40));
                    path.push(']');
                }
            }
        }
        FitError::new(path, self.message)
    }
}

/// A failed step with `message`.
pub(crate) fn fail<T>(message: impl Into<String>) -> Step<T> {
    Err(Failure::new(message))
}

/// `text` as a JSON string for a message, cut after `max` characters.
pub(crate) fn quoted(text: &str, max: usize) -> String {
    let cut = match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    };
    let mut quoted = serde_json::Value::from(cut).to_string();
    if cut.len() < text.len() {
        quoted.insert(quoted.len() - 1, '…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_render_outermost_first_as_a_json_path() {
        let failure = Failure::new("bad")
            .at(Segment::Field("price".into()))
            .at(Segment::Index(2))
            .at(Segment::Field("items".into()))
            .at(Segment::Key("k\"1".into()))
            .at(Segment::Field("attrs".into()));
        let error = failure.into_fit_error();
        assert_eq!(error.path, r#"$.attrs["k\"1"].items[2].price"#);
        assert_eq!(error.message, "bad");
    }

    #[test]
    fn a_failure_with_no_steps_is_at_the_root() {
        assert_eq!(Failure::new("x").into_fit_error().path, "$");
    }

    #[test]
    fn long_texts_are_cut_in_messages() {
        assert_eq!(quoted("abcdef", 3), "\"abc…\"");
        assert_eq!(quoted("abc", 3), "\"abc\"");
        assert_eq!(quoted("ééé", 2), "\"éé…\"");
    }
}
