//! [`JsonlAudit`]: the hash-chained JSON lines file, with a dedicated writer thread that batches and fsyncs.
//!
//! `record` fixes the record's `seq` and `ts` under one short lock in the caller's thread and appends it to an
//! in-memory batch; the writer thread, taking the records in `seq` order, adds each `prev` (the SHA-256 of the
//! line before, so hashing costs the caller nothing), writes the batch with one `write` and `fdatasync`s it
//! within [`AuditOptions::sync_interval`]. A crash loses at most the records accepted since the last sync (see
//! `docs/audit-log.md`, "Guarantees").

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use super::{AuditError, AuditSink, FORMAT_VERSION, RESERVED, now_rfc3339};
use crate::lock;

/// How the writer batches, syncs and rotates (`[audit]` of `corral.toml`, see `docs/audit-log.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditOptions {
    /// The longest a record waits in memory before the batch holding it is written and fsynced; default
    /// 2 ms (`sync_interval`). Zero writes and syncs each batch as soon as the writer is free.
    pub sync_interval: Duration,
    /// Once the file reaches this many bytes it is renamed and a new one begun (`rotate_size`, default
    /// 64 MiB); rotation happens between batches, so a file can exceed it by one batch.
    pub rotate_bytes: u64,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions { sync_interval: Duration::from_millis(2), rotate_bytes: 64 << 20 }
    }
}

/// A batch larger than this is written without waiting for the sync interval.
const BATCH_BYTES: usize = 1 << 20;
/// A caller waits (back-pressure) while this many bytes are accepted and not yet written.
const PENDING_MAX: usize = 16 << 20;
/// How much of the end of an existing file is read to find its last line.
const TAIL_BYTES: u64 = 1 << 20;

/// JSON lines in a file, hash-chained, written by a dedicated thread. Opening an existing log continues its
/// chain and sequence; dropping the sink writes and syncs everything accepted.
pub struct JsonlAudit {
    path: PathBuf,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the writer: a first pending record, a sync request, closing.
    wake: Condvar,
    /// Wakes callers of `sync` and callers held back by a full batch.
    written: Condvar,
    options: AuditOptions,
}

struct State {
    seq: u64,
    /// Accepted records without their `prev` and closing brace, back to back.
    pending: Vec<u8>,
    /// Where each record of `pending` ends.
    ends: Vec<usize>,
    /// When the oldest pending record was accepted.
    pending_since: Option<Instant>,
    /// The seq of the first pending record.
    pending_first: u64,
    /// The last seq written and synced.
    synced: u64,
    sync_requested: bool,
    closing: bool,
    /// Set by the writer when a write, sync or rotation fails; every later record is refused.
    failed: Option<String>,
}

/// Where an existing log left off.
struct Resume {
    seq: u64,
    prev: String,
    /// The seq of the current file's first record, when it has one.
    first: Option<u64>,
}

impl JsonlAudit {
    /// Opens the log at `path` with default options; see [`JsonlAudit::open`].
    pub fn create(path: &Path) -> Result<JsonlAudit, AuditError> {
        JsonlAudit::open(path, AuditOptions::default())
    }

    /// Opens (creating it if needed) the log at `path` and starts its writer thread. An existing log is
    /// continued: its last line's seq and hash start the chain (an empty or absent file continues the newest
    /// rotated sibling, else starts at seq 1 with `prev` all zeros). An incomplete last line (a crash during
    /// a write) is cut off with a warning. Errors: the file cannot be opened or read, or its last line is not
    /// a record (naming the file).
    pub fn open(path: &Path, options: AuditOptions) -> Result<JsonlAudit, AuditError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| AuditError(format!("cannot open `{}`: {e}", path.display())))?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        let resume = if regular { resume(path, &file)? } else { None };
        let resume = match resume {
            Some(r) => Some(r),
            None if regular => newest_rotated(path)?,
            None => None,
        };
        let (seq, prev) = resume.as_ref().map(|r| (r.seq, r.prev.clone())).unwrap_or((0, "0".repeat(64)));
        let first = resume.as_ref().and_then(|r| r.first).unwrap_or(seq + 1);
        if regular {
            sync_parent(path);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                seq,
                pending: Vec::new(),
                ends: Vec::new(),
                pending_since: None,
                pending_first: seq + 1,
                synced: seq,
                sync_requested: false,
                closing: false,
                failed: None,
            }),
            wake: Condvar::new(),
            written: Condvar::new(),
            options,
        });
        let writer = Writer { path: path.to_path_buf(), file, regular, first, prev, shared: shared.clone() };
        let handle = std::thread::Builder::new()
            .name("corral-audit".into())
            .spawn(move || writer.run())
            .map_err(|e| AuditError(format!("cannot start the audit writer: {e}")))?;
        Ok(JsonlAudit { path: path.to_path_buf(), shared, writer: Mutex::new(Some(handle)) })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The seq of the last record accepted.
    pub fn last_seq(&self) -> u64 {
        lock(&self.shared.state).seq
    }
}

impl AuditSink for JsonlAudit {
    /// Accepts the record into the current batch. Errors, detected here and synchronously: the writer has
    /// failed earlier (a write, sync or rotation error) or the sink is closed; the record is not accepted.
    fn record(&self, kind: &str, fields: Map<String, Json>) -> Result<(), AuditError> {
        let body = body_bytes(fields)?;
        let kind = serde_json::to_string(kind).map_err(|e| AuditError(e.to_string()))?;
        let mut state = lock(&self.shared.state);
        while state.pending.len() >= PENDING_MAX && state.failed.is_none() && !state.closing {
            state = self.shared.written.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if let Some(failed) = &state.failed {
            return Err(AuditError(failed.clone()));
        }
        if state.closing {
            return Err(AuditError("the audit writer is closed".into()));
        }
        let seq = state.seq + 1;
        let head = format!(r#"{{"v":{FORMAT_VERSION},"seq":{seq},"ts":"{}","kind":{kind}"#, now_rfc3339());
        if state.pending_since.is_none() {
            state.pending_since = Some(Instant::now());
            state.pending_first = seq;
            self.shared.wake.notify_one();
        }
        state.seq = seq;
        state.pending.extend_from_slice(head.as_bytes());
        if body.len() > 2 {
            state.pending.push(b',');
            state.pending.extend_from_slice(&body[1..body.len() - 1]);
        }
        let end = state.pending.len();
        state.ends.push(end);
        Ok(())
    }

    /// Waits until every record accepted so far is written and fsynced. Errors: the writer failed.
    fn sync(&self) -> Result<(), AuditError> {
        let mut state = lock(&self.shared.state);
        let target = state.seq;
        state.sync_requested = true;
        self.shared.wake.notify_one();
        loop {
            if let Some(failed) = &state.failed {
                return Err(AuditError(failed.clone()));
            }
            if state.synced >= target {
                return Ok(());
            }
            if state.closing && state.pending.is_empty() {
                return Err(AuditError("the audit writer is closed".into()));
            }
            state = self.shared.written.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

impl Drop for JsonlAudit {
    fn drop(&mut self) {
        lock(&self.shared.state).closing = true;
        self.shared.wake.notify_one();
        if let Some(handle) = lock(&self.writer).take() {
            // A writer that panicked has already lost what it held; nothing more can be done here.
            let _ = handle.join();
        }
    }
}

/// The fields as a JSON object without the keys the sink writes itself.
fn body_bytes(mut fields: Map<String, Json>) -> Result<Vec<u8>, AuditError> {
    for key in RESERVED {
        fields.remove(*key);
    }
    serde_json::to_vec(&fields).map_err(|e| AuditError(e.to_string()))
}

struct Writer {
    path: PathBuf,
    file: File,
    regular: bool,
    /// The seq of the current file's first record (for the rotated file's name).
    first: u64,
    /// The hex SHA-256 of the last line written.
    prev: String,
    shared: Arc<Shared>,
}

impl Writer {
    fn run(mut self) {
        loop {
            let Some((records, ends, first, last)) = self.next_batch() else { return };
            let batch = self.chain(&records, &ends);
            let outcome = self.write(&batch, first);
            let mut state = lock(&self.shared.state);
            match outcome {
                Ok(()) => state.synced = last,
                Err(e) => {
                    tracing::error!(target: "corral::audit", path = %self.path.display(), "{e}");
                    state.failed.get_or_insert(e);
                }
            }
            self.shared.written.notify_all();
        }
    }

    /// Waits for a batch: the pending bytes once the oldest is `sync_interval` old, the batch is large, a
    /// sync is asked for, or the sink closes. `None` when closed with nothing left.
    fn next_batch(&self) -> Option<(Vec<u8>, Vec<usize>, u64, u64)> {
        let shared = &self.shared;
        let mut state = lock(&shared.state);
        loop {
            if state.failed.is_some() && state.closing {
                return None;
            }
            if let Some(since) = state.pending_since {
                let due = since + shared.options.sync_interval;
                let now = Instant::now();
                if state.closing || state.sync_requested || state.pending.len() >= BATCH_BYTES || now >= due {
                    break;
                }
                state = wait_timeout(&shared.wake, state, due - now);
            } else if state.closing {
                return None;
            } else if state.sync_requested {
                state.sync_requested = false;
                shared.written.notify_all();
            } else {
                state = shared.wake.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
        state.sync_requested = false;
        state.pending_since = None;
        let records = std::mem::take(&mut state.pending);
        let ends = std::mem::take(&mut state.ends);
        Some((records, ends, state.pending_first, state.seq))
    }

    /// The batch's lines: each record closed with the `prev` of the line before it, and a newline.
    fn chain(&mut self, records: &[u8], ends: &[usize]) -> Vec<u8> {
        let mut out = Vec::with_capacity(records.len() + ends.len() * 80);
        let mut start = 0;
        for &end in ends {
            let line_start = out.len();
            out.extend_from_slice(&records[start..end]);
            out.extend_from_slice(br#","prev":""#);
            out.extend_from_slice(self.prev.as_bytes());
            out.extend_from_slice(b"\"}");
            self.prev = hex::encode(Sha256::digest(&out[line_start..]));
            out.push(b'\n');
            start = end;
        }
        out
    }

    /// Writes one batch with one call, fsyncs it, and rotates when the file is full.
    fn write(&mut self, batch: &[u8], first: u64) -> Result<(), String> {
        self.file.write_all(batch).map_err(|e| format!("cannot write `{}`: {e}", self.path.display()))?;
        if !self.regular {
            return Ok(());
        }
        self.file.sync_data().map_err(|e| format!("cannot sync `{}`: {e}", self.path.display()))?;
        let len = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == batch.len() as u64 {
            self.first = first;
        }
        if len >= self.shared.options.rotate_bytes {
            self.rotate()?;
        }
        Ok(())
    }

    /// Renames the full file to `<stem>.<first seq, 12 digits>.<ext>` (so a shell glob lists the files oldest
    /// first) and begins a new one at the same path; the chain goes on across the two.
    fn rotate(&mut self) -> Result<(), String> {
        let to = rotated_name(&self.path, self.first);
        std::fs::rename(&self.path, &to)
            .map_err(|e| format!("cannot rotate `{}` to `{}`: {e}", self.path.display(), to.display()))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("cannot create `{}` after rotation: {e}", self.path.display()))?;
        sync_parent(&self.path);
        Ok(())
    }
}

fn wait_timeout<'a>(condvar: &Condvar, guard: MutexGuard<'a, State>, wait: Duration) -> MutexGuard<'a, State> {
    match condvar.wait_timeout(guard, wait) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

/// The name a rotated file gets: `audit.jsonl` whose first record is seq 1 becomes `audit.000000000001.jsonl`.
pub fn rotated_name(path: &Path, first_seq: u64) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{first_seq:012}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{first_seq:012}"),
    };
    path.with_file_name(name)
}

/// Reads where `file` left off, cutting an incomplete last line. `None` for an empty file.
fn resume(path: &Path, file: &File) -> Result<Option<Resume>, AuditError> {
    let fail = |e: std::io::Error| AuditError(format!("cannot read `{}`: {e}", path.display()));
    let len = file.metadata().map_err(fail)?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut reader = file;
    let start = len.saturating_sub(TAIL_BYTES);
    reader.seek(SeekFrom::Start(start)).map_err(fail)?;
    let mut tail = Vec::new();
    reader.read_to_end(&mut tail).map_err(fail)?;
    let complete = tail.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    if complete < tail.len() {
        let keep = start + complete as u64;
        tracing::warn!(
            target: "corral::audit",
            path = %path.display(),
            bytes = len - keep,
            "cutting an incomplete last line (a crash during a write); the records before it are kept"
        );
        file.set_len(keep).map_err(fail)?;
        if keep == 0 {
            return Ok(None);
        }
    }
    let lines: Vec<&[u8]> = tail[..complete].split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let Some(last) = lines.last() else {
        return Err(AuditError(format!("cannot continue `{}`: its last line is over 1 MiB", path.display())));
    };
    let seq = record_seq(last).ok_or_else(|| {
        AuditError(format!("cannot continue `{}`: its last line is not an audit record", path.display()))
    })?;
    let first = if start == 0 { lines.first().and_then(|l| record_seq(l)) } else { first_seq(file) };
    Ok(Some(Resume { seq, prev: hex::encode(Sha256::digest(last)), first }))
}

/// The `seq` of the first line of `file`.
fn first_seq(mut file: &File) -> Option<u64> {
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut line = Vec::new();
    std::io::BufRead::read_until(&mut std::io::BufReader::new(file), b'\n', &mut line).ok()?;
    record_seq(line.strip_suffix(b"\n").unwrap_or(&line))
}

/// The `seq` of a record line, if it is one.
fn record_seq(line: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Json>(line).ok()?.get("seq")?.as_u64()
}

/// Where the newest rotated sibling of `path` left off, when `path` itself is empty.
fn newest_rotated(path: &Path) -> Result<Option<Resume>, AuditError> {
    let Some(dir) = path.parent() else { return Ok(None) };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let probe = rotated_name(path, 0);
    let probe = probe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (prefix, suffix) = probe.split_once("000000000000").unwrap_or((&probe, ""));
    let Ok(items) = std::fs::read_dir(dir) else { return Ok(None) };
    let newest = items
        .flatten()
        .filter_map(|item| {
            let name = item.file_name().to_string_lossy().into_owned();
            let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
            (digits.len() == 12).then(|| digits.parse::<u64>().ok()).flatten().map(|n| (n, item.path()))
        })
        .max();
    let Some((_, newest)) = newest else { return Ok(None) };
    let file = File::open(&newest).map_err(|e| AuditError(format!("cannot read `{}`: {e}", newest.display())))?;
    Ok(resume(&newest, &file)?.map(|r| Resume { first: None, ..r }))
}

/// Makes a new or renamed directory entry durable; best effort (not every file system supports it).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}
