//! placeholder
pub mod slot;
