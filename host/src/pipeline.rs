//! placeholder
use crate::{config::Config, failure::Failure};
pub fn run(_config: Config) -> Result<(), Failure> { Err(Failure::usage("not yet")) }
