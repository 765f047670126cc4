//! How an option is declared once. [`options!`] turns one list of options
//! (the pipeline's and the relay's lists are in `cli.rs`) into everything an
//! option needs: the clap argument (flag, `EOSHOST_*` variable, help with
//! its default), the key of the `--config` TOML file, the merge "command
//! line or variable, else file, else default", the option's own check, and
//! its entry in the effective configuration logged at start. Rules between
//! options stay in [`super::Config::resolve`], where one error can name
//! every option involved.
//!
//! The field name is the option's id: clap's argument id, the flag and the
//! TOML key in kebab case (`max_retries`: `--max-retries`, `max-retries`),
//! the variable in upper case (`EOSHOST_MAX_RETRIES`, written out in the
//! entry's `#[arg]`) and the name in the effective configuration.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;

use crate::cli::{LogFormat, OnError, SinkKind, Switch, parse_pair};
use crate::failure::Failure;
use crate::schemas::{Format, SubjectStrategy};
use crate::sink::columns::{ColumnsMode, WriteMode};
use crate::tables::TableSpec;

/// Declares a group of options once. Each entry: its doc (the help), one
/// `#[arg(...)]` (flag, variable, value syntax), `id: Type`, then the
/// clauses below and `show |view| value`. Two forms:
///
/// ```text
/// options! {
///     /// Docs of the clap struct.
///     pub struct PipelineOptions layered over PipelineFile into PipelineValues, shown from Config;
///
///     /// Help text (clap's rules: one paragraph, a final period dropped).
///     #[arg(long, env = "EOSHOST_MAX_RETRIES")]
///     max_retries: u32 = defaults::MAX_RETRIES, check positive, show |c| c.max_retries;
/// }
/// ```
///
/// The layered form, for options that also come from a TOML file, makes
/// each field an `Option` on the command line and in the file
/// (`as FileType` when the file spells the value another way, see
/// [`Layer`]), appends `[default: …]` to the help of an option with a
/// default, and writes `over(self, file)`: the command line over the file
/// over the default, then `check` (a function `(flag, value) -> Result`,
/// whose result type follows `=>` when it is not the option's type).
///
/// The command-line form (`pub struct RelayArgs, shown from RelaySettings<'_>;`)
/// keeps the fields' types and `#[arg]` as written: clap applies the
/// defaults.
///
/// Both forms write `IDS`, the options' ids in order, and `shown(view)`,
/// each option's [`Shown`] value computed from `view` by its `show`.
macro_rules! options {
    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident layered over $File:ident into $Values:ident, shown from $View:ty;
        $(
            $(#[doc = $doc:literal])*
            #[arg($($arg:tt)*)]
            $field:ident: $ty:ty $(as $file_ty:ty)? $(= $default:expr)? $(, check $check:expr $(=> $out:ty)?)?,
                show |$c:ident| $show:expr;
        )*
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, ::clap::Args)]
        $vis struct $Args {
            $(
                $(#[doc = $doc])*
                #[arg($($arg)*)]
                #[arg(help = $crate::config::options::help(&[$($doc),*], $crate::config::options::options!(@default $($default)?)))]
                pub $field: Option<$ty>,
            )*
        }

        /// The options in the `--config` TOML file, keys in kebab case.
        #[derive(Debug, Default, ::serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        $vis struct $File {
            $( $field: Option<$crate::config::options::options!(@file $ty $(, $file_ty)?)>, )*
        }

        /// Every option's value: command line or variable, else file, else
        /// default; checked.
        #[derive(Debug)]
        $vis struct $Values {
            $(
                pub $field: $crate::config::options::options!(
                    @value $ty, $crate::config::options::options!(@file $ty $(, $file_ty)?); [$($default)?] [$($($out)?)?]
                ),
            )*
        }

        impl $Args {
            /// Lays each option given here over the same option in `file`,
            /// fills in its default and runs its check (usage errors).
            $vis fn over(self, file: $File) -> Result<$Values, $crate::failure::Failure> {
                Ok($Values {
                    $(
                        $field: {
                            let value = <$ty as $crate::config::options::Layer<
                                $crate::config::options::options!(@file $ty $(, $file_ty)?),
                            >>::over(self.$field, file.$field);
                            $( let value = value.unwrap_or_else(|| ($default).into()); )?
                            $( let value = ($check)(&$crate::config::options::long_flag(stringify!($field)), value)?; )?
                            value
                        },
                    )*
                })
            }
        }

        $crate::config::options::options!(@shown $Args, $View; $($field |$c| $show;)*);
    };

    (
        $(#[$meta:meta])*
        $vis:vis struct $Args:ident, shown from $View:ty;
        $(
            $(#[doc = $doc:literal])*
            #[arg($($arg:tt)*)]
            $field:ident: $ty:ty, show |$c:ident| $show:expr;
        )*
    ) => {
        $(#[$meta])*
        #[derive(Debug, ::clap::Args)]
        $vis struct $Args {
            $(
                $(#[doc = $doc])*
                #[arg($($arg)*)]
                pub $field: $ty,
            )*
        }

        $crate::config::options::options!(@shown $Args, $View; $($field |$c| $show;)*);
    };

    (@shown $Args:ident, $View:ty; $($field:ident |$c:ident| $show:expr;)*) => {
        impl $Args {
            /// The options' ids (field names), in order.
            pub const IDS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Each option by id, as the effective configuration shows it.
            pub fn shown(view: &$View) -> Vec<(&'static str, $crate::config::options::Shown)> {
                vec![$((stringify!($field), {
                    let $c: &$View = view;
                    $crate::config::options::Shown::from($show)
                }),)*]
            }
        }
    };

    (@default) => { None };
    (@default $default:expr) => { Some($crate::config::options::Shown::from($default)) };

    (@file $ty:ty) => { $ty };
    (@file $ty:ty, $file_ty:ty) => { $file_ty };

    (@value $ty:ty, $file_ty:ty; [$($default:expr)?] [$out:ty]) => { $out };
    (@value $ty:ty, $file_ty:ty; [$default:expr] []) => { $ty };
    (@value $ty:ty, $file_ty:ty; [] []) => { <$ty as $crate::config::options::Layer<$file_ty>>::Value };
}

pub(crate) use options;

/// How an option's value from the command line (where clap has already put
/// its `EOSHOST_*` variable) is laid over its value from the TOML file,
/// which the file may spell as `File`.
pub trait Layer<File>: Sized {
    /// The option once both are laid together, before its default.
    type Value;

    /// Lays `given` over `file`.
    fn over(given: Option<Self>, file: Option<File>) -> Self::Value;
}

/// The same type in both: the command line wins.
impl<T> Layer<T> for T {
    type Value = Option<T>;

    fn over(given: Option<T>, file: Option<T>) -> Option<T> {
        given.or(file)
    }
}

/// A repeatable option in the file: `plugin = "a.wasm"` or, for a chain,
/// `plugin = ["a.wasm", "b.wasm"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Layer<OneOrMany<T>> for Vec<T> {
    type Value = Option<Vec<T>>;

    fn over(given: Option<Self>, file: Option<OneOrMany<T>>) -> Option<Vec<T>> {
        given.or(file.map(|file| match file {
            OneOrMany::One(path) => vec![path],
            OneOrMany::Many(paths) => paths,
        }))
    }
}

/// A repeated `KEY=VALUE` option (`-X`, `--plugin-config`) and its TOML
/// table: every pair counts, the file's first, so that a key given again on
/// the command line wins.
#[derive(Debug, Default)]
pub struct KeyValues {
    /// The TOML table.
    pub file: BTreeMap<String, String>,
    /// `KEY=VALUE` as given, not yet split.
    pub given: Vec<String>,
}

impl Layer<BTreeMap<String, String>> for Vec<String> {
    type Value = KeyValues;

    fn over(given: Option<Self>, file: Option<BTreeMap<String, String>>) -> KeyValues {
        KeyValues { file: file.unwrap_or_default(), given: given.unwrap_or_default() }
    }
}

/// `--name` of the option with id `name_with_underscores`.
pub fn long_flag(id: &str) -> String {
    format!("--{}", id.replace('_', "-"))
}

/// An option's help: its doc lines as clap writes them (one paragraph, a
/// final period dropped), then `[default: …]` when it has a constant
/// default.
pub fn help(doc: &[&str], default: Option<Shown>) -> String {
    let text = doc.iter().map(|line| line.trim()).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ");
    let text = match text.strip_suffix('.') {
        Some(stripped) if !text.ends_with("..") => stripped.to_owned(),
        _ => text,
    };
    match default {
        Some(Shown::Value(default)) => format!("{text} [default: {default}]"),
        _ => text,
    }
}

/// Check: a count or a duration must be greater than 0.
pub fn positive<T: Default + PartialEq>(flag: &str, value: T) -> Result<T, Failure> {
    if value == T::default() { Err(Failure::usage(format!("{flag} must be greater than 0"))) } else { Ok(value) }
}

/// Check: `HOST:PORT` with a numeric host.
pub fn host_port(flag: &str, value: Option<String>) -> Result<Option<SocketAddr>, Failure> {
    value
        .map(|raw| {
            raw.parse().map_err(|_| {
                Failure::usage(format!("{flag} \"{raw}\" is not HOST:PORT with a numeric host, e.g. 127.0.0.1:9464"))
            })
        })
        .transpose()
}

/// The values of `--table`: the lookup tables (`NAME=TOPIC`) and the
/// `--sink postgres` table (a `NAME` alone), told apart by the `=`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TableValues {
    pub sink_table: Option<String>,
    pub tables: Vec<TableSpec>,
}

/// Check: each `--table` is `NAME=TOPIC` (a table to look up, names
/// distinct) or a `NAME` alone (the `--sink postgres` table, once).
pub fn table_values(flag: &str, values: Option<Vec<String>>) -> Result<TableValues, Failure> {
    let mut parsed = TableValues::default();
    for raw in values.unwrap_or_default() {
        if raw.contains('=') {
            parsed.tables.push(TableSpec::parse(flag, &raw).map_err(Failure::usage)?);
        } else if let Some(first) = parsed.sink_table.replace(raw.clone()) {
            return Err(Failure::usage(format!(
                "{flag} \"{first}\" and {flag} \"{raw}\" both name the --sink postgres table; give one (a table to look \
                 up is {flag} NAME=TOPIC)"
            )));
        }
    }
    TableSpec::check_distinct(flag, &parsed.tables).map_err(Failure::usage)?;
    Ok(parsed)
}

/// Check: every `KEY=VALUE` splits; the file's pairs first.
pub fn key_values(flag: &str, pairs: KeyValues) -> Result<Vec<(String, String)>, Failure> {
    let mut all: Vec<(String, String)> = pairs.file.into_iter().collect();
    for raw in &pairs.given {
        all.push(parse_pair(flag, raw).map_err(Failure::usage)?);
    }
    Ok(all)
}

/// What one option adds to the effective-configuration line
/// (`crate::logging::effective_configuration`), before redaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// `name=value`.
    Value(String),
    /// `PREFIX.key=value` for each pair (`-X`: `X.linger.ms=5`).
    Pairs(&'static str, Vec<(String, String)>),
    /// Nothing: the option does not apply (`--table` with the Kafka sink).
    Absent,
}

impl Shown {
    /// `PREFIX.key=value` for each of `pairs`.
    pub fn pairs(prefix: &'static str, pairs: &[(String, String)]) -> Shown {
        Shown::Pairs(prefix, pairs.to_vec())
    }
}

impl From<String> for Shown {
    fn from(value: String) -> Shown {
        Shown::Value(value)
    }
}

impl From<&str> for Shown {
    fn from(value: &str) -> Shown {
        Shown::Value(value.to_owned())
    }
}

impl From<&String> for Shown {
    fn from(value: &String) -> Shown {
        Shown::Value(value.clone())
    }
}

/// `None` shows nothing.
impl<T: Into<Shown>> From<Option<T>> for Shown {
    fn from(value: Option<T>) -> Shown {
        value.map_or(Shown::Absent, Into::into)
    }
}

/// Numbers and addresses show as written.
macro_rules! shown_as_written {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Shown {
            fn from(value: $ty) -> Shown {
                Shown::Value(value.to_string())
            }
        }
    )*};
}

shown_as_written!(u32, u64, usize, u128, bool, SocketAddr);

/// Choices show as typed on the command line (`--on-error skip`: `skip`).
macro_rules! shown_as_typed {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Shown {
            fn from(value: $ty) -> Shown {
                let name = clap::ValueEnum::to_possible_value(&value).map(|value| value.get_name().to_owned());
                Shown::Value(name.unwrap_or_default())
            }
        }
    )*};
}

shown_as_typed!(OnError, LogFormat, SinkKind, Switch, ColumnsMode, WriteMode, Format, SubjectStrategy);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_help_is_the_doc_as_clap_writes_it_and_the_default_after_it() {
        assert_eq!(
            help(&[" Traps on one record", " before --on-error applies."], Some(3u32.into())),
            "Traps on one record before --on-error applies [default: 3]"
        );
        assert_eq!(help(&[" Topics to read, comma-separated."], None), "Topics to read, comma-separated");
        assert_eq!(help(&[" Wait..."], Some(OnError::Fail.into())), "Wait... [default: fail]");
    }

    #[test]
    fn the_command_line_wins_and_key_values_add_up() {
        assert_eq!(<u32 as Layer<u32>>::over(Some(1), Some(2)), Some(1));
        assert_eq!(<u32 as Layer<u32>>::over(None, Some(2)), Some(2));
        assert_eq!(
            <Vec<PathBuf> as Layer<OneOrMany<PathBuf>>>::over(None, Some(OneOrMany::One("a".into()))),
            Some(vec!["a".into()])
        );
        let file = BTreeMap::from([("k".to_owned(), "file".to_owned())]);
        let pairs = <Vec<String> as Layer<_>>::over(Some(vec!["k=given".to_owned()]), Some(file));
        assert_eq!(key_values("--plugin-config", pairs).unwrap(), [("k".into(), "file".into()), ("k".into(), "given".into())]);
    }
}
