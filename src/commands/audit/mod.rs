//! `corral audit verify` (recompute the hash chain and sequence) and `corral audit show` (print records).

mod show;
mod verify;

use std::path::PathBuf;

use clap::Subcommand;

pub use show::ShowArgs;

/// `corral audit ...`.
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain and sequence of one or more log files (oldest first, e.g. `audit*.jsonl`); name
    /// the first bad line.
    Verify {
        /// The files, oldest first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `SEQ:HASH` of a line recorded elsewhere (as `verify` prints it): the log must hold that line
        /// unchanged. Detects a deleted or rewritten tail. Repeat for several.
        #[arg(long = "checkpoint", value_name = "SEQ:HASH")]
        checkpoints: Vec<String>,
    },
    /// Print records, filtered; a table on a terminal, JSON lines otherwise.
    Show(ShowArgs),
}

/// Exit status: 0 intact (or shown), 1 broken, 2 unreadable or bad arguments.
pub fn run(command: AuditCommand) -> u8 {
    match command {
        AuditCommand::Verify { files, checkpoints } => verify::run(&files, &checkpoints),
        AuditCommand::Show(args) => show::run(&args),
    }
}
