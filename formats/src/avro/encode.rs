//! JSON text → Avro binary, directed by the output schema: a pull reader
//! walks the JSON once while the schema says what each value must be.
//! Record members that come in schema order are written as they come; a
//! member that comes early is remembered by position and written when its
//! turn comes; a missing one takes the field's compiled default; a member
//! the schema does not know is skipped.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::calendar;
use super::decimal;
use super::decode::MAX_DEPTH;
use super::json_reader::{JsonReader, Kind};
use super::json_shape::{cut, expected, fits, listed};
use super::json_text::non_finite_named;
use super::node::{
    Decimal, FieldDefault, FixedKind, IntKind, Items, LongKind, Node, NodeId, Record, StringKind, TimeUnit, Tree, Union,
    UnionShape,
};
use super::path::{Failure, Segment, Step, fail, quoted};
use super::uuid;
use super::varint::{encode_long, write_len, write_long};

/// Appends the Avro binary of the JSON text `json` to `out`.
pub(crate) fn encode(tree: &Tree, json: &[u8], out: &mut Vec<u8>) -> Step<()> {
    out.reserve(json.len() / 2 + 16);
    let mut writer =
        Writer { nodes: &tree.nodes, json: JsonReader::new(json)?, scratch: String::new(), bytes: Vec::new(), depth: 0 };
    writer.value(tree.root, out)?;
    writer.json.end()
}

struct Writer<'s, 'a> {
    nodes: &'s [Node],
    json: JsonReader<'a>,
    /// A string with escapes, unescaped.
    scratch: String,
    /// Decoded base64.
    bytes: Vec<u8>,
    depth: u32,
}

impl Writer<'_, '_> {
    fn value(&mut self, id: NodeId, out: &mut Vec<u8>) -> Step<()> {
        let nodes = self.nodes;
        let node = &nodes[id.0];
        let kind = self.json.peek()?;
        match (node, kind) {
            (Node::Null, Kind::Null) => self.json.null()?,
            (Node::Boolean, Kind::Bool) => out.push(u8::from(self.json.boolean()?)),
            (Node::Int(_), Kind::Number) => write_long(out, self.integer(node, i64::from(i32::MIN), i64::from(i32::MAX))?),
            (Node::Long(_), Kind::Number) => write_long(out, self.integer(node, i64::MIN, i64::MAX)?),
            (Node::Int(IntKind::Date), Kind::String) => {
                let days = self.text_as(calendar::parse_date)?;
                write_long(out, days);
            }
            (Node::Int(IntKind::TimeMillis), Kind::String) => {
                let millis = self.text_as(|t| calendar::parse_time(t, TimeUnit::Millis))?;
                write_long(out, millis);
            }
            (Node::Long(LongKind::TimeMicros), Kind::String) => {
                let micros = self.text_as(|t| calendar::parse_time(t, TimeUnit::Micros))?;
                write_long(out, micros);
            }
            (Node::Long(LongKind::Timestamp(timestamp)), Kind::String) => {
                let value = self.text_as(|t| calendar::parse_timestamp(t, *timestamp))?;
                write_long(out, value);
            }
            (Node::Float | Node::Double, Kind::Number | Kind::String) => self.float(node, out)?,
            (Node::Bytes(None), Kind::String) => {
                let bytes = self.base64()?;
                write_len(out, bytes.len());
                out.extend_from_slice(bytes);
            }
            (Node::Bytes(Some(d)), Kind::String | Kind::Number) => {
                self.decimal(kind, *d)?;
                write_len(out, self.bytes.len());
                out.extend_from_slice(&self.bytes);
            }
            (Node::String(string_kind), Kind::String) => {
                let text = self.json.string(&mut self.scratch)?;
                if *string_kind == StringKind::Uuid && uuid::parse(text).is_none() {
                    return fail(format!("string {} is not a UUID", quoted(text, 40)));
                }
                write_len(out, text.len());
                out.extend_from_slice(text.as_bytes());
            }
            (Node::Record(record), Kind::Object) => self.record(record, out)?,
            (Node::Enum(e), Kind::String) => {
                let symbol = self.json.string(&mut self.scratch)?;
                match e.symbols.iter().position(|s| s == symbol) {
                    Some(index) => write_long(out, index as i64),
                    None => {
                        let allowed = listed(&e.symbols);
                        return fail(format!("unknown symbol {} of enum {}; allowed: {allowed}", quoted(symbol, 40), e.name));
                    }
                }
            }
            (Node::Fixed(fixed), Kind::String | Kind::Number) => match fixed.kind {
                FixedKind::Plain if kind == Kind::String => {
                    let size = fixed.size;
                    let bytes = self.base64()?;
                    if bytes.len() != size {
                        return fail(format!("expected {size} bytes for fixed {}, found {}", fixed.name, bytes.len()));
                    }
                    out.extend_from_slice(bytes);
                }
                FixedKind::Decimal(d) => {
                    self.decimal(kind, d)?;
                    if !decimal::extend_signed(out, &self.bytes, fixed.size) {
                        return fail(format!("decimal does not fit in the {} bytes of {}", fixed.size, fixed.name));
                    }
                }
                FixedKind::Uuid if kind == Kind::String => {
                    let bytes = self.text_as(|t| uuid::parse(t).ok_or_else(|| "is not a UUID".to_string()))?;
                    out.extend_from_slice(&bytes);
                }
                _ => return self.mismatch(node),
            },
            (Node::Array(items), Kind::Array) => self.array(items, out)?,
            (Node::Map(items), Kind::Object) => self.map(items, out)?,
            (Node::Union(union), _) => self.union(union, kind, out)?,
            _ => return self.mismatch(node),
        }
        Ok(())
    }

    /// A JSON integer within `min..=max`.
    #[inline]
    fn integer(&mut self, node: &Node, min: i64, max: i64) -> Step<i64> {
        let (text, integer) = self.json.number()?;
        if !integer {
            return fail(format!("expected {}, found number {}", expected(node), cut(text)));
        }
        match text.parse::<i64>().ok().filter(|v| (min..=max).contains(v)) {
            Some(value) => Ok(value),
            None => fail(format!("number {} is out of range for {}", cut(text), node.type_name())),
        }
    }

    /// A string read by `read`, whose error is about the text.
    fn text_as<T>(&mut self, read: impl FnOnce(&str) -> Result<T, String>) -> Step<T> {
        let text = self.json.string(&mut self.scratch)?;
        read(text).map_err(|reason| Failure::new(format!("string {} {reason}", quoted(text, 40))))
    }

    /// A decimal from a JSON string or number, its unscaled value left in
    /// `self.bytes`.
    fn decimal(&mut self, kind: Kind, decimal: Decimal) -> Step<()> {
        self.bytes.clear();
        let result = if kind == Kind::Number {
            let (text, _) = self.json.number()?;
            decimal::parse_text(text, decimal, &mut self.bytes).map_err(|why| format!("number {} {why}", cut(text)))
        } else {
            let text = self.json.string(&mut self.scratch)?;
            decimal::parse_text(text, decimal, &mut self.bytes).map_err(|why| format!("string {} {why}", quoted(text, 40)))
        };
        result.map_err(Failure::new)
    }

    fn float(&mut self, node: &Node, out: &mut Vec<u8>) -> Step<()> {
        let single = matches!(node, Node::Float);
        let value = if self.json.peek()? == Kind::String {
            let text = self.json.string(&mut self.scratch)?;
            match non_finite_named(text) {
                Some(value) => value,
                None => return fail(format!("expected {}, found string {}", expected(node), quoted(text, 40))),
            }
        } else {
            let (text, _) = self.json.number()?;
            let parsed = if single { text.parse::<f32>().map(f64::from) } else { text.parse::<f64>() };
            match parsed.ok().filter(|v| v.is_finite()) {
                Some(value) => value,
                None => return fail(format!("number {} is out of range for {}", cut(text), node.type_name())),
            }
        };
        if single {
            out.extend_from_slice(&(value as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
        Ok(())
    }

    /// The bytes of a base64 string (standard alphabet, padded).
    fn base64(&mut self) -> Step<&[u8]> {
        let text = self.json.string(&mut self.scratch)?;
        self.bytes.clear();
        if let Err(e) = STANDARD.decode_vec(text, &mut self.bytes) {
            return fail(format!("string {} is not base64 (standard alphabet, padded): {e}", quoted(text, 40)));
        }
        Ok(&self.bytes)
    }

    fn record(&mut self, record: &Record, out: &mut Vec<u8>) -> Step<()> {
        self.enter()?;
        self.json.begin_object()?;
        let fields = &record.fields;
        let mut next = 0;
        // Where each member that came before its turn starts in the JSON.
        let mut early: Vec<Option<usize>> = Vec::new();
        let mut first = true;
        while let Some(key) = self.json.next_key(&mut first, &mut self.scratch)? {
            let index = match fields.get(next) {
                Some(field) if field.name == key => Some(next),
                _ => record.by_name.get(key).copied(),
            };
            match index {
                None => self.json.skip()?,
                Some(i) if i == next => {
                    self.field(record, i, out)?;
                    next += 1;
                    while let Some(pos) = early.get(next).copied().flatten() {
                        self.field_at(record, next, pos, out)?;
                        next += 1;
                    }
                }
                Some(i) if i > next && early.get(i).is_none_or(Option::is_none) => {
                    early.resize(fields.len(), None);
                    early[i] = Some(self.json.pos());
                    self.json.skip()?;
                }
                Some(i) => return fail("appears twice in the object").map_err(|e| e.at(field_step(record, i))),
            }
        }
        while next < fields.len() {
            match early.get(next).copied().flatten() {
                Some(pos) => self.field_at(record, next, pos, out)?,
                None => self.missing(record, next, out)?,
            }
            next += 1;
        }
        self.depth -= 1;
        Ok(())
    }

    #[inline]
    fn field(&mut self, record: &Record, index: usize, out: &mut Vec<u8>) -> Step<()> {
        self.value(record.fields[index].node, out).map_err(|e| e.at(field_step(record, index)))
    }

    /// Writes the field whose value starts at `pos`, then comes back.
    fn field_at(&mut self, record: &Record, index: usize, pos: usize, out: &mut Vec<u8>) -> Step<()> {
        let here = self.json.pos();
        self.json.seek(pos);
        self.field(record, index, out)?;
        self.json.seek(here);
        Ok(())
    }

    /// Writes the default of a field the JSON leaves out.
    fn missing(&mut self, record: &Record, index: usize, out: &mut Vec<u8>) -> Step<()> {
        let reason = match &record.fields[index].default {
            FieldDefault::Encoded(bytes) => {
                out.extend_from_slice(bytes);
                return Ok(());
            }
            FieldDefault::Absent => "missing, and the output schema gives it no default".to_string(),
            FieldDefault::Invalid(why) => format!("missing, and the output schema's default for it does not fit: {why}"),
        };
        fail(reason).map_err(|e| e.at(field_step(record, index)))
    }

    fn array(&mut self, items: &Items, out: &mut Vec<u8>) -> Step<()> {
        self.enter()?;
        self.json.begin_array()?;
        let at = out.len();
        out.push(0);
        let mut count = 0usize;
        let mut first = true;
        while self.json.next_element(&mut first)? {
            self.value(items.node, out).map_err(|e| e.at(Segment::Index(count)))?;
            count += 1;
        }
        close_block(out, at, count);
        self.depth -= 1;
        Ok(())
    }

    fn map(&mut self, items: &Items, out: &mut Vec<u8>) -> Step<()> {
        self.enter()?;
        self.json.begin_object()?;
        let at = out.len();
        out.push(0);
        let mut count = 0usize;
        let mut first = true;
        while let Some(key) = self.json.next_key(&mut first, &mut self.scratch)? {
            write_len(out, key.len());
            let key_at = out.len()..out.len() + key.len();
            out.extend_from_slice(key.as_bytes());
            if let Err(failure) = self.value(items.node, out) {
                // The key is still in `out`; the scratch it came from is not.
                let key = String::from_utf8_lossy(&out[key_at]).into_owned();
                return Err(failure.at(Segment::Key(key)));
            }
            count += 1;
        }
        close_block(out, at, count);
        self.depth -= 1;
        Ok(())
    }

    fn union(&mut self, union: &Union, kind: Kind, out: &mut Vec<u8>) -> Step<()> {
        let null = match union.shape {
            UnionShape::Plain { null, .. } | UnionShape::Tagged { null } => null,
        };
        if kind == Kind::Null
            && let Some(null) = null
        {
            self.json.null()?;
            write_long(out, null as i64);
            return Ok(());
        }
        let branch = match union.shape {
            UnionShape::Plain { value: Some(value), .. } => value,
            UnionShape::Plain { value: None, .. } => return self.mismatch_union(union),
            UnionShape::Tagged { .. } => match self.wrapped(union, kind)? {
                Some(branch) => {
                    write_long(out, branch as i64);
                    self.value(union.branches[branch], out)?;
                    // The wrapper's closing brace.
                    return match self.json.next_key(&mut false, &mut self.scratch)? {
                        None => Ok(()),
                        Some(_) => fail("a union wrapper has one member"),
                    };
                }
                None => self.plain_branch(union, kind)?,
            },
        };
        write_long(out, branch as i64);
        self.value(union.branches[branch], out)
    }

    /// If the next value is `{"<branch>": value}` for a non-null branch,
    /// that branch, with the reader on the value.
    fn wrapped(&mut self, union: &Union, kind: Kind) -> Step<Option<usize>> {
        if kind != Kind::Object {
            return Ok(None);
        }
        let start = self.json.pos();
        self.json.begin_object()?;
        let mut first = true;
        let branch = match self.json.next_key(&mut first, &mut self.scratch)? {
            Some(key) => union.labels.iter().position(|l| l == key).filter(|b| union.labels[*b] != "null"),
            None => None,
        };
        if let Some(branch) = branch {
            let value = self.json.pos();
            self.json.skip()?;
            if self.json.next_key(&mut first, &mut self.scratch)?.is_none() {
                self.json.seek(value);
                return Ok(Some(branch));
            }
        }
        self.json.seek(start);
        Ok(None)
    }

    /// The one branch whose JSON form a plain value has.
    fn plain_branch(&mut self, union: &Union, kind: Kind) -> Step<usize> {
        let start = self.json.pos();
        let (integer, named_float) = match kind {
            Kind::Number => (self.json.number()?.1, false),
            Kind::String => (false, non_finite_named(self.json.string(&mut self.scratch)?).is_some()),
            _ => (false, false),
        };
        self.json.seek(start);
        let nodes = self.nodes;
        let fitting: Vec<usize> =
            (0..union.branches.len()).filter(|&b| fits(&nodes[union.branches[b].0], kind, integer, named_float)).collect();
        match fitting.as_slice() {
            [branch] => Ok(*branch),
            [] => self.mismatch_union(union),
            several => {
                let names: Vec<String> = several.iter().map(|b| union.labels[*b].clone()).collect();
                let found = self.found()?;
                fail(format!(
                    "found {found}, which fits more than one of the union's branches {}: write it as {{\"<branch>\": value}}",
                    listed(&names)
                ))
            }
        }
    }

    fn mismatch_union<T>(&mut self, union: &Union) -> Step<T> {
        let found = self.found()?;
        fail(format!(
            "expected one of the union's branches {} (a plain value of one of them, or {{\"<branch>\": value}}), found {found}",
            listed(&union.labels)
        ))
    }

    fn mismatch<T>(&mut self, node: &Node) -> Step<T> {
        let found = self.found()?;
        fail(format!("expected {}, found {found}", expected(node)))
    }

    /// The next value described for a message (and passed over).
    fn found(&mut self) -> Step<String> {
        Ok(match self.json.peek()? {
            Kind::Null => {
                self.json.null()?;
                "null".into()
            }
            Kind::Bool => format!("boolean {}", self.json.boolean()?),
            Kind::Number => format!("number {}", cut(self.json.number()?.0)),
            Kind::String => format!("string {}", quoted(self.json.string(&mut self.scratch)?, 40)),
            Kind::Array => "an array".into(),
            Kind::Object => "an object".into(),
        })
    }

    #[inline]
    fn enter(&mut self) -> Step<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(format!("values nest deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }
}

fn field_step(record: &Record, index: usize) -> Segment {
    Segment::Field(record.fields[index].name.clone())
}

/// Writes a block's element count over the one-byte placeholder at `at`
/// (making room if it needs more), and the closing empty block.
#[inline]
fn close_block(out: &mut Vec<u8>, at: usize, count: usize) {
    if count > 0 {
        let (varint, len) = encode_long(count as i64);
        out[at] = varint[0];
        if len > 1 {
            out.splice(at + 1..at + 1, varint[1..len].iter().copied());
        }
        out.push(0);
    }
}
