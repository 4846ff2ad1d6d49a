//! `corral audit verify`: the chain (`prev` is the SHA-256 of the line before) and the sequence (`seq` goes
//! up by one) across rotated files, naming the first bad line and what its symptom means.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A line that breaks the log: where, and what is wrong.
struct Broken {
    at: String,
    what: String,
}

/// What the lines read so far left: the last seq and hash and where that line was.
#[derive(Default)]
struct Chain {
    seq: u64,
    prev: Option<String>,
    last_at: String,
    last_kind: String,
    records: usize,
    first_seq: Option<u64>,
}

/// 0 intact, 1 broken, 2 unreadable or a bad checkpoint.
pub fn run(files: &[PathBuf], checkpoints: &[String]) -> u8 {
    let checkpoints = match checkpoints.iter().map(|c| parse_checkpoint(c)).collect::<Result<Vec<_>, _>>() {
        Ok(c) => c,
        Err(e) => {
            crate::boot::error(format_args!("{e}"));
            return 2;
        }
    };
    let mut chain = Chain::default();
    let mut seen = Vec::new();
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                crate::boot::error(format_args!("cannot read `{}`: {e}", file.display()));
                return 2;
            }
        };
        if let Err(broken) = verify_file(file, &bytes, &mut chain, &checkpoints, &mut seen) {
            crate::boot::out(format_args!("broken: {}: {}", broken.at, broken.what));
            crate::boot::out(format_args!("the {} record(s) before it are intact", chain.records));
            return 1;
        }
    }
    for (seq, hash) in &checkpoints {
        if !seen.contains(seq) {
            crate::boot::out(format_args!(
                "broken: checkpoint {seq}:{hash}: the log ends at seq {} (its tail was deleted)",
                chain.seq
            ));
            return 1;
        }
    }
    let first = chain.first_seq.unwrap_or(0);
    crate::boot::out(format_args!(
        "intact: {} records, seq {first}..{}, last hash {}",
        chain.records,
        chain.seq,
        chain.prev.as_deref().unwrap_or("-")
    ));
    if first > 1 {
        crate::boot::out(format_args!("note: the first record chains to an earlier file that was not given"));
    }
    if chain.records > 0 && chain.last_kind != "runtime.stop" {
        crate::boot::out(format_args!(
            "note: the log does not end with `runtime.stop` ({}): the runtime is running or crashed, or the tail \
             was deleted (keep the last hash elsewhere and pass it as --checkpoint to detect that)",
            chain.last_at
        ));
    }
    0
}

fn parse_checkpoint(text: &str) -> Result<(u64, String), String> {
    let (seq, hash) = text.split_once(':').ok_or_else(|| format!("checkpoint `{text}` is not SEQ:HASH"))?;
    let seq = seq.parse().map_err(|_| format!("checkpoint `{text}`: `{seq}` is not a seq"))?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("checkpoint `{text}`: `{hash}` is not a hex SHA-256"));
    }
    Ok((seq, hash.to_ascii_lowercase()))
}

fn verify_file(
    file: &Path,
    bytes: &[u8],
    chain: &mut Chain,
    checkpoints: &[(u64, String)],
    seen: &mut Vec<u64>,
) -> Result<(), Broken> {
    let complete = bytes.is_empty() || bytes.ends_with(b"\n");
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Ok(());
    }
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let at = format!("{}:{}", file.display(), i + 1);
        if i + 1 == lines.len() && !complete {
            return Err(Broken {
                at,
                what: "truncated: the last line has no end (cut off, or a crash during a write)".into(),
            });
        }
        check_line(line, &at, chain)?;
        let hash = hex::encode(Sha256::digest(line));
        if let Some((seq, want)) = checkpoints.iter().find(|(seq, _)| *seq == chain.seq) {
            if *want != hash {
                return Err(Broken {
                    at,
                    what: format!("seq {seq} does not match checkpoint {seq}:{want} (rewritten)"),
                });
            }
            seen.push(*seq);
        }
        chain.prev = Some(hash);
        chain.last_at = at;
        chain.records += 1;
    }
    Ok(())
}

/// Checks one line against the chain so far and advances `chain.seq`.
fn check_line(line: &[u8], at: &str, chain: &mut Chain) -> Result<(), Broken> {
    let broken = |what: String| Broken { at: at.to_string(), what };
    if line.is_empty() {
        return Err(broken("an empty line (inserted)".into()));
    }
    let record: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| broken(format!("not a JSON record ({e}): edited")))?;
    let seq = record["seq"].as_u64().ok_or_else(|| broken("no `seq`: edited".into()))?;
    let prev = record["prev"].as_str().ok_or_else(|| broken("no `prev`: edited".into()))?;
    match &chain.prev {
        None if seq == 1 && prev != "0".repeat(64) => {
            return Err(broken("the first record (seq 1) must chain to zeros: edited".into()));
        }
        None => chain.first_seq = Some(seq),
        Some(expected) => {
            if seq <= chain.seq {
                return Err(broken(format!(
                    "seq {seq} after seq {}: a line was inserted, duplicated or moved (reordered)",
                    chain.seq
                )));
            }
            if seq > chain.seq + 1 {
                return Err(broken(format!(
                    "seq {seq} follows seq {}: {} record(s) missing before this line (deleted, or moved: reordered)",
                    chain.seq,
                    seq - chain.seq - 1
                )));
            }
            if prev != expected {
                chain.records = chain.records.saturating_sub(1);
                return Err(Broken {
                    at: chain.last_at.clone(),
                    what: format!(
                        "edited: its hash is not the `prev` of the next line ({at}; or that line's `prev` was edited)"
                    ),
                });
            }
        }
    }
    chain.seq = seq;
    chain.last_kind = record["kind"].as_str().unwrap_or("").to_string();
    Ok(())
}
