//! The JSON Schema codec: validation with exact paths, references served
//! from memory, and draft detection, one concern per module.

mod drafts;
mod mapping_document;
mod references;
mod schema;
mod validation;
