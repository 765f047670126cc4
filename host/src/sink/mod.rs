//! Sinks other than Kafka. `--sink postgres` writes the plugin's outputs as
//! rows of a PostgreSQL table with the input offsets in the same database
//! transaction: the loop (`postgres`), the open batch (`batch`), the
//! database side and its zombie guard (`database`), the partitions and the
//! rebalance callback that seeds them from the database (`partitions`),
//! the tables' shapes (`schema`), and the user's own table under
//! `--columns auto` (`columns`).

mod batch;
pub mod columns;
mod database;
mod partitions;
pub mod postgres;
mod schema;

pub use database::{DbError, connect, is_unavailable};
pub use schema::quote_identifier;
