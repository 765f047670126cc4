//! Field defaults, compiled once from the schema's JSON to Avro binary so
//! that filling a missing field costs a copy. The JSON is in Avro's own
//! default format, not the plugin mapping: `bytes` and `fixed` as text
//! whose characters U+0000–U+00FF are the bytes, a logical type as its
//! underlying type, a union as its first branch (other branches are tried
//! next, as lenient readers do).

use std::collections::HashMap;

use serde_json::Value;

use super::node::{Node, NodeId};
use super::path::quoted;
use super::varint::{write_len, write_long};

/// Each field's `default` as written: (record node, field index) → value,
/// for a record default that leaves a field out.
pub(crate) type RawDefaults<'a> = HashMap<(usize, usize), &'a Value>;

/// Deeper than this, a default is refused (a record whose default leaves
/// out a field whose default is that record again would never end).
const MAX_DEPTH: u32 = 64;

/// Appends the Avro binary of `value` as a value of `id`.
pub(crate) fn encode(
    nodes: &[Node],
    id: NodeId,
    value: &Value,
    raw: &RawDefaults,
    depth: u32,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("the default nests too deep".into());
    }
    let node = &nodes[id.0];
    let mismatch = || Err(format!("default {} is not a {}", shown(value), node.type_name()));
    match (node, value) {
        (Node::Null, Value::Null) => {}
        (Node::Boolean, Value::Bool(b)) => out.push(u8::from(*b)),
        (Node::Int(_), Value::Number(n)) => match n.as_i64().and_then(|v| i32::try_from(v).ok()) {
            Some(v) => write_long(out, i64::from(v)),
            None => return mismatch(),
        },
        (Node::Long(_), Value::Number(n)) => match n.as_i64() {
            Some(v) => write_long(out, v),
            None => return mismatch(),
        },
        (Node::Float | Node::Double, _) => {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => super::json_text::non_finite_named(s),
                _ => None,
            };
            let Some(number) = number else { return mismatch() };
            if matches!(node, Node::Float) {
                out.extend_from_slice(&(number as f32).to_le_bytes());
            } else {
                out.extend_from_slice(&number.to_le_bytes());
            }
        }
        (Node::Bytes(_), Value::String(text)) => {
            let bytes = latin1(text)?;
            write_len(out, bytes.len());
            out.extend_from_slice(&bytes);
        }
        (Node::Fixed(fixed), Value::String(text)) => {
            let bytes = latin1(text)?;
            if bytes.len() != fixed.size {
                return Err(format!("default {} is not {} bytes", shown(value), fixed.size));
            }
            out.extend_from_slice(&bytes);
        }
        (Node::String(_), Value::String(text)) => {
            write_len(out, text.len());
            out.extend_from_slice(text.as_bytes());
        }
        (Node::Enum(e), Value::String(symbol)) => match e.symbols.iter().position(|s| s == symbol) {
            Some(index) => write_long(out, index as i64),
            None => return Err(format!("default {} is not a symbol of {}", shown(value), e.name)),
        },
        (Node::Array(items), Value::Array(elements)) => {
            if !elements.is_empty() {
                write_len(out, elements.len());
                for element in elements {
                    encode(nodes, items.node, element, raw, depth + 1, out)?;
                }
            }
            out.push(0);
        }
        (Node::Map(items), Value::Object(entries)) => {
            if !entries.is_empty() {
                write_len(out, entries.len());
                for (key, element) in entries {
                    write_len(out, key.len());
                    out.extend_from_slice(key.as_bytes());
                    encode(nodes, items.node, element, raw, depth + 1, out)?;
                }
            }
            out.push(0);
        }
        (Node::Record(record), Value::Object(members)) => {
            for (index, field) in record.fields.iter().enumerate() {
                let member = members.get(&field.name).or_else(|| raw.get(&(id.0, index)).copied());
                let member = member.ok_or_else(|| format!("the default for {} has no {}", record.name, field.name))?;
                encode(nodes, field.node, member, raw, depth + 1, out)?;
            }
        }
        (Node::Union(union), _) => {
            for (index, branch) in union.branches.iter().enumerate() {
                let mut attempt = Vec::new();
                write_long(&mut attempt, index as i64);
                if encode(nodes, *branch, value, raw, depth + 1, &mut attempt).is_ok() {
                    out.extend_from_slice(&attempt);
                    return Ok(());
                }
            }
            let first = union.labels.first().map_or("(no branch)", String::as_str);
            return Err(format!("default {} does not fit the union's first branch {first}", shown(value)));
        }
        _ => return mismatch(),
    }
    Ok(())
}

/// The bytes of a default's text: each character U+0000–U+00FF is a byte.
fn latin1(text: &str) -> Result<Vec<u8>, String> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| format!("default {} has a character above U+00FF", quoted(text, 40))))
        .collect()
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => quoted(text, 40),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::avro::node::{FieldDefault, Node};
    use crate::avro::parse::parse;

    /// The compiled default of the record's only field, of type `kind`.
    fn default_of(kind: &str, default: &str) -> FieldDefault {
        let text = format!(r#"{{"type":"record","name":"R","fields":[{{"name":"f","type":{kind},"default":{default}}}]}}"#);
        let tree = parse(&text, &[]).unwrap();
        let Node::Record(record) = tree.node(tree.root) else { panic!("not a record") };
        record.fields[0].default.clone()
    }

    fn encoded(bytes: &[u8]) -> FieldDefault {
        FieldDefault::Encoded(bytes.to_vec())
    }

    #[test]
    fn defaults_compile_to_avro_binary() {
        assert_eq!(default_of("\"long\"", "-2"), encoded(&[0x03]));
        assert_eq!(default_of("\"string\"", "\"hi\""), encoded(&[0x04, b'h', b'i']));
        assert_eq!(default_of("\"boolean\"", "true"), encoded(&[0x01]));
        assert_eq!(default_of("\"double\"", "\"NaN\"").clone(), encoded(&f64::NAN.to_le_bytes()));
        assert_eq!(default_of(r#"{"type":"array","items":"int"}"#, "[1,2]"), encoded(&[0x04, 0x02, 0x04, 0x00]));
        assert_eq!(default_of(r#"{"type":"map","values":"int"}"#, "{}"), encoded(&[0x00]));
        assert_eq!(default_of(r#"{"type":"enum","name":"E","symbols":["A","B"]}"#, "\"B\""), encoded(&[0x02]));
    }

    #[test]
    fn bytes_defaults_are_latin1_text_not_base64() {
        assert_eq!(default_of("\"bytes\"", r#""\u00ff\u0000""#), encoded(&[0x04, 0xff, 0x00]));
        let decimal = r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#;
        assert_eq!(default_of(decimal, r#""\u0001""#), encoded(&[0x02, 0x01]));
        assert!(matches!(default_of("\"bytes\"", r#""\u0100""#), FieldDefault::Invalid(_)));
    }

    #[test]
    fn a_union_default_is_of_its_first_branch() {
        assert_eq!(default_of(r#"["null","string"]"#, "null"), encoded(&[0x00]));
        assert_eq!(default_of(r#"["string","null"]"#, "\"x\""), encoded(&[0x00, 0x02, b'x']));
    }

    #[test]
    fn a_record_default_takes_missing_fields_from_their_own_defaults() {
        let inner = r#"{"type":"record","name":"In","fields":[{"name":"a","type":"int","default":7},{"name":"b","type":"int"}]}"#;
        assert_eq!(default_of(inner, r#"{"b":1}"#), encoded(&[0x0e, 0x02]));
        assert!(matches!(default_of(inner, r#"{"a":1}"#), FieldDefault::Invalid(m) if m.contains("has no b")));
    }

    #[test]
    fn a_default_that_does_not_fit_leaves_the_schema_usable_but_marked() {
        match default_of("\"int\"", "\"seven\"") {
            FieldDefault::Invalid(message) => assert_eq!(message, "default \"seven\" is not a int"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(default_of("\"int\"", "4294967296"), FieldDefault::Invalid(_)));
        assert!(matches!(default_of("\"long\"", "null"), FieldDefault::Invalid(_)));
    }

    #[test]
    fn a_self_referencing_record_default_is_refused_not_looped() {
        let text = r#"{"type":"record","name":"R","fields":[{"name":"r","type":"R","default":{}}]}"#;
        let tree = parse(text, &[]).unwrap();
        let Node::Record(record) = tree.node(tree.root) else { panic!("not a record") };
        assert!(matches!(&record.fields[0].default, FieldDefault::Invalid(m) if m.contains("too deep")));
    }
}
