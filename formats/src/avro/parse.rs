//! Reading Avro schema text into a [`Tree`]: primitive and complex types,
//! full names and namespaces, logical types, the named types that
//! referenced schemas define, and forward references — then, once every
//! name is known, checking unions and compiling field defaults.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::default::{self, RawDefaults};
use super::json_text;
use super::node::{
    Decimal, Enum, Field, FieldDefault, Fixed, FixedKind, IntKind, Items, LongKind, Node, NodeId, Record, StringKind, TimeUnit,
    Timestamp, Tree, Union, UnionShape,
};
use super::{decimal, min_size};
use crate::{Reference, SchemaError};

/// The primitive types, in the order of their shared nodes (ids 0 to 7).
const PRIMITIVES: [&str; 8] = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// Parses the references (in order) and then `text`, all sharing one set
/// of names.
pub(crate) fn parse(text: &str, references: &[Reference]) -> Result<Tree, SchemaError> {
    let mut parser = Parser::new();
    for reference in references {
        parser.text(&reference.schema).map_err(|e| SchemaError(format!("Avro schema reference {:?}: {e}", reference.name)))?;
    }
    let root = parser.text(text).map_err(|e| SchemaError(format!("Avro schema: {e}")))?;
    parser.finish(root).map_err(|e| SchemaError(format!("Avro schema: {e}")))
}

struct Parser {
    nodes: Vec<Node>,
    /// Full name → the named type's node.
    names: HashMap<String, NodeId>,
    /// Names used before their definition: a placeholder node each, and
    /// the full names it may mean, most specific first.
    forward: Vec<(NodeId, Vec<String>)>,
    /// `default`s as written: (record node, field index) → value.
    defaults: HashMap<(usize, usize), Value>,
}

impl Parser {
    fn new() -> Parser {
        let nodes = vec![
            Node::Null,
            Node::Boolean,
            Node::Int(IntKind::Plain),
            Node::Long(LongKind::Plain),
            Node::Float,
            Node::Double,
            Node::Bytes(None),
            Node::String(StringKind::Plain),
        ];
        Parser { nodes, names: HashMap::new(), forward: Vec::new(), defaults: HashMap::new() }
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        NodeId(self.nodes.len() - 1)
    }

    fn text(&mut self, text: &str) -> Result<NodeId, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        self.schema(&value, None)
    }

    fn schema(&mut self, value: &Value, namespace: Option<&str>) -> Result<NodeId, String> {
        match value {
            Value::String(name) => self.named(name, namespace),
            Value::Array(branches) => self.union(branches, namespace),
            Value::Object(object) => self.object(object, namespace),
            other => Err(format!("a schema is a type name, an object or an array, not {other}")),
        }
    }

    /// A primitive, or a reference to a named type.
    fn named(&mut self, name: &str, namespace: Option<&str>) -> Result<NodeId, String> {
        if let Some(i) = PRIMITIVES.iter().position(|p| *p == name) {
            return Ok(NodeId(i));
        }
        check_full_name(name)?;
        let candidates = match namespace {
            Some(space) if !name.contains('.') => vec![format!("{space}.{name}"), name.to_string()],
            _ => vec![name.to_string()],
        };
        if let Some(id) = candidates.iter().find_map(|c| self.names.get(c)) {
            return Ok(*id);
        }
        let placeholder = self.push(Node::Null);
        self.forward.push((placeholder, candidates));
        Ok(placeholder)
    }

    fn object(&mut self, object: &Map<String, Value>, namespace: Option<&str>) -> Result<NodeId, String> {
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(nested @ (Value::Object(_) | Value::Array(_))) => return self.schema(nested, namespace),
            Some(other) => return Err(format!("\"type\" must be a string, an object or an array, not {other}")),
            None => return Err("a schema object has no \"type\"".into()),
        };
        match kind {
            "record" | "error" => self.record(object, namespace),
            "enum" => self.enumeration(object, namespace),
            "fixed" => self.fixed(object, namespace),
            "array" | "map" => {
                let attribute = if kind == "array" { "items" } else { "values" };
                let inner = object.get(attribute).ok_or_else(|| format!("{kind} has no \"{attribute}\""))?;
                let items = Items { node: self.schema(inner, namespace)?, min_size: 0 };
                Ok(self.push(if kind == "array" { Node::Array(items) } else { Node::Map(items) }))
            }
            primitive if PRIMITIVES.contains(&primitive) => Ok(self.primitive(primitive, object)),
            name => self.named(name, namespace),
        }
    }

    /// A primitive, with its logical type if it names a valid one for it
    /// (an unknown or invalid one is ignored, as the specification says).
    fn primitive(&mut self, primitive: &str, object: &Map<String, Value>) -> NodeId {
        let logical = object.get("logicalType").and_then(Value::as_str);
        let timestamp = |unit, utc| Node::Long(LongKind::Timestamp(Timestamp { unit, utc }));
        let node = match (primitive, logical.unwrap_or("")) {
            ("int", "date") => Node::Int(IntKind::Date),
            ("int", "time-millis") => Node::Int(IntKind::TimeMillis),
            ("long", "time-micros") => Node::Long(LongKind::TimeMicros),
            ("long", "timestamp-millis") => timestamp(TimeUnit::Millis, true),
            ("long", "timestamp-micros") => timestamp(TimeUnit::Micros, true),
            ("long", "timestamp-nanos") => timestamp(TimeUnit::Nanos, true),
            ("long", "local-timestamp-millis") => timestamp(TimeUnit::Millis, false),
            ("long", "local-timestamp-micros") => timestamp(TimeUnit::Micros, false),
            ("long", "local-timestamp-nanos") => timestamp(TimeUnit::Nanos, false),
            ("string", "uuid") => Node::String(StringKind::Uuid),
            ("bytes", "decimal") => match decimal_of(object, None) {
                Some(decimal) => Node::Bytes(Some(decimal)),
                None => return NodeId(6),
            },
            _ => return NodeId(PRIMITIVES.iter().position(|p| *p == primitive).unwrap_or(0)),
        };
        self.push(node)
    }

    /// Registers a named type's full name, refusing a second definition.
    fn define(
        &mut self,
        object: &Map<String, Value>,
        namespace: Option<&str>,
    ) -> Result<(NodeId, String, Option<String>), String> {
        let (full, space) = full_name(object, namespace)?;
        if self.names.contains_key(&full) {
            return Err(format!("{full} is defined twice"));
        }
        let id = self.push(Node::Null);
        self.names.insert(full.clone(), id);
        Ok((id, full, space))
    }

    fn record(&mut self, object: &Map<String, Value>, namespace: Option<&str>) -> Result<NodeId, String> {
        let (id, name, space) = self.define(object, namespace)?;
        let listed = object.get("fields").and_then(Value::as_array);
        let listed = listed.ok_or_else(|| format!("record {name} has no \"fields\" array"))?;
        let mut fields = Vec::with_capacity(listed.len());
        let mut by_name = HashMap::with_capacity(listed.len());
        for (index, field) in listed.iter().enumerate() {
            let field = field.as_object().ok_or_else(|| format!("record {name}: a field is not an object"))?;
            let field_name = field.get("name").and_then(Value::as_str);
            let field_name = field_name.ok_or_else(|| format!("record {name}: a field has no \"name\""))?;
            check_name(field_name)?;
            if by_name.insert(field_name.to_string(), index).is_some() {
                return Err(format!("record {name} has two fields named {field_name}"));
            }
            let kind = field.get("type").ok_or_else(|| format!("{name}.{field_name} has no \"type\""))?;
            let node = self.schema(kind, space.as_deref()).map_err(|e| format!("{name}.{field_name}: {e}"))?;
            if let Some(value) = field.get("default") {
                self.defaults.insert((id.0, index), value.clone());
            }
            let mut json_key = vec![b','];
            json_text::write_str(&mut json_key, field_name);
            json_key.push(b':');
            let json_key = json_key.into_boxed_slice();
            fields.push(Field { name: field_name.to_string(), node, json_key, default: FieldDefault::Absent });
        }
        self.nodes[id.0] = Node::Record(Record { name, fields, by_name });
        Ok(id)
    }

    fn enumeration(&mut self, object: &Map<String, Value>, namespace: Option<&str>) -> Result<NodeId, String> {
        let (id, name, _) = self.define(object, namespace)?;
        let listed = object.get("symbols").and_then(Value::as_array);
        let listed = listed.ok_or_else(|| format!("enum {name} has no \"symbols\" array"))?;
        let mut symbols: Vec<String> = Vec::with_capacity(listed.len());
        for symbol in listed {
            let symbol = symbol.as_str().ok_or_else(|| format!("enum {name}: a symbol is not a string"))?;
            check_name(symbol)?;
            if symbols.iter().any(|s| s == symbol) {
                return Err(format!("enum {name} lists {symbol} twice"));
            }
            symbols.push(symbol.to_string());
        }
        let json_symbols = symbols
            .iter()
            .map(|s| {
                let mut quoted = Vec::with_capacity(s.len() + 2);
                json_text::write_str(&mut quoted, s);
                quoted.into_boxed_slice()
            })
            .collect();
        self.nodes[id.0] = Node::Enum(Enum { name, symbols, json_symbols });
        Ok(id)
    }

    fn fixed(&mut self, object: &Map<String, Value>, namespace: Option<&str>) -> Result<NodeId, String> {
        let (id, name, _) = self.define(object, namespace)?;
        let size = object.get("size").and_then(Value::as_u64).filter(|s| *s <= u64::from(u32::MAX));
        let size = size.ok_or_else(|| format!("fixed {name} has no \"size\" (a non-negative integer)"))? as usize;
        let kind = match object.get("logicalType").and_then(Value::as_str) {
            Some("decimal") => decimal_of(object, Some(size)).map_or(FixedKind::Plain, FixedKind::Decimal),
            Some("uuid") if size == 16 => FixedKind::Uuid,
            _ => FixedKind::Plain,
        };
        self.nodes[id.0] = Node::Fixed(Fixed { name, size, kind });
        Ok(id)
    }

    fn union(&mut self, listed: &[Value], namespace: Option<&str>) -> Result<NodeId, String> {
        let mut branches = Vec::with_capacity(listed.len());
        for branch in listed {
            let id = self.schema(branch, namespace)?;
            if matches!(self.nodes[id.0], Node::Union(_)) {
                return Err("a union cannot hold a union directly".into());
            }
            branches.push(id);
        }
        let shape = UnionShape::Plain { null: None, value: None };
        Ok(self.push(Node::Union(Union { branches, labels: Vec::new(), shape })))
    }

    /// Resolves forward references, then finishes unions, block sizes and
    /// defaults, which all need every type known.
    fn finish(mut self, root: NodeId) -> Result<Tree, String> {
        let mut redirect = HashMap::new();
        for (placeholder, candidates) in &self.forward {
            let target = candidates
                .iter()
                .find_map(|c| self.names.get(c))
                .ok_or_else(|| format!("unknown type {} (not defined in the schema nor in its references)", candidates[0]))?;
            redirect.insert(*placeholder, *target);
        }
        let root = redirect.get(&root).copied().unwrap_or(root);
        for node in &mut self.nodes {
            node.children_mut(|child| {
                if let Some(target) = redirect.get(child) {
                    *child = *target;
                }
            });
        }
        self.finish_unions()?;
        min_size::fill(&mut self.nodes);
        let raw: RawDefaults = self.defaults.iter().map(|(k, v)| (*k, v)).collect();
        let compiled: Vec<((usize, usize), FieldDefault)> = raw
            .iter()
            .map(|(&(record, index), value)| {
                let Node::Record(r) = &self.nodes[record] else { return ((record, index), FieldDefault::Absent) };
                let mut bytes = Vec::new();
                let result = default::encode(&self.nodes, r.fields[index].node, value, &raw, 0, &mut bytes);
                ((record, index), result.map_or_else(FieldDefault::Invalid, |()| FieldDefault::Encoded(bytes)))
            })
            .collect();
        for ((record, index), compiled) in compiled {
            if let Node::Record(r) = &mut self.nodes[record] {
                r.fields[index].default = compiled;
            }
        }
        Ok(Tree { nodes: self.nodes, root })
    }

    /// Names each union's branches, refuses two branches of one type, and
    /// decides how its values look in JSON.
    fn finish_unions(&mut self) -> Result<(), String> {
        for at in 0..self.nodes.len() {
            let Node::Union(union) = &self.nodes[at] else { continue };
            let labels: Vec<String> = union.branches.iter().map(|b| self.nodes[b.0].type_name().to_string()).collect();
            for (i, label) in labels.iter().enumerate() {
                if labels[..i].contains(label) {
                    return Err(format!("a union has two branches of type {label}"));
                }
            }
            let null = labels.iter().position(|l| l == "null");
            let others: Vec<usize> = (0..labels.len()).filter(|i| Some(*i) != null).collect();
            let shape = match others.as_slice() {
                [] => UnionShape::Plain { null, value: None },
                [value] => UnionShape::Plain { null, value: Some(*value) },
                _ => UnionShape::Tagged { null },
            };
            if let Node::Union(union) = &mut self.nodes[at] {
                union.labels = labels;
                union.shape = shape;
            }
        }
        Ok(())
    }
}

/// A named type's full name and the namespace its nested types inherit.
fn full_name(object: &Map<String, Value>, namespace: Option<&str>) -> Result<(String, Option<String>), String> {
    let name = object.get("name").and_then(Value::as_str).ok_or("a named type has no \"name\"")?;
    let (full, space) = match name.rfind('.') {
        Some(dot) => (name.to_string(), Some(name[..dot].to_string())),
        None => {
            let space = match object.get("namespace") {
                Some(Value::String(space)) if space.is_empty() => None,
                Some(Value::String(space)) => Some(space.clone()),
                Some(Value::Null) | None => namespace.map(String::from),
                Some(other) => return Err(format!("{name}: \"namespace\" must be a string, not {other}")),
            };
            let full = space.as_ref().map_or_else(|| name.to_string(), |s| format!("{s}.{name}"));
            (full, space)
        }
    };
    check_full_name(&full)?;
    if PRIMITIVES.contains(&name) {
        return Err(format!("a named type cannot be called {name}"));
    }
    Ok((full, space))
}

fn check_full_name(full: &str) -> Result<(), String> {
    full.split('.').try_for_each(check_name)
}

/// Names (and namespace parts, and enum symbols) are `[A-Za-z_][A-Za-z0-9_]*`.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(format!("{name:?} is not a valid Avro name"))
    }
}

/// A decimal's precision and scale, if they are valid (for a fixed, if
/// its size can hold that many digits).
fn decimal_of(object: &Map<String, Value>, fixed_size: Option<usize>) -> Option<Decimal> {
    let precision = object.get("precision")?.as_u64().filter(|p| *p >= 1 && *p <= u64::from(u32::MAX))?;
    let scale = match object.get("scale") {
        Some(scale) => scale.as_u64()?,
        None => 0,
    };
    let fits = fixed_size.is_none_or(|size| precision <= decimal::max_precision(size));
    (scale <= precision && fits).then_some(Decimal { precision: precision as u32, scale: scale as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Tree {
        parse(text, &[]).unwrap()
    }

    fn error(text: &str) -> String {
        parse(text, &[]).unwrap_err().0
    }

    #[test]
    fn a_primitive_name_and_a_primitive_object_are_the_same_node() {
        assert_eq!(tree("\"long\"").root, NodeId(3));
        assert_eq!(tree("{\"type\": \"long\"}").root, NodeId(3));
    }

    #[test]
    fn nested_named_types_inherit_the_enclosing_namespace() {
        let t = tree(
            r#"{"type":"record","name":"Order","namespace":"shop","fields":[
                {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW"]}},
                {"name":"again","type":"Status"},
                {"name":"other","type":{"type":"fixed","name":"x.Hash","size":2}}]}"#,
        );
        let Node::Record(order) = t.node(t.root) else { panic!("not a record") };
        assert_eq!(order.name, "shop.Order");
        assert_eq!(t.node(order.fields[0].node).full_name(), Some("shop.Status"));
        assert_eq!(order.fields[1].node, order.fields[0].node);
        assert_eq!(t.node(order.fields[2].node).full_name(), Some("x.Hash"));
    }

    #[test]
    fn a_short_name_falls_back_to_the_null_namespace() {
        let t = tree(
            r#"[{"type":"fixed","name":"Id","size":1},
                {"type":"record","name":"a.R","fields":[{"name":"id","type":"Id"}]}]"#,
        );
        let Node::Union(u) = t.node(t.root) else { panic!("not a union") };
        assert_eq!(u.labels, ["Id", "a.R"]);
    }

    #[test]
    fn a_type_may_be_used_before_its_definition() {
        let t = tree(
            r#"{"type":"record","name":"R","fields":[
                {"name":"later","type":["null","Later"]},
                {"name":"def","type":{"type":"enum","name":"Later","symbols":["A"]}}]}"#,
        );
        let Node::Record(r) = t.node(t.root) else { panic!("not a record") };
        let Node::Union(u) = t.node(r.fields[0].node) else { panic!("not a union") };
        assert_eq!(u.branches[1], r.fields[1].node);
    }

    #[test]
    fn recursive_records_refer_to_themselves() {
        let t = tree(r#"{"type":"record","name":"List","fields":[{"name":"next","type":["null","List"]}]}"#);
        let Node::Record(r) = t.node(t.root) else { panic!("not a record") };
        let Node::Union(u) = t.node(r.fields[0].node) else { panic!("not a union") };
        assert_eq!(u.branches[1], t.root);
    }

    #[test]
    fn valid_logical_types_are_kept_and_invalid_ones_ignored() {
        let kind = |text: &str| format!("{:?}", tree(text).node(tree(text).root));
        assert_eq!(kind(r#"{"type":"int","logicalType":"date"}"#), "Int(Date)");
        assert_eq!(kind(r#"{"type":"long","logicalType":"date"}"#), "Long(Plain)");
        assert_eq!(kind(r#"{"type":"string","logicalType":"uuid"}"#), "String(Uuid)");
        assert_eq!(kind(r#"{"type":"string","logicalType":"mystery"}"#), "String(Plain)");
        assert!(kind(r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#).contains("scale: 2"));
        assert_eq!(kind(r#"{"type":"bytes","logicalType":"decimal","precision":2,"scale":4}"#), "Bytes(None)");
        let too_small = r#"{"type":"fixed","name":"F","size":2,"logicalType":"decimal","precision":5}"#;
        assert!(kind(too_small).contains("kind: Plain"));
        let fits = r#"{"type":"fixed","name":"F","size":2,"logicalType":"decimal","precision":4}"#;
        assert!(kind(fits).contains("kind: Decimal"));
    }

    #[test]
    fn unions_of_one_value_branch_are_plain_and_of_more_are_tagged() {
        let shape = |text: &str| match tree(text).node(tree(text).root) {
            Node::Union(u) => u.shape,
            _ => panic!("not a union"),
        };
        assert_eq!(shape(r#"["null","string"]"#), UnionShape::Plain { null: Some(0), value: Some(1) });
        assert_eq!(shape(r#"["string","null"]"#), UnionShape::Plain { null: Some(1), value: Some(0) });
        assert_eq!(shape(r#"["string"]"#), UnionShape::Plain { null: None, value: Some(0) });
        assert_eq!(shape(r#"["null","string","long"]"#), UnionShape::Tagged { null: Some(0) });
        assert_eq!(shape(r#"["string","long"]"#), UnionShape::Tagged { null: None });
    }

    #[test]
    fn schemas_that_break_the_rules_are_refused_with_the_reason() {
        assert!(error("{").contains("not JSON"));
        assert!(error("\"Nope\"").contains("unknown type Nope"));
        assert!(error(r#"["null",["int"]]"#).contains("union cannot hold a union"));
        assert!(error(r#"["int","int"]"#).contains("two branches of type int"));
        assert!(
            error(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#)
                .contains("two fields named a")
        );
        assert!(
            error(r#"[{"type":"enum","name":"E","symbols":["A"]},{"type":"enum","name":"E","symbols":["B"]}]"#)
                .contains("E is defined twice")
        );
        assert!(error(r#"{"type":"enum","name":"E","symbols":["A","A"]}"#).contains("lists A twice"));
        assert!(error(r#"{"type":"enum","name":"1E","symbols":[]}"#).contains("not a valid Avro name"));
        assert!(error(r#"{"type":"fixed","name":"F"}"#).contains("no \"size\""));
        assert!(error(r#"{"type":"record","name":"int","fields":[]}"#).contains("cannot be called int"));
        assert!(error(r#"{"type":"array"}"#).contains("no \"items\""));
        assert!(error("42").contains("not 42"));
    }

    #[test]
    fn references_define_names_the_schema_uses() {
        let reference = Reference {
            name: "com.acme.Money".into(),
            schema: r#"{"type":"record","name":"Money","namespace":"com.acme","fields":[{"name":"cents","type":"long"}]}"#.into(),
        };
        let text = r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"total","type":"Money"}]}"#;
        let t = parse(text, std::slice::from_ref(&reference)).unwrap();
        let Node::Record(order) = t.node(t.root) else { panic!("not a record") };
        assert_eq!(t.node(order.fields[0].node).full_name(), Some("com.acme.Money"));
        let missing = parse(text, &[]).unwrap_err().0;
        assert!(missing.contains("unknown type com.acme.Money"), "{missing}");
    }
}
