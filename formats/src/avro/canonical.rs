//! The Parsing Canonical Form of the Avro specification: full names, only
//! the attributes that matter for reading the binary (`name`, `type`,
//! `fields`, `symbols`, `items`, `values`, `size`, in that order), no
//! whitespace, each named type spelt out at its first use only. Logical
//! types, defaults, docs and aliases are not part of it.

use std::collections::HashSet;

use super::json_text::write_str;
use super::node::{Node, NodeId, Tree};

/// The canonical form of the tree's root type.
pub(crate) fn canonical_form(tree: &Tree) -> String {
    let mut out = Vec::new();
    write(tree, tree.root, &mut HashSet::new(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

fn write(tree: &Tree, id: NodeId, seen: &mut HashSet<usize>, out: &mut Vec<u8>) {
    let node = tree.node(id);
    if let Some(name) = node.full_name()
        && !seen.insert(id.0)
    {
        write_str(out, name);
        return;
    }
    match node {
        Node::Record(record) => {
            named_head(out, &record.name, "record");
            out.extend_from_slice(b",\"fields\":[");
            for (i, field) in record.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"name\":");
                write_str(out, &field.name);
                out.extend_from_slice(b",\"type\":");
                write(tree, field.node, seen, out);
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
        }
        Node::Enum(e) => {
            named_head(out, &e.name, "enum");
            out.extend_from_slice(b",\"symbols\":[");
            for (i, symbol) in e.symbols.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, symbol);
            }
            out.extend_from_slice(b"]}");
        }
        Node::Fixed(fixed) => {
            named_head(out, &fixed.name, "fixed");
            out.extend_from_slice(b",\"size\":");
            out.extend_from_slice(itoa::Buffer::new().format(fixed.size).as_bytes());
            out.push(b'}');
        }
        Node::Array(items) | Node::Map(items) => {
            let is_array = matches!(node, Node::Array(_));
            out.extend_from_slice(if is_array { b"{\"type\":\"array\",\"items\":" } else { b"{\"type\":\"map\",\"values\":" });
            write(tree, items.node, seen, out);
            out.push(b'}');
        }
        Node::Union(union) => {
            out.push(b'[');
            for (i, branch) in union.branches.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(tree, *branch, seen, out);
            }
            out.push(b']');
        }
        primitive => write_str(out, primitive.type_name()),
    }
}

fn named_head(out: &mut Vec<u8>, name: &str, kind: &str) {
    out.extend_from_slice(b"{\"name\":");
    write_str(out, name);
    out.extend_from_slice(b",\"type\":");
    write_str(out, kind);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::parse::parse;

    fn canonical(text: &str) -> String {
        canonical_form(&parse(text, &[]).unwrap())
    }

    #[test]
    fn canonical_form_strips_everything_but_what_reading_needs() {
        let text = r#"{
            "type": "record", "name": "Order", "namespace": "shop", "doc": "an order",
            "fields": [
                {"name": "id", "type": {"type": "long"}, "default": 0, "doc": "x"},
                {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
                {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"], "default": "NEW"}},
                {"name": "previous", "type": ["null", "Status"]},
                {"name": "hash", "type": {"type": "fixed", "name": "Hash", "namespace": "", "size": 4}},
                {"name": "tags", "type": {"type": "map", "values": {"type": "array", "items": "string"}}}
            ]}"#;
        assert_eq!(
            canonical(text),
            concat!(
                r#"{"name":"shop.Order","type":"record","fields":["#,
                r#"{"name":"id","type":"long"},{"name":"at","type":"long"},"#,
                r#"{"name":"status","type":{"name":"shop.Status","type":"enum","symbols":["NEW","PAID"]}},"#,
                r#"{"name":"previous","type":["null","shop.Status"]},"#,
                r#"{"name":"hash","type":{"name":"Hash","type":"fixed","size":4}},"#,
                r#"{"name":"tags","type":{"type":"map","values":{"type":"array","items":"string"}}}]}"#
            )
        );
    }

    #[test]
    fn a_primitive_schema_is_its_name() {
        assert_eq!(canonical(r#"{"type":"string","logicalType":"uuid"}"#), "\"string\"");
    }
}
