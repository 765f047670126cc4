//! `lookup` (tables): joins each input JSON object with the value a table
//! holds under one of its fields, as DESIGN §1.4 pins it. The Python port
//! (`plugins/lookup-py`) writes the same bytes
//! (`tests/conformance/lookup/`).
//!
//! Config (all required; any other key is refused): `table`, the NAME of
//! `--table NAME=TOPIC`; `key_field`, the input field whose string value is
//! the key to look up; `as`, the output field that gets the table's value.
//!
//! For each record, the output is one record to the default output with the
//! input's key and headers, whose value is the input object with field `as`
//! set to the table's value under the key, or `null` when the key is absent
//! or `key_field` is missing or not a string. Byte for byte:
//!
//! - **Members**: the input's top-level members in order; a repeated member
//!   keeps its first position and its last value. `as` replaces the value of
//!   the member of that name in place, else it is appended last. Keys are
//!   compared decoded (`"\u0061s"` is `as`).
//! - **Lookup key**: the UTF-8 bytes of the decoded string value of
//!   `key_field` (its last value when repeated).
//! - **Compact JSON** for every value, the table's included: whitespace
//!   outside strings dropped; number tokens copied as written (`1e5`,
//!   `-0`, `1.50`, 30-digit integers stay as they are); strings decoded and
//!   written again as raw UTF-8 escaping only `"`, `\` and U+0000–U+001F
//!   (`\" \\ \b \f \n \r \t`, others `\u00xx` lowercase), so `\/` becomes `/`
//!   and `\u00e9` becomes `é`; nested objects keep every member as written,
//!   repeats included.
//!
//! Rejected, first failure wins: no value (`value is missing`); not UTF-8
//! or not JSON — strict RFC 8259: trailing data, leading zeros, NaN, a BOM,
//! raw control characters in strings and lone surrogate escapes (even in a
//! member a repeat overrides) are invalid; no depth limit — (`value is not
//! valid JSON`); not an object (`value is not a JSON object`); a table value
//! that is not UTF-8 JSON by the same rules (`the value of key "K" in table
//! "T" is not valid JSON`, both names written as JSON strings).
//!
//! Most inputs and table values are compact already, so the join first asks
//! `canonical` to prove that: an object that is valid, already in the
//! compact form and has no repeated member becomes the output by copying,
//! with `as` spliced in, and so does a table value that is already compact.
//! Anything it cannot prove goes through `compact`, which also writes
//! every rejection.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform, tables};

mod canonical;
mod compact;

use canonical::Member;
use compact::write_json_string;

/// The join as configured: which table, which field holds the key, which
/// field gets the value.
pub struct Lookup {
    /// The NAME of `--table NAME=TOPIC`.
    table: String,
    /// The input field whose string value is the key looked up.
    key_field: String,
    /// The output field the table's value goes to.
    field_as: String,
    /// `key_field` and `as` as compact JSON strings, quotes included, to
    /// compare with member names as written.
    key_field_json: String,
    field_as_json: String,
    /// The input's members on the fast path, kept between records so that
    /// none allocates for them.
    members: Cell<Vec<Member>>,
}

/// The most members whose room is kept for the next record; a larger
/// object's is given back.
const KEPT_MEMBERS: usize = 1024;

/// A compact object with at most this many members is checked for a
/// repeated name pair by pair; a larger one by sorting the names.
const PAIRWISE_MEMBERS: usize = 16;

fn required<'a>(config: &'a Config, key: &str, meaning: &str) -> Result<&'a str, String> {
    config.get(key).ok_or_else(|| format!("config key \"{key}\" is required: {meaning}"))
}

impl Lookup {
    fn new(table: &str, key_field: &str, field_as: &str) -> Self {
        let json = |text: &str| {
            let mut json = String::new();
            write_json_string(&mut json, text);
            json
        };
        Lookup {
            table: table.to_owned(),
            key_field: key_field.to_owned(),
            field_as: field_as.to_owned(),
            key_field_json: json(key_field),
            field_as_json: json(field_as),
            members: Cell::default(),
        }
    }

    /// The joined value: the input object with `as` set, compact (UTF-8).
    pub fn join(&self, value: Option<&[u8]>) -> Result<Vec<u8>, Rejection> {
        let bytes = value.ok_or_else(|| Rejection::new("value is missing"))?;
        let mut members = self.members.take();
        let joined = if canonical::object(bytes, &mut members) && distinct(bytes, &members) {
            self.join_compact(bytes, &members)
        } else {
            self.join_rewriting(bytes)
        };
        if members.capacity() <= KEPT_MEMBERS {
            self.members.set(members);
        }
        joined
    }

    /// The fast path: `input` is compact already and repeats no member, so
    /// the output is `input` with the value of `as` replaced or appended.
    fn join_compact(&self, input: &[u8], members: &[Member]) -> Result<Vec<u8>, Rejection> {
        let named = |name: &str| members.iter().find(|member| &input[member.key.clone()] == name.as_bytes());
        let key = named(&self.key_field_json).and_then(|member| canonical::string(&input[member.value.clone()]));
        let found = key.as_ref().and_then(|key| tables::get(&self.table, key));
        let joined = match &found {
            None => Cow::Borrowed(&b"null"[..]),
            Some(found) if canonical::value(found) => Cow::Borrowed(&found[..]),
            Some(found) => Cow::Owned(self.table_value(found, key.as_deref().unwrap_or_default())?.into_bytes()),
        };

        let mut out = Vec::with_capacity(input.len() + self.field_as_json.len() + joined.len() + 2);
        match named(&self.field_as_json) {
            Some(member) => {
                out.extend_from_slice(&input[..member.value.start]);
                out.extend_from_slice(&joined);
                out.extend_from_slice(&input[member.value.end..]);
            }
            None => {
                out.extend_from_slice(&input[..input.len() - 1]); // all but the closing brace
                if !members.is_empty() {
                    out.push(b',');
                }
                out.extend_from_slice(self.field_as_json.as_bytes());
                out.push(b':');
                out.extend_from_slice(&joined);
                out.push(b'}');
            }
        }
        Ok(out)
    }

    /// The table's value `found` under `key` (UTF-8), rewritten compact.
    fn table_value(&self, found: &[u8], key: &[u8]) -> Result<String, Rejection> {
        compact::compact(found).map(|table_value| table_value.text).ok_or_else(|| {
            let mut reason = String::from("the value of key ");
            write_json_string(&mut reason, &String::from_utf8_lossy(key));
            reason.push_str(" in table ");
            write_json_string(&mut reason, &self.table);
            reason.push_str(" is not valid JSON");
            Rejection::new(reason)
        })
    }

    /// The general path: any input, rewritten compact with repeated members
    /// merged; the rejections.
    fn join_rewriting(&self, bytes: &[u8]) -> Result<Vec<u8>, Rejection> {
        let input = compact::compact(bytes).ok_or_else(|| Rejection::new("value is not valid JSON"))?;
        let members = input.members.ok_or_else(|| Rejection::new("value is not a JSON object"))?;

        // First position, last value.
        let mut fields: Vec<(&str, &compact::Member)> = Vec::with_capacity(members.len() + 1);
        let mut position: HashMap<&str, usize> = HashMap::with_capacity(members.len());
        for member in &members {
            match position.get(member.key.as_str()) {
                Some(&at) => fields[at].1 = member,
                None => {
                    position.insert(&member.key, fields.len());
                    fields.push((&member.key, member));
                }
            }
        }

        let key = position.get(self.key_field.as_str()).and_then(|&at| fields[at].1.string.as_deref());
        let joined = match key.and_then(|key| tables::get(&self.table, key.as_bytes())) {
            None => "null".to_owned(),
            Some(found) => self.table_value(&found, key.unwrap_or_default().as_bytes())?,
        };

        let mut out = String::with_capacity(input.text.len() + joined.len() + self.field_as.len() + 4);
        out.push('{');
        for (name, member) in &fields {
            if out.len() > 1 {
                out.push(',');
            }
            write_json_string(&mut out, name);
            out.push(':');
            out.push_str(if *name == self.field_as { &joined } else { &input.text[member.value.clone()] });
        }
        if !position.contains_key(self.field_as.as_str()) {
            if out.len() > 1 {
                out.push(',');
            }
            write_json_string(&mut out, &self.field_as);
            out.push(':');
            out.push_str(&joined);
        }
        out.push('}');
        Ok(out.into_bytes())
    }
}

/// Whether no two of `members` of the compact object `input` have the same
/// name (compact names are equal as bytes when they are equal decoded).
fn distinct(input: &[u8], members: &[Member]) -> bool {
    let name = |member: &Member| &input[member.key.clone()];
    if members.len() <= PAIRWISE_MEMBERS {
        return members.iter().enumerate().all(|(at, member)| members[..at].iter().all(|earlier| name(earlier) != name(member)));
    }
    let mut names: Vec<&[u8]> = members.iter().map(name).collect();
    names.sort_unstable();
    names.windows(2).all(|pair| pair[0] != pair[1])
}

impl Transform for Lookup {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&["table", "key_field", "as"])?;
        Ok(Lookup::new(
            required(&config, "table", "the NAME of the --table NAME=TOPIC to look up")?,
            required(&config, "key_field", "the input field whose string value is the key to look up")?,
            required(&config, "as", "the output field that gets the table's value")?,
        ))
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let joined = self.join(record.value.as_deref())?;
        Ok(vec![OutputRecord { topic: None, key: record.key, value: Some(joined), headers: record.headers }])
    }
}

export_transform!(Lookup);

#[cfg(test)]
mod tests;
