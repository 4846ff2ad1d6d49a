//! `corral audit verify`: recompute an audit log's hash chain and sequence.

use std::path::PathBuf;

use clap::Subcommand;
use sha2::{Digest, Sha256};

/// `corral audit ...`.
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain and sequence of one or more log files (in order); name the first bad line.
    Verify {
        /// The files, oldest first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// 0 intact, 1 broken, 2 unreadable.
pub fn run(command: AuditCommand) -> u8 {
    match command {
        AuditCommand::Verify { files } => verify(&files),
    }
}

fn verify(files: &[PathBuf]) -> u8 {
    let mut prev = "0".repeat(64);
    let mut seq = 0u64;
    let mut lines = 0usize;
    for file in files {
        let text = match std::fs::read(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", file.display());
                return 2;
            }
        };
        for (n, line) in text.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let at = format!("{}:{}", file.display(), n + 1);
            let record: serde_json::Value = match serde_json::from_slice(line) {
                Ok(r) => r,
                Err(e) => {
                    println!("broken: {at}: not a JSON record ({e})");
                    return 1;
                }
            };
            if record["prev"].as_str() != Some(prev.as_str()) {
                println!(
                    "broken: {at}: `prev` does not match the previous line (edited, deleted, inserted or reordered)"
                );
                return 1;
            }
            let this = record["seq"].as_u64().unwrap_or(0);
            if this != seq + 1 {
                println!("broken: {at}: seq {this} follows {seq}");
                return 1;
            }
            seq = this;
            prev = hex::encode(Sha256::digest(line));
            lines += 1;
        }
    }
    println!("intact: {lines} records, last seq {seq}");
    0
}
