//! The Protobuf codec, proved against encodings built independently of its
//! JSON mapping (prost-reflect's `DynamicMessage` set field by field, or
//! bytes written by hand), one concern per module.

mod common;
mod decode;
mod encode;
mod evolution;
mod mapping_document;
mod message_index;
mod schema;
mod well_known_types;
