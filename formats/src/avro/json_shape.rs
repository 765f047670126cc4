//! What each type's values look like in JSON, for the encoder: which
//! plain JSON value a union branch takes, and how an expected type and a
//! found value are named in error messages.

use super::json_reader::Kind;
use super::node::{FixedKind, IntKind, LongKind, Node, StringKind, TimeUnit};
use super::path::quoted;

/// Whether a plain JSON value of `kind` has the form of `node`'s values.
pub(crate) fn fits(node: &Node, kind: Kind, integer: bool, named_float: bool) -> bool {
    match (node, kind) {
        (Node::Null, Kind::Null) | (Node::Boolean, Kind::Bool) => true,
        (Node::Int(_) | Node::Long(_), Kind::Number) => integer,
        (Node::Int(IntKind::Plain) | Node::Long(LongKind::Plain), Kind::String) => false,
        (Node::Int(_) | Node::Long(_), Kind::String) => true,
        (Node::Float | Node::Double, Kind::Number) => true,
        (Node::Float | Node::Double, Kind::String) => named_float,
        (Node::Bytes(None), Kind::String) => true,
        (Node::Bytes(Some(_)), Kind::String | Kind::Number) => true,
        (Node::String(_) | Node::Enum(_), Kind::String) => true,
        (Node::Fixed(f), Kind::Number) => matches!(f.kind, FixedKind::Decimal(_)),
        (Node::Fixed(_), Kind::String) => true,
        (Node::Array(_), Kind::Array) => true,
        (Node::Map(_) | Node::Record(_), Kind::Object) => true,
        _ => false,
    }
}

/// What a value of `node` looks like in JSON, for messages.
pub(crate) fn expected(node: &Node) -> String {
    let time = |name: &str, text: &str, raw: &str| format!("{name} ({text} text or {raw})");
    match node {
        Node::Int(IntKind::Date) => time("date", "YYYY-MM-DD", "days since 1970-01-01"),
        Node::Int(IntKind::TimeMillis) => time("time-millis", "HH:MM:SS.fff", "milliseconds since midnight"),
        Node::Long(LongKind::TimeMicros) => time("time-micros", "HH:MM:SS.ffffff", "microseconds since midnight"),
        Node::Long(LongKind::Timestamp(t)) => {
            let unit = match t.unit {
                TimeUnit::Millis => "millis",
                TimeUnit::Micros => "micros",
                TimeUnit::Nanos => "nanos",
            };
            let name = format!("{}timestamp-{unit}", if t.utc { "" } else { "local-" });
            time(&name, "RFC 3339", &format!("{unit} since the epoch"))
        }
        Node::Bytes(None) => "bytes (base64 text)".into(),
        Node::Bytes(Some(d)) => format!("decimal({},{}) (text or number)", d.precision, d.scale),
        Node::String(StringKind::Uuid) => "uuid (text)".into(),
        Node::Record(r) => format!("record {} (an object)", r.name),
        Node::Enum(e) => format!("enum {} (one of its symbols)", e.name),
        Node::Fixed(f) => match f.kind {
            FixedKind::Plain => format!("fixed {} (base64 text of {} bytes)", f.name, f.size),
            FixedKind::Decimal(d) => format!("decimal({},{}) (text or number)", d.precision, d.scale),
            FixedKind::Uuid => "uuid (text)".into(),
        },
        Node::Map(_) => "map (an object)".into(),
        other => other.type_name().to_string(),
    }
}

/// `["a","b"]`, cut after 20 names.
pub(crate) fn listed(names: &[String]) -> String {
    let shown: Vec<&String> = names.iter().take(20).collect();
    let mut text = serde_json::to_string(&shown).unwrap_or_default();
    if names.len() > 20 {
        text.push_str(&format!(" and {} more", names.len() - 20));
    }
    text
}

/// A number's text cut for a message.
pub(crate) fn cut(text: &str) -> String {
    let mut quoted = quoted(text, 40);
    quoted.pop();
    quoted.remove(0);
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::node::Decimal;

    #[test]
    fn integers_fit_int_and_long_branches_and_any_number_fits_floats() {
        let long = Node::Long(LongKind::Plain);
        assert!(fits(&long, Kind::Number, true, false));
        assert!(!fits(&long, Kind::Number, false, false));
        assert!(!fits(&long, Kind::String, false, false));
        assert!(fits(&Node::Double, Kind::Number, false, false));
        assert!(fits(&Node::Double, Kind::String, false, true));
        assert!(!fits(&Node::Double, Kind::String, false, false));
    }

    #[test]
    fn logical_types_fit_their_text_and_their_raw_number() {
        let date = Node::Int(IntKind::Date);
        assert!(fits(&date, Kind::String, false, false));
        assert!(fits(&date, Kind::Number, true, false));
        let decimal = Node::Bytes(Some(Decimal { precision: 4, scale: 2 }));
        assert!(fits(&decimal, Kind::Number, false, false));
        assert!(fits(&decimal, Kind::String, false, false));
    }

    #[test]
    fn messages_name_logical_types_with_their_json_forms() {
        assert_eq!(expected(&Node::Long(LongKind::Plain)), "long");
        assert_eq!(expected(&Node::Int(IntKind::Date)), "date (YYYY-MM-DD text or days since 1970-01-01)");
        assert_eq!(expected(&Node::Bytes(None)), "bytes (base64 text)");
    }

    #[test]
    fn long_lists_and_numbers_are_cut() {
        let names: Vec<String> = (0..25).map(|i| format!("S{i}")).collect();
        assert!(listed(&names).ends_with(r#""S19"] and 5 more"#));
        assert_eq!(cut("12"), "12");
        assert_eq!(cut(&"9".repeat(50)), format!("{}…", "9".repeat(40)));
    }
}
