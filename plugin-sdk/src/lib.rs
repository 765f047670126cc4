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
//!
//! # Timers
//! A plugin that must speak when no record arrives — close a window,
//! expire a session — also implements [`OnTimer`] and is exported with
//! [`export_timer_transform!`] instead (world `timer-transformer`). Its
//! `transform` schedules call-backs with [`timers::schedule`], on the
//! partition's stream time or on eoshost's wall clock, and eoshost calls
//! [`OnTimer::on_timer`] when one is due, exactly once:
//!
//! ```
//! use eoshost_plugin_sdk::{
//!     export_timer_transform, state, timers, Clock, Config, InputRecord, OnTimer, OutputRecord, Rejection,
//!     TimerOutput, Transform,
//! };
//!
//! /// Says `quiet` for a key that has had no record for a minute of stream time.
//! pub struct Quiet;
//!
//! impl Transform for Quiet {
//!     fn init(config: Config) -> Result<Self, String> {
//!         config.expect_only(&[])?;
//!         Ok(Quiet)
//!     }
//!
//!     fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
//!         let (Some(key), Some(t)) = (record.key, record.timestamp) else {
//!             return Err(Rejection::new("quiet needs a key and a timestamp"));
//!         };
//!         if let Some(earlier) = state::get(&key) {
//!             timers::cancel(Clock::StreamTime, &key, i64::from_be_bytes(earlier.try_into().unwrap()));
//!         }
//!         timers::schedule(Clock::StreamTime, &key, t + 60_000);
//!         state::set(&key, &(t + 60_000).to_be_bytes());
//!         Ok(Vec::new())
//!     }
//! }
//!
//! impl OnTimer for Quiet {
//!     fn on_timer(&mut self, _clock: Clock, key: Vec<u8>, _time: i64) -> Result<Vec<TimerOutput>, Rejection> {
//!         state::delete(&key);
//!         Ok(vec![TimerOutput::new(OutputRecord::new(Some(key), "quiet"))])
//!     }
//! }
//!
//! export_timer_transform!(Quiet);
//!
//! // Native unit test: eoshost's part is played by the timers fake.
//! let mut quiet = Quiet::init(Config::default()).unwrap();
//! for (key, t) in [("k", 0), ("k", 30_000), ("other", 95_000)] {
//!     timers::advance_stream_time(t);
//!     quiet.transform(InputRecord { timestamp: Some(t), ..InputRecord::with_value("x").key(key) }).unwrap();
//! }
//! let due = timers::take_due();
//! assert_eq!(due.len(), 1); // k's timer at 90 000 (the one at 60 000 was cancelled)
//! let out = quiet.on_timer(due[0].clock, due[0].key.clone(), due[0].time).unwrap();
//! assert_eq!(out[0].output.value.as_deref(), Some(&b"quiet"[..]));
//! ```

#![deny(missing_docs)]

mod config;
mod records;
pub mod state;
pub mod tables;
pub mod timers;

pub use config::Config;
pub use records::Rejection;
pub use timers::{Clock, TimerOutput};
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
        // The superset of every world but `timer-transformer` (below): a
        // plugin imports only what it calls (a plugin that never calls
        // `state` runs as a stateless one, one that never calls `tables`
        // needs no `--table`).
        world: "stateful-table-transformer",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "::eoshost_plugin_sdk::wit",
    });
}

/// The bindings of world `timer-transformer`: the `timers` import and the
/// `timer-handler` export, on top of the types and imports of [`wit`].
/// Plugins use them only through [`export_timer_transform!`].
///
/// A separate world because the host decides "this plugin has timers" from
/// the `timer-handler` export: its component-type section must reach only
/// the plugins that export it. So the section is not forced into every
/// binary (no link helpers); [`export_timer_transform!`] references it.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub mod timer_wit {
    wit_bindgen::generate!({
        path: "../wit",
        world: "timer-transformer",
        with: {
            "eoshost:transform/types@0.1.0": crate::wit::eoshost::transform::types,
            "eoshost:transform/log@0.1.0": crate::wit::eoshost::transform::log,
            "eoshost:transform/state@0.1.0": crate::wit::eoshost::transform::state,
        },
        pub_export_macro: true,
        export_macro_name: "export_timer_world",
        default_bindings_module: "::eoshost_plugin_sdk::timer_wit",
        disable_custom_section_link_helpers: true,
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

/// The callback of a plugin with timers (world `timer-transformer`): called
/// once for each timer the plugin scheduled with [`timers::schedule`] when
/// its clock reaches its time, on the same instance value that transforms
/// records. Export both with [`export_timer_transform!`].
///
/// State and timer calls made here act on the timer's input partition; the
/// outputs, those writes and the timer's removal commit together, exactly
/// once. A [`Rejection`] follows the operator's `--on-error` for the timer
/// (under `dlq` the dead letter's key is the timer's key); a panic aborts
/// the transaction and the timer fires again on a fresh instance.
pub trait OnTimer: Transform {
    /// Handles the timer `clock`, `key`, `time` (as it was scheduled): the
    /// records to produce, each with its timestamp (`None`: `time`).
    fn on_timer(&mut self, clock: Clock, key: Vec<u8>, time: i64) -> Result<Vec<TimerOutput>, Rejection>;
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

/// Exports a [`Transform`] + [`OnTimer`] implementation as a plugin of the
/// world `timer-transformer`: `init`, `transform` and the `timer-handler`
/// interface. Use it instead of [`export_transform!`], exactly once, at the
/// top level of the plugin crate. Only a plugin exported this way may call
/// [`timers`] (a plain [`export_transform!`] plugin does not import it, and
/// eoshost runs it without timers).
#[macro_export]
macro_rules! export_timer_transform {
    ($transform:ty) => {
        #[doc(hidden)]
        pub struct __EoshostExport;

        impl $crate::timer_wit::Guest for __EoshostExport {
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

        impl $crate::timer_wit::exports::eoshost::transform::timer_handler::Guest for __EoshostExport {
            fn on_timer(
                clock: $crate::Clock,
                key: ::std::vec::Vec<u8>,
                time: i64,
            ) -> ::std::result::Result<::std::vec::Vec<$crate::TimerOutput>, $crate::wit::eoshost::transform::types::Error> {
                $crate::__private::on_timer::<$transform>(clock, key, time)
            }
        }

        // Natively (unit tests) the interface's export names, which hold `:`
        // and `/`, are not valid symbols for the native linker.
        #[cfg(target_family = "wasm")]
        $crate::timer_wit::export_timer_world!(__EoshostExport);

        // Keeps the `timer-transformer` component-type section in this
        // binary (the SDK does not force it into every plugin).
        #[cfg(target_arch = "wasm32")]
        #[used]
        #[doc(hidden)]
        static __EOSHOST_TIMER_WORLD: &[u8] = &$crate::timer_wit::__WIT_BINDGEN_COMPONENT_TYPE;
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
        with_instance(|transform: &mut T| transform.transform(record))
    }

    pub fn on_timer<T: OnTimer>(
        clock: Clock,
        key: Vec<u8>,
        time: i64,
    ) -> Result<Vec<TimerOutput>, wit::eoshost::transform::types::Error> {
        with_instance(|transform: &mut T| transform.on_timer(clock, key, time))
    }

    fn with_instance<T: Transform, R>(
        call: impl FnOnce(&mut T) -> Result<R, Rejection>,
    ) -> Result<R, wit::eoshost::transform::types::Error> {
        INSTANCE.with(|slot| {
            let mut slot = slot.borrow_mut();
            let transform = slot
                .as_mut()
                .and_then(|state| state.downcast_mut::<T>())
                .expect("eoshost called the plugin before init succeeded");
            call(transform).map_err(|rejection| wit::eoshost::transform::types::Error::Rejected(rejection.reason))
        })
    }
}
