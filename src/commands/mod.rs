//! One module per `corral` subcommand.

pub mod audit;
pub mod check;
pub mod client;
pub mod policy;
pub mod run;
pub mod serve;
pub mod test;
