//! Compiling a registry's `.proto` text, with the files it imports, into
//! descriptors at run time (protox): the references are served from memory
//! under their import paths, the `google/protobuf/*.proto` well-known files
//! from those protox ships, and nothing from the file system. A schema (or
//! reference) may also come as Confluent's serialized form, the base64 of
//! its `FileDescriptorProto`: what Confluent's clients register and what a
//! registry that keeps schemas as given (Apicurio) hands back.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use miette::Diagnostic as _;
use prost_reflect::FileDescriptor;
use prost_reflect::prost::Message as _;
use prost_reflect::prost_types::FileDescriptorSet;
use protox::Compiler;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use crate::{Reference, SchemaError};

/// The name the schema's own file gets among its imports. A reference may
/// not use it: an import of it would be the schema importing itself.
pub(super) const MAIN_FILE: &str = "schema.proto";

/// The compiled main file of a schema, with every file it imports in its
/// descriptor pool.
pub(super) fn compile(text: &str, references: &[Reference]) -> Result<FileDescriptor, SchemaError> {
    let sources = SourceFiles::new(text, references)?;
    let mut resolver = ChainFileResolver::new();
    resolver.add(sources.clone());
    resolver.add(GoogleFileResolver::new());
    let mut compiler = Compiler::with_file_resolver(resolver);
    compiler.open_file(MAIN_FILE).map_err(|error| sources.describe(&error))?;
    compiler
        .descriptor_pool()
        .get_file_by_name(MAIN_FILE)
        .ok_or_else(|| SchemaError(format!("protobuf schema: {MAIN_FILE} missing after compiling")))
}

/// The schema's normalised form: the `FileDescriptorSet` of its file and of
/// every file it imports, dependencies first, without source positions,
/// encoded in protobuf and then base64. Whitespace, comments and the
/// spelling of type references do not change it; what the schema means
/// (fields, numbers, types, their order, the imported definitions) does.
pub(super) fn canonical(file: &FileDescriptor) -> String {
    let set = FileDescriptorSet {
        file: file
            .parent_pool()
            .files()
            .map(|file| {
                let mut proto = file.file_descriptor_proto().clone();
                proto.source_code_info = None;
                proto
            })
            .collect(),
    };
    BASE64.encode(set.encode_to_vec())
}

/// The schema's text and its references' texts, by import path.
#[derive(Debug, Clone)]
struct SourceFiles {
    by_name: HashMap<String, String>,
}

impl SourceFiles {
    fn new(text: &str, references: &[Reference]) -> Result<Self, SchemaError> {
        let mut by_name = HashMap::with_capacity(references.len() + 1);
        by_name.insert(MAIN_FILE.to_owned(), text.to_owned());
        for reference in references {
            if reference.name == MAIN_FILE {
                return Err(SchemaError(format!(
                    "protobuf schema: reference name {MAIN_FILE:?} is reserved for the schema itself"
                )));
            }
            match by_name.get(&reference.name) {
                Some(known) if *known != reference.schema => {
                    return Err(SchemaError(format!("protobuf schema: two different references named {:?}", reference.name)));
                }
                Some(_) => {}
                None => {
                    by_name.insert(reference.name.clone(), reference.schema.clone());
                }
            }
        }
        Ok(SourceFiles { by_name })
    }

    /// The compiler's error as `file:line:column: message` when it points
    /// into one of our texts.
    fn describe(&self, error: &protox::Error) -> SchemaError {
        let place = error.file().map(|file| {
            let offset = error.labels().and_then(|mut labels| labels.next()).map(|label| label.offset());
            match (offset, self.by_name.get(file)) {
                (Some(offset), Some(text)) => {
                    let (line, column) = line_and_column(text, offset);
                    format!("{file}:{line}:{column}: ")
                }
                _ => format!("{file}: "),
            }
        });
        SchemaError(format!("protobuf schema: {}{error}", place.unwrap_or_default()))
    }
}

impl FileResolver for SourceFiles {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.by_name.get(name) {
            Some(text) => File::from_source(name, text).or_else(|error| match serialized(text) {
                Some(mut proto) => {
                    proto.name = Some(name.to_owned());
                    Ok(File::from_file_descriptor_proto(proto))
                }
                None => Err(error),
            }),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// The `FileDescriptorProto` of a schema in Confluent's serialized form
/// (base64), if `text` is one.
fn serialized(text: &str) -> Option<prost_reflect::prost_types::FileDescriptorProto> {
    let bytes = BASE64.decode(text.trim()).ok()?;
    let proto = prost_reflect::prost_types::FileDescriptorProto::decode(bytes.as_slice()).ok()?;
    // Arbitrary bytes can parse as a message; a descriptor names its syntax
    // or defines something.
    (proto.syntax.is_some() || !proto.message_type.is_empty()).then_some(proto)
}

/// The 1-based line and column of a byte offset in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&byte| byte == b'\n').map_or(0, |at| at + 1);
    (line, offset.min(text.len()) - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_in_the_serialized_form_compiles_to_the_same_descriptors() {
        let text = "syntax = \"proto3\";\npackage shop;\nmessage Order { string id = 1; map<string, int64> stock = 2; }\n";
        let from_text = compile(text, &[]).unwrap();
        let serialized = BASE64.encode(from_text.file_descriptor_proto().encode_to_vec());
        let from_serialized = compile(&serialized, &[]).unwrap();
        assert_eq!(canonical(&from_serialized), canonical(&from_text));
        assert!(compile("bm90IGEgZGVzY3JpcHRvcg==", &[]).is_err(), "base64 of anything else is no schema");
    }

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_and_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
    }
}
