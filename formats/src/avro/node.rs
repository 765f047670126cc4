//! The compiled Avro schema: a flat list of [`Node`]s where every named
//! type is defined once and referred to by its [`NodeId`], so decoding and
//! encoding walk plain indices and never look a name up.

use std::collections::HashMap;

/// The index of a node in [`Tree::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NodeId(pub(crate) usize);

/// A compiled schema: its nodes and the one the datum is an instance of.
#[derive(Debug)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: NodeId,
}

impl Tree {
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }
}

/// One Avro type, with its logical type (if a valid one annotates it)
/// folded in.
#[derive(Debug)]
pub(crate) enum Node {
    Null,
    Boolean,
    Int(IntKind),
    Long(LongKind),
    Float,
    Double,
    /// `bytes`, or a decimal held in bytes.
    Bytes(Option<Decimal>),
    String(StringKind),
    Record(Record),
    Enum(Enum),
    Fixed(Fixed),
    Array(Items),
    Map(Items),
    Union(Union),
}

/// What an `int` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntKind {
    Plain,
    /// Days since 1970-01-01.
    Date,
    /// Milliseconds since midnight.
    TimeMillis,
}

/// What a `long` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LongKind {
    Plain,
    /// Microseconds since midnight.
    TimeMicros,
    Timestamp(Timestamp),
}

/// A point in time counted in `unit`s since 1970-01-01T00:00:00, in UTC
/// (`timestamp-*`) or on a clock with no zone (`local-timestamp-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp {
    pub(crate) unit: TimeUnit,
    pub(crate) utc: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    /// Digits after the seconds' point in the text form.
    pub(crate) fn digits(self) -> u32 {
        match self {
            TimeUnit::Millis => 3,
            TimeUnit::Micros => 6,
            TimeUnit::Nanos => 9,
        }
    }

    pub(crate) fn per_second(self) -> i64 {
        10_i64.pow(self.digits())
    }
}

/// What a `string` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringKind {
    Plain,
    Uuid,
}

/// An exact decimal number: the unscaled value is stored, the value is
/// `unscaled × 10^-scale`, with at most `precision` digits in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub(crate) precision: u32,
    pub(crate) scale: u32,
}

#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) name: String,
    pub(crate) fields: Vec<Field>,
    /// Field name → position, for JSON members that come out of order.
    pub(crate) by_name: HashMap<String, usize>,
}

#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) node: NodeId,
    /// `,"name":`, written before the value when decoding (the first field
    /// skips the comma).
    pub(crate) json_key: Box<[u8]>,
    pub(crate) default: FieldDefault,
}

/// A field's `default`, already encoded as Avro binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldDefault {
    Absent,
    Encoded(Vec<u8>),
    /// The schema gives a default that does not fit the field's type; the
    /// schema is still usable while the field is present in the JSON.
    Invalid(String),
}

#[derive(Debug)]
pub(crate) struct Enum {
    pub(crate) name: String,
    pub(crate) symbols: Vec<String>,
    /// Each symbol as a JSON string, quotes included.
    pub(crate) json_symbols: Vec<Box<[u8]>>,
}

#[derive(Debug)]
pub(crate) struct Fixed {
    pub(crate) name: String,
    pub(crate) size: usize,
    pub(crate) kind: FixedKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FixedKind {
    Plain,
    Decimal(Decimal),
    /// A UUID's 16 bytes.
    Uuid,
}

/// The element type of an array, or the value type of a map.
#[derive(Debug)]
pub(crate) struct Items {
    pub(crate) node: NodeId,
    /// The fewest bytes one element takes in a datum (0 for `null`, an
    /// empty record…), to refuse block counts the datum cannot hold.
    pub(crate) min_size: usize,
}

#[derive(Debug)]
pub(crate) struct Union {
    pub(crate) branches: Vec<NodeId>,
    /// Each branch's name in the JSON wrapper: the full name of a named
    /// type, else the type's name (`"string"`, `"array"`…).
    pub(crate) labels: Vec<String>,
    pub(crate) shape: UnionShape,
}

/// How a union's value looks in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnionShape {
    /// At most one branch that is not `null`: `null` or the value itself.
    Plain { null: Option<usize>, value: Option<usize> },
    /// Two or more non-null branches: `null`, or `{"<label>": value}`.
    Tagged { null: Option<usize> },
}

impl Node {
    /// The Avro type's name: the full name of a named type, else the
    /// primitive or complex type name (a logical type's underlying type).
    pub(crate) fn type_name(&self) -> &str {
        match self {
            Node::Null => "null",
            Node::Boolean => "boolean",
            Node::Int(_) => "int",
            Node::Long(_) => "long",
            Node::Float => "float",
            Node::Double => "double",
            Node::Bytes(_) => "bytes",
            Node::String(_) => "string",
            Node::Record(r) => &r.name,
            Node::Enum(e) => &e.name,
            Node::Fixed(f) => &f.name,
            Node::Array(_) => "array",
            Node::Map(_) => "map",
            Node::Union(_) => "union",
        }
    }

    /// The full name of a record, enum or fixed.
    pub(crate) fn full_name(&self) -> Option<&str> {
        match self {
            Node::Record(r) => Some(&r.name),
            Node::Enum(e) => Some(&e.name),
            Node::Fixed(f) => Some(&f.name),
            _ => None,
        }
    }

    /// Calls `f` on every child reference, to redirect forward references
    /// once their definitions are known.
    pub(crate) fn children_mut(&mut self, mut f: impl FnMut(&mut NodeId)) {
        match self {
            Node::Record(r) => r.fields.iter_mut().for_each(|field| f(&mut field.node)),
            Node::Array(items) | Node::Map(items) => f(&mut items.node),
            Node::Union(u) => u.branches.iter_mut().for_each(f),
            _ => {}
        }
    }
}
