//! Avro binary → JSON text, in one pass: the compiled schema directs a
//! cursor over the datum and each value is written as JSON straight into
//! the output (field keys and enum symbols pre-rendered), with no value
//! tree and no allocation per field.

use super::calendar;
use super::decimal;
use super::json_text::{write_base64, write_f32, write_f64, write_i64, write_str, write_utf8};
use super::node::{FixedKind, IntKind, Items, LongKind, Node, NodeId, StringKind, TimeUnit, Tree, UnionShape};
use super::path::{Failure, Segment, Step, fail};
use super::uuid;
use super::varint::{self, VarintError};

/// Records, arrays and maps nested deeper than this are refused (a
/// recursive schema could otherwise exhaust the stack).
pub(crate) const MAX_DEPTH: u32 = 128;

/// Array elements of a type that takes no bytes (`null`, a record of
/// nulls) that one datum may hold in all; without a bound a few bytes of
/// block counts could ask for 2⁶³ of them, or nest arrays of a million.
const MAX_EMPTY_ELEMENTS: u64 = 1 << 16;

/// Appends the JSON text of the datum `payload` to `out`.
pub(crate) fn decode(tree: &Tree, payload: &[u8], out: &mut Vec<u8>) -> Step<()> {
    out.reserve(payload.len() * 2 + 16);
    let mut reader = Reader { nodes: &tree.nodes, input: payload, pos: 0, depth: 0, empty_left: MAX_EMPTY_ELEMENTS };
    reader.value(tree.root, out)?;
    let trailing = payload.len() - reader.pos;
    if trailing > 0 {
        return fail(format!("{trailing} bytes left after the datum"));
    }
    Ok(())
}

struct Reader<'s, 'a> {
    nodes: &'s [Node],
    input: &'a [u8],
    pos: usize,
    depth: u32,
    /// How many more elements of no bytes the datum may hold.
    empty_left: u64,
}

impl<'a> Reader<'_, 'a> {
    fn value(&mut self, id: NodeId, out: &mut Vec<u8>) -> Step<()> {
        let nodes = self.nodes;
        match &nodes[id.0] {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Boolean => match self.take(1, "boolean")?[0] {
                0 => out.extend_from_slice(b"false"),
                1 => out.extend_from_slice(b"true"),
                other => return fail(format!("boolean byte is {other}, not 0 or 1")),
            },
            Node::Int(kind) => {
                let value = self.int("int")?;
                let as_text = match kind {
                    IntKind::Plain => false,
                    IntKind::Date => calendar::write_date(out, value),
                    IntKind::TimeMillis => calendar::write_time(out, value, TimeUnit::Millis),
                };
                if !as_text {
                    write_i64(out, value);
                }
            }
            Node::Long(kind) => {
                let value = self.long("long")?;
                let as_text = match kind {
                    LongKind::Plain => false,
                    LongKind::TimeMicros => calendar::write_time(out, value, TimeUnit::Micros),
                    LongKind::Timestamp(timestamp) => calendar::write_timestamp(out, value, *timestamp),
                };
                if !as_text {
                    write_i64(out, value);
                }
            }
            Node::Float => {
                let bytes = self.take(4, "float")?;
                write_f32(out, f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
            }
            Node::Double => {
                let bytes = self.take(8, "double")?;
                let mut le = [0u8; 8];
                le.copy_from_slice(bytes);
                write_f64(out, f64::from_le_bytes(le));
            }
            Node::Bytes(decimal) => {
                let bytes = self.sized("bytes")?;
                match decimal {
                    None => write_base64(out, bytes),
                    Some(d) => decimal::write_text(out, bytes, d.scale).map_err(Failure::new)?,
                }
            }
            Node::String(StringKind::Plain | StringKind::Uuid) => {
                let bytes = self.sized("string")?;
                write_utf8(out, bytes).map_err(|e| bad_utf8(e, "string"))?;
            }
            Node::Record(record) => {
                self.enter()?;
                out.push(b'{');
                for (i, field) in record.fields.iter().enumerate() {
                    out.extend_from_slice(if i == 0 { &field.json_key[1..] } else { &field.json_key });
                    self.value(field.node, out).map_err(|e| e.at(Segment::Field(field.name.clone())))?;
                }
                out.push(b'}');
                self.depth -= 1;
            }
            Node::Enum(e) => {
                let index = self.int("enum index")?;
                match usize::try_from(index).ok().and_then(|i| e.json_symbols.get(i)) {
                    Some(symbol) => out.extend_from_slice(symbol),
                    None => {
                        let count = e.symbols.len();
                        return fail(format!("enum index {index} is out of range: {} has {count} symbols", e.name));
                    }
                }
            }
            Node::Fixed(fixed) => {
                let bytes = self.take(fixed.size, "fixed")?;
                match fixed.kind {
                    FixedKind::Plain => write_base64(out, bytes),
                    FixedKind::Decimal(d) => decimal::write_text(out, bytes, d.scale).map_err(Failure::new)?,
                    FixedKind::Uuid => {
                        let mut array = [0u8; 16];
                        array.copy_from_slice(bytes);
                        uuid::write(out, &array);
                    }
                }
            }
            Node::Array(items) => self.array(items, out)?,
            Node::Map(items) => self.map(items, out)?,
            Node::Union(union) => {
                let index = self.int("union branch index")?;
                let Some(branch) = usize::try_from(index).ok().filter(|i| *i < union.branches.len()) else {
                    let count = union.branches.len();
                    return fail(format!("union branch index {index} is out of range: the union has {count} branches"));
                };
                match union.shape {
                    UnionShape::Tagged { null } if null != Some(branch) => {
                        out.extend_from_slice(b"{");
                        write_str(out, &union.labels[branch]);
                        out.push(b':');
                        self.value(union.branches[branch], out)?;
                        out.push(b'}');
                    }
                    _ => self.value(union.branches[branch], out)?,
                }
            }
        }
        Ok(())
    }

    fn array(&mut self, items: &Items, out: &mut Vec<u8>) -> Step<()> {
        self.enter()?;
        out.push(b'[');
        let mut index = 0usize;
        loop {
            let count = self.block_count(items.min_size, "array")?;
            if count == 0 {
                break;
            }
            for _ in 0..count {
                if index > 0 {
                    out.push(b',');
                }
                self.value(items.node, out).map_err(|e| e.at(Segment::Index(index)))?;
                index += 1;
            }
        }
        out.push(b']');
        self.depth -= 1;
        Ok(())
    }

    fn map(&mut self, items: &Items, out: &mut Vec<u8>) -> Step<()> {
        self.enter()?;
        out.push(b'{');
        let mut index = 0usize;
        loop {
            let count = self.block_count(items.min_size, "map")?;
            if count == 0 {
                break;
            }
            for _ in 0..count {
                if index > 0 {
                    out.push(b',');
                }
                let key = self.sized("map key")?;
                write_utf8(out, key).map_err(|e| bad_utf8(e, "map key"))?;
                out.push(b':');
                self.value(items.node, out).map_err(|e| e.at(Segment::Key(String::from_utf8_lossy(key).into_owned())))?;
                index += 1;
            }
        }
        out.push(b'}');
        self.depth -= 1;
        Ok(())
    }

    /// The element count of the next block (0 at the end), after checking
    /// that the rest of the datum can hold that many elements.
    fn block_count(&mut self, min_size: usize, what: &str) -> Step<usize> {
        let raw = self.long("block count")?;
        if raw < 0 {
            // A negative count is followed by the block's size in bytes.
            self.long("block size")?;
        }
        let count = raw.unsigned_abs();
        let remaining = (self.input.len() - self.pos) as u64;
        if min_size == 0 {
            if count > self.empty_left {
                return fail(format!(
                    "{what} block of {count} elements of no bytes passes the limit of {MAX_EMPTY_ELEMENTS} per datum"
                ));
            }
            self.empty_left -= count;
        } else if count > remaining / min_size as u64 {
            return fail(format!("{what} block of {count} elements does not fit in the {remaining} bytes left"));
        }
        Ok(count as usize)
    }

    #[inline]
    fn enter(&mut self) -> Step<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(format!("values nest deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    #[inline]
    fn take(&mut self, len: usize, what: &str) -> Step<&'a [u8]> {
        let input = self.input;
        match input.get(self.pos..).and_then(|rest| rest.get(..len)) {
            Some(bytes) => {
                self.pos += len;
                Ok(bytes)
            }
            None => fail(format!("datum ends inside a {what} ({len} bytes needed, {} left)", input.len() - self.pos)),
        }
    }

    /// A length-prefixed run of bytes (`bytes`, `string`, a map key).
    #[inline]
    fn sized(&mut self, what: &str) -> Step<&'a [u8]> {
        let len = self.long(what)?;
        if len < 0 {
            return fail(format!("{what} has a negative length {len}"));
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.take(len, what)
    }

    #[inline]
    fn long(&mut self, what: &str) -> Step<i64> {
        varint::read(self.input, &mut self.pos, 64).map_err(|e| varint_failure(e, what, 64))
    }

    #[inline]
    fn int(&mut self, what: &str) -> Step<i64> {
        varint::read(self.input, &mut self.pos, 32).map_err(|e| varint_failure(e, what, 32))
    }
}

fn varint_failure(error: VarintError, what: &str, bits: u32) -> Box<Failure> {
    Failure::new(match error {
        VarintError::Truncated => format!("datum ends inside a {what}"),
        VarintError::Overlong => format!("bad varint for a {what}: longer than {bits} bits"),
    })
}

fn bad_utf8(error: std::str::Utf8Error, what: &str) -> Box<Failure> {
    Failure::new(format!("{what} is not valid UTF-8 (at byte {})", error.valid_up_to()))
}
