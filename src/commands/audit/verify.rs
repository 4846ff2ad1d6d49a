//! `corral audit verify`: the chain (`prev` is the SHA-256 of the line before) and the sequence (`seq` goes
//! up by one) across rotated files, naming the first bad line and what its symptom means; and that the
//! `authz.summary` records add up: each one's `count` is the number of op ids its `ops` runs list, `first_op`
//! and `last_op` are their ends, and no op id (of one action, node and incarnation) is counted by a summary and
//! by another record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

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
    ops: Ops,
}

/// The most allows one summary may count (the writer's `MAX_COUNT`): a summary claiming more is refused, so a
/// forged line cannot make `verify` expand billions of ops.
const MAX_SUMMARY_COUNT: u64 = 1 << 20;

/// The op ids seen so far, per (node, incarnation, action): those of `authz.decision` records and those counted
/// by `authz.summary` records, one bit each.
#[derive(Default)]
struct Ops {
    decided: HashMap<(String, u64, String), OpSet>,
    summarised: HashMap<(String, u64, String), OpSet>,
    summaries: u64,
    counted: u64,
}

/// A set of op ids as 64-bit words keyed by `op / 64`: a bit per op for the dense ids a node hands out.
#[derive(Default)]
struct OpSet(HashMap<u64, u64>);

impl OpSet {
    fn contains(&self, op: u64) -> bool {
        self.0.get(&(op / 64)).is_some_and(|w| w & (1 << (op % 64)) != 0)
    }

    /// Adds `op`; false when it was there already.
    fn insert(&mut self, op: u64) -> bool {
        let word = self.0.entry(op / 64).or_default();
        let bit = 1 << (op % 64);
        let new = *word & bit == 0;
        *word |= bit;
        new
    }
}

impl Ops {
    fn key(record: &Json) -> (String, u64, String) {
        let text = |k: &str| record.get(k).and_then(Json::as_str).unwrap_or("").to_string();
        (text("node"), record.get("incarnation").and_then(Json::as_u64).unwrap_or(0), text("action"))
    }

    /// Accounts for the op ids of one record. Errors: what does not add up.
    fn account(&mut self, record: &Json) -> Result<(), String> {
        match record.get("kind").and_then(Json::as_str) {
            Some("authz.decision") => {
                let Some(op) = record.get("op").and_then(Json::as_u64) else { return Ok(()) };
                let key = Ops::key(record);
                if self.summarised.get(&key).is_some_and(|s| s.contains(op)) {
                    return Err(format!(
                        "op {op} of `{}` is also counted by an earlier authz.summary (duplicated or edited)",
                        key.2
                    ));
                }
                self.decided.entry(key).or_default().insert(op);
                Ok(())
            }
            Some("authz.summary") => self.summary(record),
            _ => Ok(()),
        }
    }

    fn summary(&mut self, record: &Json) -> Result<(), String> {
        let number = |k: &str| {
            record.get(k).and_then(Json::as_u64).ok_or_else(|| format!("an authz.summary without `{k}`: edited"))
        };
        let count = number("count")?;
        let (first, last) = (number("first_op")?, number("last_op")?);
        if count == 0 || count > MAX_SUMMARY_COUNT {
            return Err(format!("an authz.summary of {count} allows (1 to {MAX_SUMMARY_COUNT}): edited"));
        }
        let runs = record.get("ops").and_then(Json::as_array).ok_or("an authz.summary without `ops`: edited")?;
        let mut parsed = Vec::with_capacity(runs.len());
        let mut listed = 0u64;
        let mut end: Option<u64> = None;
        for run in runs {
            let run = run.as_array().map(|r| r.iter().filter_map(Json::as_u64).collect::<Vec<_>>());
            let Some(&[start, step, n]) = run.as_deref() else {
                return Err("an authz.summary run is not [start, step, count]: edited".into());
            };
            let step = if n == 1 { 0 } else { step };
            let run_end = step.checked_mul(n.saturating_sub(1)).and_then(|d| start.checked_add(d));
            if n == 0 || (n > 1 && step == 0) || run_end.is_none() || end.is_some_and(|e| start <= e) {
                return Err(format!(
                    "an authz.summary run [{start}, {step}, {n}] is empty, repeats an op or goes back: edited"
                ));
            }
            listed = listed.saturating_add(n);
            if listed > count {
                break;
            }
            end = run_end;
            parsed.push((start, step, n));
        }
        if listed != count {
            return Err(format!("an authz.summary of count {count} lists {listed} op(s) in `ops`: edited"));
        }
        if parsed.first().map(|r| r.0) != Some(first) || end != Some(last) {
            return Err(format!(
                "an authz.summary's first_op {first} and last_op {last} are not the ends of its ops: edited"
            ));
        }
        let key = Ops::key(record);
        let decided = self.decided.get(&key);
        let summarised = self.summarised.entry(key.clone()).or_default();
        for (start, step, n) in parsed {
            for i in 0..n {
                let op = start + step * i;
                if decided.is_some_and(|d| d.contains(op)) || !summarised.insert(op) {
                    return Err(format!(
                        "op {op} of `{}` is counted here and by an earlier record (duplicated or edited)",
                        key.2
                    ));
                }
            }
        }
        self.summaries += 1;
        self.counted += count;
        Ok(())
    }
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
    if chain.ops.summaries > 0 {
        crate::boot::out(format_args!(
            "summaries: {} authz.summary record(s) count {} cached allow(s); every count matches its ops and no \
             op is in two records",
            chain.ops.summaries, chain.ops.counted
        ));
    }
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
        let record = check_line(line, &at, chain)?;
        chain.ops.account(&record).map_err(|what| Broken { at: at.clone(), what })?;
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

/// Checks one line against the chain so far and advances `chain.seq`; the record it holds.
fn check_line(line: &[u8], at: &str, chain: &mut Chain) -> Result<Json, Broken> {
    let broken = |what: String| Broken { at: at.to_string(), what };
    if line.is_empty() {
        return Err(broken("an empty line (inserted)".into()));
    }
    let record: Json = serde_json::from_slice(line).map_err(|e| broken(format!("not a JSON record ({e}): edited")))?;
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
    Ok(record)
}
