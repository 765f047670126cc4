//! Confluent's message-index list, the prefix of every Protobuf payload that
//! says which message type of the `.proto` file the bytes after it hold: a
//! zigzag varint count N, then N zigzag varint indexes, the path from the
//! file's top-level messages down through nested ones. A count of 0 (the
//! single byte `0`) means `[0]`, the file's first message.

use prost_reflect::{FileDescriptor, MessageDescriptor};

use crate::FitError;

/// Every message type of a file, addressable by its index path, built once
/// per schema so a record's lookup is array indexing.
#[derive(Debug, Clone)]
pub(super) struct MessageTypes {
    top_level: Vec<MessageType>,
}

#[derive(Debug, Clone)]
struct MessageType {
    descriptor: MessageDescriptor,
    /// In declaration order, without the entry types protoc makes for map
    /// fields: Confluent's serializer numbers the messages of the `.proto`
    /// text, where a map is a field, not a message.
    nested: Vec<MessageType>,
}

impl MessageType {
    fn of(descriptor: MessageDescriptor) -> Self {
        let nested = descriptor.child_messages().filter(|message| !message.is_map_entry()).map(MessageType::of).collect();
        MessageType { descriptor, nested }
    }
}

impl MessageTypes {
    pub(super) fn of_file(file: &FileDescriptor) -> Self {
        MessageTypes { top_level: file.messages().map(MessageType::of).collect() }
    }

    /// The file's first top-level message, the one a schema writes.
    pub(super) fn first(&self) -> Option<&MessageDescriptor> {
        self.top_level.first().map(|message| &message.descriptor)
    }

    /// Reads the index list at the start of `payload`: the message type it
    /// names and the message bytes after it.
    pub(super) fn read<'p>(&self, payload: &'p [u8]) -> Result<(&MessageDescriptor, &'p [u8]), FitError> {
        let (count, mut rest) = read_zigzag(payload)?;
        if count == 0 {
            let first = self.top_level.first().ok_or_else(|| index_error("the schema has no message"))?;
            return Ok((&first.descriptor, rest));
        }
        let count = usize::try_from(count).map_err(|_| index_error(format!("negative count {count}")))?;
        let mut candidates = &self.top_level;
        let mut found = None;
        let mut path = Vec::with_capacity(count.min(8));
        for _ in 0..count {
            let (index, after) = read_zigzag(rest)?;
            rest = after;
            path.push(index);
            let message = usize::try_from(index)
                .ok()
                .and_then(|index| candidates.get(index))
                .ok_or_else(|| index_error(format!("{path:?} names no message of the schema")))?;
            candidates = &message.nested;
            found = Some(&message.descriptor);
        }
        // count > 0, so the loop ran and set `found`.
        found.map(|message| (message, rest)).ok_or_else(|| index_error("empty index list"))
    }
}

/// Appends the index list of the file's first top-level message: `[0]`,
/// written as the single byte 0 the way Confluent's serializer writes it.
pub(super) fn write_first(out: &mut Vec<u8>) {
    out.push(0);
}

/// One of Confluent's varints: at most 5 bytes (a 32-bit value), zigzag.
fn read_zigzag(bytes: &[u8]) -> Result<(i32, &[u8]), FitError> {
    let mut value: u32 = 0;
    for (at, &byte) in bytes.iter().enumerate().take(5) {
        value |= u32::from(byte & 0x7f) << (7 * at);
        if byte & 0x80 == 0 {
            let decoded = ((value >> 1) as i32) ^ -((value & 1) as i32);
            return Ok((decoded, &bytes[at + 1..]));
        }
    }
    Err(index_error(if bytes.len() < 5 { "truncated varint" } else { "varint longer than 5 bytes" }))
}

fn index_error(what: impl std::fmt::Display) -> FitError {
    FitError::new("$", format!("protobuf message-index list: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints_decode_as_confluent_writes_them() {
        assert_eq!(read_zigzag(&[0x00]).unwrap().0, 0);
        assert_eq!(read_zigzag(&[0x01]).unwrap().0, -1);
        assert_eq!(read_zigzag(&[0x02]).unwrap().0, 1);
        assert_eq!(read_zigzag(&[0xac, 0x02]).unwrap().0, 150);
    }

    #[test]
    fn truncated_and_overlong_varints_are_refused() {
        assert!(read_zigzag(&[0x80]).unwrap_err().message.contains("truncated"));
        assert!(read_zigzag(&[0x80; 6]).unwrap_err().message.contains("longer than 5"));
    }
}
