//! One module per `corral` subcommand.

pub mod audit;
pub mod check;
pub mod policy;
pub mod run;
pub mod test;
