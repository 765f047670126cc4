//! Where in a message's bytes decoding broke, as a JSON path: prost reports
//! what is wrong (truncated, bad wire type, bad UTF-8) but not in which
//! field, so after a failed decode these bytes are walked again against the
//! descriptor to find the deepest field whose bytes do not fit. Only the
//! error path runs this; a record that decodes never does.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

use crate::json_schema::json_path::{self, Step};

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LENGTH_DELIMITED: u64 = 2;
const FIXED32: u64 = 5;

/// prost's own nesting limit: deeper bytes fail to decode there, so the walk
/// stops at the same depth.
const MAX_DEPTH: usize = 100;

/// The path of the field whose bytes broke the decoding of `bytes` as
/// `message`, or `$` if the walk finds nothing wrong (or meets a proto2
/// group, which it does not follow).
pub(super) fn locate(message: &MessageDescriptor, bytes: &[u8]) -> String {
    let mut path = Vec::new();
    match walk(message, bytes, &mut path) {
        Err(Stop::Broken) => json_path::format(&path),
        Ok(()) | Err(Stop::GaveUp) => "$".to_owned(),
    }
}

enum Stop {
    /// The bytes are wrong at the path as it stands.
    Broken,
    /// The bytes hold something the walk does not follow.
    GaveUp,
}

fn walk(message: &MessageDescriptor, mut bytes: &[u8], path: &mut Vec<Step>) -> Result<(), Stop> {
    if path.len() > MAX_DEPTH {
        return Err(Stop::Broken);
    }
    // How many elements of each repeated field came before, for `[i]`.
    let mut counts: Vec<(u32, usize)> = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let wire = key & 7;
        let number = u32::try_from(key >> 3).map_err(|_| Stop::Broken)?;
        if number == 0 {
            return Err(Stop::Broken);
        }
        let Some(field) = message.get_field(number) else {
            skip(wire, &mut bytes)?;
            continue;
        };
        let depth = path.len();
        path.push(Step::Key(field.name().to_owned()));
        let packed = field.is_list() && wire == LENGTH_DELIMITED && field.kind().wire_type() as u64 != LENGTH_DELIMITED;
        if field.is_list() && !packed {
            let seen = match counts.iter_mut().find(|(seen, _)| *seen == number) {
                Some((_, count)) => count,
                None => {
                    counts.push((number, 0));
                    &mut counts.last_mut().expect("just pushed").1
                }
            };
            path.push(Step::Index(*seen));
            *seen += 1;
        }
        match value(&field, wire, packed, &mut bytes, path) {
            Err(Stop::Broken) if field.is_map() => {
                // A map entry's `key`/`value` fields are no JSON steps.
                path.truncate(depth + 1);
                return Err(Stop::Broken);
            }
            Err(stop) => return Err(stop),
            Ok(()) => path.truncate(depth),
        }
    }
    Ok(())
}

/// Consumes one value of `field` sent with wire type `wire`.
fn value(field: &FieldDescriptor, wire: u64, packed: bool, bytes: &mut &[u8], path: &mut Vec<Step>) -> Result<(), Stop> {
    let kind = field.kind();
    if field.is_group() {
        return Err(Stop::GaveUp);
    }
    if packed {
        let run = length_delimited(bytes)?;
        return match kind.wire_type() as u64 {
            VARINT => {
                let mut run = run;
                while !run.is_empty() {
                    varint(&mut run)?;
                }
                Ok(())
            }
            FIXED64 if run.len() % 8 == 0 => Ok(()),
            FIXED32 if run.len() % 4 == 0 => Ok(()),
            _ => Err(Stop::Broken),
        };
    }
    if wire != kind.wire_type() as u64 {
        return Err(Stop::Broken);
    }
    match wire {
        LENGTH_DELIMITED => {
            let inner = length_delimited(bytes)?;
            match kind {
                Kind::String if std::str::from_utf8(inner).is_err() => Err(Stop::Broken),
                Kind::Message(message) => walk(&message, inner, path),
                _ => Ok(()),
            }
        }
        other => skip(other, bytes),
    }
}

/// Consumes a value the walk does not look into.
fn skip(wire: u64, bytes: &mut &[u8]) -> Result<(), Stop> {
    match wire {
        VARINT => varint(bytes).map(drop),
        FIXED64 => take(bytes, 8).map(drop),
        LENGTH_DELIMITED => length_delimited(bytes).map(drop),
        FIXED32 => take(bytes, 4).map(drop),
        3 | 4 => Err(Stop::GaveUp),
        _ => Err(Stop::Broken),
    }
}

fn length_delimited<'b>(bytes: &mut &'b [u8]) -> Result<&'b [u8], Stop> {
    let length = varint(bytes)?;
    take(bytes, usize::try_from(length).map_err(|_| Stop::Broken)?)
}

fn take<'b>(bytes: &mut &'b [u8], length: usize) -> Result<&'b [u8], Stop> {
    if bytes.len() < length {
        return Err(Stop::Broken);
    }
    let (taken, rest) = bytes.split_at(length);
    *bytes = rest;
    Ok(taken)
}

fn varint(bytes: &mut &[u8]) -> Result<u64, Stop> {
    let mut value = 0u64;
    for (at, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * at);
        if byte & 0x80 == 0 {
            *bytes = &bytes[at + 1..];
            return Ok(value);
        }
    }
    Err(Stop::Broken)
}
