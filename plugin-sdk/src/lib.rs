//! Write eoshost transforms in Rust: the record types of the `transformer`
//! world, a [`Transform`] trait to implement, and one [`export_transform!`]
//! line that turns the implementation into a WebAssembly component.
//!
//! # A complete transform
//!
//! ```
//! use eoshost_plugin_sdk::{export_transform, Config, InputRecord, OutputRecord, Rejection, Transform};
//!
//! /// Upper-cases every value; refuses values that are not UTF-8.
//! pub struct Shout;
//!
//! impl Transform for Shout {
//!     fn init(_config: Config) -> Result<Self, String> {
//!         Ok(Shout)
//!     }
//!
//!     fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
//!         let text = std::str::from_utf8(record.value.as_deref().unwrap_or_default())
//!             .map_err(|_| Rejection::new("value is not UTF-8"))?;
//!         Ok(vec![OutputRecord::new(record.key, text.to_uppercase())])
//!     }
//! }
//!
//! export_transform!(Shout);
//!
//! // Native unit test: no WebAssembly needed.
//! let mut shout = Shout::init(Config::default()).unwrap();
//! let out = shout.transform(InputRecord::with_value("hi")).unwrap();
//! assert_eq!(out[0].value.as_deref(), Some(&b"HI"[..]));
//! ```
//!
//! Build the component with `cargo build --release --target wasm32-wasip2`
//! (crate type `cdylib`), try it offline with
//! `eoshost test --plugin target/wasm32-wasip2/release/shout.wasm --input records.jsonl`,
//! and run it with `eoshost --plugin … --input TOPIC --output TOPIC`.
//!
//! # What the host guarantees and expects
//! A fresh instance is made (and [`Transform::init`] called) at start and
//! after every trap, so state kept in `self` lives only as long as one
//! instance. State that must survive — a count, a set of ids seen — goes
//! through [`state`]: eoshost keeps it per input partition, exactly once,
//! in a changelog topic written in the same transaction as the outputs.
//! Reference data to join with — customers, products — comes from
//! [`tables`]: the latest value per key of a compacted topic the operator
//! names with `--table NAME=TOPIC`. Return [`Rejection`] for a record that is bad in itself: the
//! operator's `--on-error` policy applies to it at once. A panic is a trap:
//! the transaction is aborted and the record retried on a fresh instance.

#![deny(missing_docs)]

mod config;
mod records;
pub mod state;
pub mod tables;

pub use config::Config;
pub use records::Rejection;
pub use wit::eoshost::transform::log::Level;
pub use wit::eoshost::transform::types::{Header, InputRecord, OutputRecord};

/// The bindings generated from `wit/transform.wit`. Plugins use them only
/// through [`export_transform!`].
#[doc(hidden)]
// Generated code: its export shims take one argument per flattened field.
#[allow(clippy::too_many_arguments)]
pub mod wit {
    wit_bindgen::generate!({
        path: "../wit",
        // The superset of every world: a plugin imports only what it calls
        // (a plugin that never calls `state` runs as a stateless one, one
        // that never calls `tables` needs no `--table`).
        world: "stateful-table-transformer",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "::eoshost_plugin_sdk::wit",
    });
}

/// A per-record transform. One value of the implementing type lives in each
/// plugin instance.
pub trait Transform: Sized + 'static {
    /// Builds the transform from the `--plugin-config KEY=VALUE` pairs.
    /// Return `Err` naming any key you do not understand: eoshost refuses to
    /// start and shows the message to the operator.
    fn init(config: Config) -> Result<Self, String>;

    /// Transforms one record into zero or more output records, or rejects it.
    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection>;
}

/// Writes a line to eoshost's log. Outside WebAssembly (in native unit
/// tests) the line goes to stderr.
pub fn log(level: Level, message: &str) {
    #[cfg(target_family = "wasm")]
    wit::eoshost::transform::log::log(level, message);
    #[cfg(not(target_family = "wasm"))]
    eprintln!("[{level:?}] {message}");
}

/// Exports a [`Transform`] implementation as the plugin's `init` and
/// `transform`. Use it exactly once, at the top level of the plugin crate.
#[macro_export]
macro_rules! export_transform {
    ($transform:ty) => {
        #[doc(hidden)]
        pub struct __EoshostExport;

        impl $crate::wit::Guest for __EoshostExport {
            fn init(
                config: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::std::result::Result<(), ::std::string::String> {
                $crate::__private::init::<$transform>(config)
            }

            fn transform(
                record: $crate::InputRecord,
            ) -> ::std::result::Result<::std::vec::Vec<$crate::OutputRecord>, $crate::wit::eoshost::transform::types::Error> {
                $crate::__private::transform::<$transform>(record)
            }
        }

        $crate::wit::export_world!(__EoshostExport);
    };
}

/// The state behind [`export_transform!`]. Not part of the API.
#[doc(hidden)]
pub mod __private {
    use super::*;
    use std::any::Any;
    use std::cell::RefCell;

    thread_local! {
        // A component instance is single-threaded; this holds the one
        // transform value of this instance.
        static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    pub fn init<T: Transform>(config: Vec<(String, String)>) -> Result<(), String> {
        let transform = T::init(Config::new(config))?;
        INSTANCE.with(|slot| *slot.borrow_mut() = Some(Box::new(transform)));
        Ok(())
    }

    pub fn transform<T: Transform>(record: InputRecord) -> Result<Vec<OutputRecord>, wit::eoshost::transform::types::Error> {
        INSTANCE.with(|slot| {
            let mut slot = slot.borrow_mut();
            let transform = slot
                .as_mut()
                .and_then(|state| state.downcast_mut::<T>())
                .expect("eoshost called transform before init succeeded");
            transform.transform(record).map_err(|rejection| wit::eoshost::transform::types::Error::Rejected(rejection.reason))
        })
    }
}
