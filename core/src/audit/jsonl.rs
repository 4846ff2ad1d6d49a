//! [`JsonlAudit`]: the hash-chained JSON lines file, with a dedicated writer thread that batches and fsyncs.
//!
//! `record` fixes the record's `seq` and `ts` under one short lock in the caller's thread and appends it to an
//! in-memory batch; the writer thread, taking the records in `seq` order, adds each `prev` (the SHA-256 of the
//! line before, so hashing costs the caller nothing), writes the batch with one `write` and `fdatasync`s it
//! within [`AuditOptions::sync_interval`]. A crash loses at most the records accepted since the last sync (see
//! `docs/audit-log.md`, "Guarantees").
//!
//! Fail closed: the file is locked for one node ([`File::try_lock`]), and space is reserved ahead of the
//! write position ([`RESERVE_CHUNK`] at a time, `fallocate` keeping the file's size, never past the process's
//! file size limit), so a record is accepted only when the bytes it needs are already allocated. An
//! `authz.decision` needs [`HEADROOM`] more after it, for the lifecycle records that follow an allowed
//! decision. When a reservation fails, every later decision is refused (the gate denies); when a write or
//! sync fails, every later record is. Either is said once on stderr.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use super::summary::{CachedAllow, Counted, SUMMARY, SUMMARY_INTERVAL, Slot, Summaries};
use super::{AuditError, AuditSink, FORMAT_VERSION, Fields, RESERVED, write_rfc3339};
use crate::lock;

/// What becomes of a repeated allow served from the decision cache (`[audit] allows`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Allows {
    /// One `authz.decision` per decision (`"each"`).
    Each,
    /// Counted into `authz.summary` records (`"summary"`, the default); the first allow of each request, every
    /// deny and every uncached decision are still written alone.
    #[default]
    Summary,
}

/// How the writer batches, syncs and rotates (`[audit]` of `corral.toml`, see `docs/audit-log.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditOptions {
    /// The longest a record waits in memory before the batch holding it is written and fsynced; default
    /// 2 ms (`sync_interval`). Zero writes and syncs each batch as soon as the writer is free.
    pub sync_interval: Duration,
    /// Once the file reaches this many bytes it is renamed and a new one begun (`rotate_size`, default
    /// 64 MiB); rotation happens between batches, so a file can exceed it by one batch.
    pub rotate_bytes: u64,
    /// The longest an `authz.summary` slot stays open after its first allow (`summary_interval`, default
    /// 1 s).
    pub summary_interval: Duration,
    /// Whether repeated cached allows are summarised (`allows`, default [`Allows::Summary`]).
    pub allows: Allows,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            sync_interval: Duration::from_millis(2),
            rotate_bytes: 64 << 20,
            summary_interval: SUMMARY_INTERVAL,
            allows: Allows::Summary,
        }
    }
}

/// A batch larger than this is written without waiting for the sync interval.
const BATCH_BYTES: usize = 1 << 20;
/// A caller waits (back-pressure) while this many bytes are accepted and not yet written.
const PENDING_MAX: usize = 16 << 20;
/// A batch's buffers are kept for the next batch when they hold no more than this (4 MiB); a larger one (a
/// burst under back-pressure) is freed.
const SPARE_MAX: usize = 4 * BATCH_BYTES;
/// How much of the end of an existing file is read to find its last line.
const TAIL_BYTES: u64 = 1 << 20;
/// Space is reserved ahead of the write position this many bytes (4 MiB) at a time, or up to the process's
/// file size limit (`ulimit -f`) when that is nearer.
pub const RESERVE_CHUNK: u64 = 4 << 20;
/// An `authz.decision` is accepted only when this many bytes (64 KiB) of reserved space remain after it, for
/// the records that follow an allowed decision (`proc.spawn`, `proc.exit`, `runtime.stop`, ...), which
/// cannot be refused.
pub const HEADROOM: u64 = 64 << 10;
/// The bytes the writer adds to each accepted record: `,"prev":"`, 64 hex digits, `"}` and a newline.
const LINE_OVERHEAD: u64 = 9 + 64 + 2 + 1;
/// The kind of record whose refusal is a deny (the gate's decisions).
const DECISION: &str = "authz.decision";
/// The most bytes of a record's head, `{"v":<10 digits>,"seq":<20 digits>,"ts":"<30>","kind":`, without the
/// kind.
const HEAD_MAX: u64 = 5 + 10 + 7 + 20 + 7 + 30 + 10;

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
    /// `fdatasync` calls of the writer, and the nanoseconds they took (`corral_audit_sync_seconds`).
    syncs: std::sync::atomic::AtomicU64,
    sync_nanos: std::sync::atomic::AtomicU64,
}

struct State {
    seq: u64,
    /// Accepted records without their `prev` and closing brace, back to back.
    pending: Vec<u8>,
    /// Where each record of `pending` ends.
    ends: Vec<usize>,
    /// The buffers of the last batch written, emptied, for the next `pending` and `ends`: a batch does not
    /// grow its buffers from nothing while callers hold the lock.
    spare: (Vec<u8>, Vec<usize>),
    /// When the oldest pending record was accepted.
    pending_since: Option<Instant>,
    /// The seq of the first pending record.
    pending_first: u64,
    /// The last seq written and synced.
    synced: u64,
    sync_requested: bool,
    closing: bool,
    /// Set by the writer when a write or sync fails; every later record is refused.
    failed: Option<String>,
    /// Set when space cannot be reserved (or a rotation fails); every later `authz.decision` is refused.
    denying: Option<String>,
    /// Whether the failure has been said on stderr (it is said once).
    announced: bool,
    /// The space the current file has for accepted records.
    space: Space,
    /// The open `authz.summary` slots; each has its record's bytes in `space.promised`.
    summaries: Summaries,
}

/// What the current file can take without a write failing for lack of space. Offsets are bytes from the
/// start of the current file.
struct Space {
    /// A handle on the current file to reserve with; `None` for a file with nothing to reserve (not a
    /// regular file).
    file: Option<File>,
    /// Whether the file system supports reserving (`fallocate`); without it only the size limit is kept.
    reservable: bool,
    /// Where the next accepted line will begin: bytes written plus bytes accepted and not yet written.
    accepted: u64,
    /// Bytes set aside after `accepted` for the records of the open summary slots (each its upper bound);
    /// no other record may use them.
    promised: u64,
    /// The file's space is allocated up to here.
    reserved: u64,
    /// The most bytes the process may write to a file (`RLIMIT_FSIZE`); `u64::MAX` when unlimited.
    ceiling: u64,
}

impl Space {
    /// The space of a file that is not a regular file: nothing to reserve, nothing to keep.
    fn unlimited() -> Space {
        Space { file: None, reservable: false, accepted: 0, promised: 0, reserved: u64::MAX, ceiling: u64::MAX }
    }

    /// The space of the regular `file`, `len` bytes long, with nothing reserved yet.
    fn of(file: &File, len: u64, path: &Path) -> Result<Space, String> {
        let file = file.try_clone().map_err(|e| format!("cannot reserve space in `{}`: {e}", path.display()))?;
        Ok(Space {
            file: Some(file),
            reservable: true,
            accepted: len,
            promised: 0,
            reserved: len,
            ceiling: size_limit(),
        })
    }

    /// Makes sure space is reserved up to offset `need`, reserving [`RESERVE_CHUNK`] more when it is not.
    /// Errors: the file size limit is in the way, or the file system has no space (naming the file).
    fn ensure(&mut self, need: u64, path: &Path) -> Result<(), String> {
        if need <= self.reserved {
            return Ok(());
        }
        let Some(file) = &self.file else { return Ok(()) };
        let target = need.max(self.reserved.saturating_add(RESERVE_CHUNK)).min(self.ceiling);
        if target < need {
            return Err(format!(
                "`{}` cannot grow past the file size limit of {} bytes (ulimit -f)",
                path.display(),
                self.ceiling
            ));
        }
        if self.reservable {
            match reserve(file, self.reserved, target - self.reserved) {
                Ok(true) => {}
                Ok(false) => {
                    self.reservable = false;
                    tracing::warn!(
                        target: "corral::audit",
                        path = %path.display(),
                        "the file system cannot reserve space (fallocate); a full disk may lose the records \
                         accepted since the last write"
                    );
                }
                Err(e) => return Err(format!("cannot reserve space in `{}`: {e}", path.display())),
            }
        }
        self.reserved = target;
        Ok(())
    }

    /// Gives back the space reserved past the end of the file (best effort).
    fn release(&self) {
        if let Some(file) = &self.file
            && self.reserved > self.accepted
            && let Ok(meta) = file.metadata()
        {
            let _ = file.set_len(meta.len());
        }
    }
}

/// Reserves `len` bytes at `offset` of `file` without changing its size. `Ok(false)`: the file system
/// cannot.
#[cfg(target_os = "linux")]
fn reserve(file: &File, offset: u64, len: u64) -> std::io::Result<bool> {
    use rustix::fs::{FallocateFlags, fallocate};
    match fallocate(file, FallocateFlags::KEEP_SIZE, offset, len) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::OPNOTSUPP) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Reserves `len` bytes at `offset` of `file`: not supported here.
#[cfg(not(target_os = "linux"))]
fn reserve(_file: &File, _offset: u64, _len: u64) -> std::io::Result<bool> {
    Ok(false)
}

/// The most bytes this process may write to a file (`RLIMIT_FSIZE`, `ulimit -f`), `u64::MAX` when unlimited.
#[cfg(target_os = "linux")]
fn size_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Fsize).current.unwrap_or(u64::MAX)
}

/// The most bytes this process may write to a file: not known here.
#[cfg(not(target_os = "linux"))]
fn size_limit() -> u64 {
    u64::MAX
}

/// Sets the deny latch (keeping the first reason) and says so on stderr once.
fn deny(state: &mut State, path: &Path, why: &str) {
    state.denying.get_or_insert_with(|| why.to_string());
    announce(state, path, why);
}

/// Says once on stderr that the log failed and every decision is now denied.
fn announce(state: &mut State, path: &Path, why: &str) {
    if !state.announced {
        state.announced = true;
        tracing::error!(
            target: "corral::audit",
            "the audit log `{}` failed: {why}; every decision is now denied",
            path.display()
        );
    }
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
    /// a write) is cut off with a warning. A regular file is locked for this sink (released when it is
    /// dropped) and [`RESERVE_CHUNK`] bytes are reserved past its end. Errors: the file cannot be opened or
    /// read, its last line is not a record, another node holds it (`audit log `<path>` is in use by another
    /// node`), or its space cannot be reserved (each naming the file).
    pub fn open(path: &Path, options: AuditOptions) -> Result<JsonlAudit, AuditError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| AuditError(format!("cannot open `{}`: {e}", path.display())))?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular {
            lock_file(&file, path)?;
        }
        let resume = if regular { resume(path, &file)? } else { None };
        let resume = match resume {
            Some(r) => Some(r),
            None if regular => newest_rotated(path)?,
            None => None,
        };
        let (seq, prev) = resume.as_ref().map(|r| (r.seq, r.prev.clone())).unwrap_or((0, "0".repeat(64)));
        let first = resume.as_ref().and_then(|r| r.first).unwrap_or(seq + 1);
        let space = if regular {
            sync_parent(path);
            let len = file.metadata().map_err(|e| AuditError(format!("cannot read `{}`: {e}", path.display())))?.len();
            let mut space = Space::of(&file, len, path).map_err(AuditError)?;
            space.ensure(len + HEADROOM, path).map_err(AuditError)?;
            space
        } else {
            Space::unlimited()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                seq,
                pending: Vec::new(),
                ends: Vec::new(),
                spare: (Vec::new(), Vec::new()),
                pending_since: None,
                pending_first: seq + 1,
                synced: seq,
                sync_requested: false,
                closing: false,
                failed: None,
                denying: None,
                announced: false,
                space,
                summaries: Summaries::new(options.summary_interval),
            }),
            wake: Condvar::new(),
            written: Condvar::new(),
            options,
            syncs: std::sync::atomic::AtomicU64::new(0),
            sync_nanos: std::sync::atomic::AtomicU64::new(0),
        });
        let writer = Writer {
            path: path.to_path_buf(),
            file,
            regular,
            first,
            prev,
            chained: Vec::new(),
            shared: shared.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("corral-audit".into())
            .spawn(move || writer.run())
            .map_err(|e| AuditError(format!("cannot start the audit writer: {e}")))?;
        Ok(JsonlAudit { path: path.to_path_buf(), shared, writer: Mutex::new(Some(handle)) })
    }

    /// How many times the writer has synced the log (`fdatasync`), and the total time those syncs took:
    /// `corral_audit_sync_seconds` of a node. Read without a lock; the writer adds to it after each sync.
    pub fn sync_time(&self) -> (u64, std::time::Duration) {
        let count = self.shared.syncs.load(std::sync::atomic::Ordering::Relaxed);
        let nanos = self.shared.sync_nanos.load(std::sync::atomic::Ordering::Relaxed);
        (count, std::time::Duration::from_nanos(nanos))
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The seq of the last record accepted.
    pub fn last_seq(&self) -> u64 {
        lock(&self.shared.state).seq
    }

    /// Whether the log still accepts decisions. Errors: a write, sync or reservation has failed, so every
    /// decision is denied (the reason names the file).
    pub fn status(&self) -> Result<(), AuditError> {
        let state = lock(&self.shared.state);
        match state.failed.as_ref().or(state.denying.as_ref()) {
            Some(why) => Err(AuditError(why.clone())),
            None => Ok(()),
        }
    }
}

/// Takes the exclusive lock of the log file for this node. Errors: another node (or sink) holds it.
fn lock_file(file: &File, path: &Path) -> Result<(), AuditError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(AuditError(format!("audit log `{}` is in use by another node", path.display())))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(AuditError(format!("cannot lock `{}`: {e}", path.display()))),
    }
}

impl JsonlAudit {
    /// The state once a record of this class may be accepted: waits while [`PENDING_MAX`] bytes are waiting.
    /// Errors: the writer failed, is closed, or (for a decision) denies.
    fn admit(&self, decision: bool) -> Result<MutexGuard<'_, State>, AuditError> {
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
        if decision && let Some(denying) = &state.denying {
            return Err(AuditError(denying.clone()));
        }
        Ok(state)
    }

    /// Writes the slots into the batch (their space is already reserved).
    fn emit_all(&self, state: &mut State, slots: Vec<Slot>) -> Result<(), AuditError> {
        for slot in slots {
            emit(state, &self.path, &self.shared, slot)?;
        }
        Ok(())
    }
}

impl AuditSink for JsonlAudit {
    /// Accepts the record into the current batch once the file has space reserved for it (and, for an
    /// `authz.decision`, [`HEADROOM`] more). Errors, detected here and synchronously: the writer has failed
    /// earlier (a write or sync error), space cannot be reserved, an earlier reservation or rotation failed
    /// (for an `authz.decision`), or the sink is closed; the record is not accepted.
    fn record(&self, kind: &str, fields: Map<String, Json>) -> Result<(), AuditError> {
        let body = body_bytes(fields)?;
        let decision = kind == DECISION;
        let mut state = self.admit(decision)?;
        append(&mut state, &self.path, &self.shared, kind, decision, |out| {
            out.extend_from_slice(&body);
            Ok(())
        })
    }

    /// As [`JsonlAudit::record`], the fields serialised straight into the batch.
    fn record_fields(&self, kind: &str, fields: &dyn Fields) -> Result<(), AuditError> {
        let decision = kind == DECISION;
        let mut state = self.admit(decision)?;
        append(&mut state, &self.path, &self.shared, kind, decision, |out| fields.write_object(out))
    }

    /// Counts a cached allow into its summary slot (with [`Allows::Summary`]). Like a decision record, a
    /// counted allow needs [`HEADROOM`] reserved after what is accepted and promised, and opening a slot
    /// reserves the most bytes its record can take besides; if that cannot be reserved, the allow is refused
    /// (a deny) like a decision record. A full slot is written first.
    fn summarise(&self, allow: &CachedAllow<'_>) -> Result<bool, AuditError> {
        if self.shared.options.allows == Allows::Each {
            return Ok(false);
        }
        let mut state = self.admit(true)?;
        // Counted, an allow takes no bytes of its own; like a decision it leaves HEADROOM for the lifecycle
        // records its effect writes (a spawn's `proc.spawn` and `proc.exit`), checked before it is counted.
        let need = state.space.accepted + state.space.promised + HEADROOM;
        if let Err(why) = state.space.ensure(need, &self.path) {
            deny(&mut state, &self.path, &why);
            return Err(AuditError(why));
        }
        let wall = SystemTime::now();
        match state.summaries.count(allow, wall) {
            Counted::Counted => return Ok(true),
            Counted::Unordered => return Ok(false),
            Counted::Full(slot) => emit(&mut state, &self.path, &self.shared, *slot)?,
            // A key's first cached allow of an interval is written alone: only a repeat opens a slot.
            Counted::Absent if state.summaries.first_sighting(allow, Instant::now()) => return Ok(false),
            Counted::Absent => {}
        }
        let reserve = HEAD_MAX + SUMMARY.len() as u64 + 2 + Slot::bound(allow) + LINE_OVERHEAD;
        let need = state.space.accepted + state.space.promised + reserve + HEADROOM;
        if let Err(why) = state.space.ensure(need, &self.path) {
            deny(&mut state, &self.path, &why);
            return Err(AuditError(why));
        }
        state.space.promised += reserve;
        let first = state.summaries.is_empty();
        state.summaries.open(allow, Instant::now(), wall, reserve);
        if first {
            // The writer waits without a deadline while nothing is open: give it one.
            self.shared.wake.notify_one();
        }
        Ok(true)
    }

    /// Writes the open slots of `pid` (or all) into the batch. Errors: the writer failed or is closed.
    fn flush_summaries(&self, pid: Option<&str>) -> Result<(), AuditError> {
        let mut state = self.admit(false)?;
        let slots = match pid {
            Some(pid) => state.summaries.take_of(pid),
            None => state.summaries.take_all(),
        };
        self.emit_all(&mut state, slots)
    }

    /// Writes the open summaries, then waits until every record accepted so far is written and fsynced.
    /// Errors: the writer failed.
    fn sync(&self) -> Result<(), AuditError> {
        let mut state = lock(&self.shared.state);
        if state.failed.is_none() && !state.closing {
            let slots = state.summaries.take_all();
            self.emit_all(&mut state, slots)?;
        }
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
        {
            let mut state = lock(&self.shared.state);
            if state.failed.is_none() {
                let slots = state.summaries.take_all();
                if let Err(e) = self.emit_all(&mut state, slots) {
                    tracing::error!(target: "corral::audit", "{e}");
                }
            }
            state.closing = true;
        }
        self.shared.wake.notify_one();
        if let Some(handle) = lock(&self.writer).take() {
            // A writer that panicked has already lost what it held; nothing more can be done here.
            let _ = handle.join();
        }
    }
}

/// Appends one record to the batch: the head (`v`, `seq`, `ts`, `kind`) and the object `write` produces,
/// merged into one object without its closing brace (the writer adds `prev` and closes it). The line must fit
/// in the reserved space after the promised summaries (and [`HEADROOM`] more for a decision). Errors: `write`
/// failed, or the space cannot be reserved (then decisions are denied from now on); the batch is unchanged.
fn append(
    state: &mut State,
    path: &Path,
    shared: &Shared,
    kind: &str,
    decision: bool,
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Result<(), AuditError> {
    let start = state.pending.len();
    let seq = state.seq + 1;
    let out = &mut state.pending;
    out.extend_from_slice(br#"{"v":"#);
    write_u64(out, u64::from(FORMAT_VERSION));
    out.extend_from_slice(br#","seq":"#);
    write_u64(out, seq);
    out.extend_from_slice(br#","ts":""#);
    write_rfc3339(out, SystemTime::now());
    out.extend_from_slice(br#"","kind":"#);
    super::records::push_json_str(out, kind);
    let body = out.len();
    let written = write(out).map(|()| body);
    let body = match written {
        Ok(body) if out.get(body) == Some(&b'{') && out.last() == Some(&b'}') => body,
        Ok(_) => {
            out.truncate(start);
            return Err(AuditError(format!("the fields of a `{kind}` record are not a JSON object")));
        }
        Err(e) => {
            out.truncate(start);
            return Err(AuditError(e.to_string()));
        }
    };
    if out.len() - body <= 2 {
        out.truncate(body);
    } else {
        out[body] = b',';
        out.pop();
    }
    let line = (out.len() - start) as u64 + LINE_OVERHEAD;
    let need = state.space.accepted + state.space.promised + line + if decision { HEADROOM } else { 0 };
    if let Err(why) = state.space.ensure(need, path) {
        state.pending.truncate(start);
        deny(state, path, &why);
        return Err(AuditError(why));
    }
    state.space.accepted += line;
    if state.pending_since.is_none() {
        state.pending_since = Some(Instant::now());
        state.pending_first = seq;
        shared.wake.notify_one();
    }
    state.seq = seq;
    let end = state.pending.len();
    state.ends.push(end);
    Ok(())
}

/// Writes an `authz.summary` slot into the batch, in the space promised to it when it opened.
fn emit(state: &mut State, path: &Path, shared: &Shared, slot: Slot) -> Result<(), AuditError> {
    state.space.promised = state.space.promised.saturating_sub(slot.reserved());
    append(state, path, shared, SUMMARY, false, |out| slot.write_object(out))
}

/// Appends `n` in decimal.
fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
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
    /// The last batch's chained lines, emptied, for the next batch.
    chained: Vec<u8>,
    shared: Arc<Shared>,
}

/// `buffer`, emptied, to be reused; an empty one in its place when it grew past [`SPARE_MAX`] bytes.
fn keep<T>(mut buffer: Vec<T>) -> Vec<T> {
    if buffer.capacity() * std::mem::size_of::<T>() > SPARE_MAX {
        return Vec::new();
    }
    buffer.clear();
    buffer
}

impl Writer {
    fn run(mut self) {
        loop {
            let Some((records, ends, first, last)) = self.next_batch() else {
                lock(&self.shared.state).space.release();
                return;
            };
            let batch = self.chain(&records, &ends);
            let outcome = self.write(&batch, first);
            self.chained = keep(batch);
            let mut state = lock(&self.shared.state);
            if state.spare.0.capacity() == 0 {
                state.spare = (keep(records), keep(ends));
            }
            match outcome {
                Ok(()) => state.synced = last,
                Err(e) => {
                    announce(&mut state, &self.path, &e);
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
            let now = Instant::now();
            if state.failed.is_none() && state.summaries.next_due().is_some_and(|at| at <= now) {
                // Summaries whose interval ended go into this batch; their space was reserved when they opened.
                for slot in state.summaries.due(now) {
                    if let Err(e) = emit(&mut state, &self.path, shared, slot) {
                        tracing::error!(target: "corral::audit", "{e}");
                    }
                }
            }
            let summary_due = state.summaries.next_due();
            if let Some(since) = state.pending_since {
                let due = since + shared.options.sync_interval;
                if state.closing || state.sync_requested || state.pending.len() >= BATCH_BYTES || now >= due {
                    break;
                }
                let wake = summary_due.map_or(due, |at| at.min(due));
                state = wait_timeout(&shared.wake, state, wake.saturating_duration_since(now));
            } else if state.closing {
                return None;
            } else if state.sync_requested {
                state.sync_requested = false;
                shared.written.notify_all();
            } else if let Some(at) = summary_due {
                state = wait_timeout(&shared.wake, state, at.saturating_duration_since(now));
            } else {
                state = shared.wake.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
        state.sync_requested = false;
        state.pending_since = None;
        let (spare_records, spare_ends) = std::mem::take(&mut state.spare);
        let records = std::mem::replace(&mut state.pending, spare_records);
        let ends = std::mem::replace(&mut state.ends, spare_ends);
        Some((records, ends, state.pending_first, state.seq))
    }

    /// The batch's lines: each record closed with the `prev` of the line before it, and a newline.
    fn chain(&mut self, records: &[u8], ends: &[usize]) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.chained);
        out.clear();
        out.reserve(records.len() + ends.len() * 80);
        let mut start = 0;
        let mut prev = [0u8; 64];
        if self.prev.len() == prev.len() {
            prev.copy_from_slice(self.prev.as_bytes());
        }
        for &end in ends {
            let line_start = out.len();
            out.extend_from_slice(&records[start..end]);
            out.extend_from_slice(br#","prev":""#);
            out.extend_from_slice(&prev);
            out.extend_from_slice(b"\"}");
            // Hex into a fixed buffer: no allocation per line.
            let _ = hex::encode_to_slice(Sha256::digest(&out[line_start..]), &mut prev);
            out.push(b'\n');
            start = end;
        }
        self.prev = String::from_utf8_lossy(&prev).into_owned();
        out
    }

    /// Writes one batch with one call, fsyncs it, and rotates when the file is full.
    fn write(&mut self, batch: &[u8], first: u64) -> Result<(), String> {
        self.file.write_all(batch).map_err(|e| format!("cannot write `{}`: {e}", self.path.display()))?;
        if !self.regular {
            return Ok(());
        }
        let began = Instant::now();
        self.file.sync_data().map_err(|e| format!("cannot sync `{}`: {e}", self.path.display()))?;
        let nanos = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.shared.syncs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.shared.sync_nanos.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
        let len = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == batch.len() as u64 {
            self.first = first;
        }
        if len >= self.shared.options.rotate_bytes
            && let Err(e) = self.rotate(len)
        {
            // The records accepted so far have their space in the current file, which is kept; decisions stop.
            deny(&mut lock(&self.shared.state), &self.path, &e);
        }
        Ok(())
    }

    /// Renames the full file (`len` bytes written) to `<stem>.<first seq, 12 digits>.<ext>` (so a shell glob
    /// lists the files oldest first) and begins a new one at the same path; the chain goes on across the two.
    /// The new file is made, locked and given space for the records accepted and not yet written (under a
    /// temporary name) before anything is renamed. Errors: any step failed; the current file is kept.
    fn rotate(&mut self, len: u64) -> Result<(), String> {
        let to = rotated_name(&self.path, self.first);
        let mut next = self.path.as_os_str().to_owned();
        next.push(".next");
        let next = PathBuf::from(next);
        let _ = std::fs::remove_file(&next);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .read(true)
            .open(&next)
            .map_err(|e| format!("cannot create `{}` to rotate to: {e}", next.display()))?;
        let mut state = lock(&self.shared.state);
        let made = (|| {
            lock_file(&file, &next).map_err(|e| e.0)?;
            let pending = state.space.accepted.saturating_sub(len);
            let mut space = Space::of(&file, 0, &next)?;
            space.ensure(pending + state.space.promised + HEADROOM, &next)?;
            space.accepted = pending;
            space.promised = state.space.promised;
            std::fs::rename(&self.path, &to)
                .map_err(|e| format!("cannot rotate `{}` to `{}`: {e}", self.path.display(), to.display()))?;
            Ok::<_, String>(space)
        })();
        let space = match made {
            Ok(space) => space,
            Err(e) => {
                let _ = std::fs::remove_file(&next);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::rename(&next, &self.path) {
            // The full file is already renamed: go on writing it under its new name rather than lose records.
            return Err(format!("cannot rename `{}` to `{}`: {e}", next.display(), self.path.display()));
        }
        state.space.release();
        state.space = space;
        self.file = file;
        drop(state);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use corral_policy::Resource;

    use super::*;

    fn temp(name: &str) -> Result<PathBuf, std::io::Error> {
        let dir = std::env::temp_dir().join(format!("corral-jsonl-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join("audit.jsonl"))
    }

    struct Key(Resource, Arc<str>, Arc<[String]>, Arc<[String]>);

    fn key(target: &str) -> Key {
        let resource = Resource::Process {
            pid: target.into(),
            entry: "app:worker".into(),
            host: "app:processes".into(),
            actor: "user:alice".into(),
        };
        Key(resource, Arc::from("rev"), Arc::from(vec!["alice.send".to_string()]), Arc::from(Vec::new()))
    }

    fn allow<'a>(key: &'a Key, pid: &'a str, op: u64) -> CachedAllow<'a> {
        CachedAllow {
            origin: None,
            op,
            pid,
            entry: None,
            principal: "user:alice",
            action: "process.send",
            resource: &key.0,
            topic: Some("t"),
            context: &[],
            revision: &key.1,
            policies: &key.2,
            scopes: &key.3,
            hint: None,
        }
    }

    fn kinds(path: &Path) -> Vec<(String, u64)> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Json>(l).ok())
            .map(|r| (r["kind"].as_str().unwrap_or("").to_string(), r["count"].as_u64().unwrap_or(0)))
            .collect()
    }

    fn pairs(n: u64) -> impl Fields {
        serde_json::json!({ "n": n })
    }

    #[test]
    fn summaries_are_written_on_exit_reload_and_close_and_counted_allows_are_not_lines()
    -> Result<(), Box<dyn std::error::Error>> {
        let path = temp("flush")?;
        let (k2, k3) = (key("p2"), key("p3"));
        {
            let sink = JsonlAudit::open(&path, AuditOptions::default())?;
            sight(&sink, &allow(&k2, "p1", 0))?;
            sight(&sink, &allow(&k3, "p4", 100))?;
            for op in 1..=10 {
                assert!(sink.summarise(&allow(&k2, "p1", op))?);
                assert!(sink.summarise(&allow(&k3, "p4", 100 + op))?);
            }
            assert_eq!(sink.last_seq(), 0, "counted, not written");
            // p2 exits: its slot is written, p4's stays open.
            sink.flush_summaries(Some("p2"))?;
            sink.record_fields("proc.exit", &pairs(1))?;
            assert!(sink.summarise(&allow(&k3, "p4", 200))?);
            // A reload writes every open slot.
            sink.flush_summaries(None)?;
            sink.record_fields("policy.reload", &pairs(2))?;
            sight(&sink, &allow(&k2, "p9", 299))?;
            assert!(sink.summarise(&allow(&k2, "p9", 300))?);
        } // Closing (shutdown) writes the rest.
        let expect = [
            ("authz.summary".to_string(), 10),
            ("proc.exit".to_string(), 0),
            ("authz.summary".to_string(), 11),
            ("policy.reload".to_string(), 0),
            ("authz.summary".to_string(), 1),
        ];
        assert_eq!(kinds(&path), expect);
        Ok(())
    }

    /// Offers a key's first cached allow of an interval, which the sink leaves to the gate to write alone.
    fn sight(sink: &JsonlAudit, allow: &CachedAllow<'_>) -> Result<(), Box<dyn std::error::Error>> {
        assert!(!sink.summarise(allow)?, "a key's first cached allow is written alone");
        Ok(())
    }

    #[test]
    fn each_writes_every_allow_and_sync_writes_open_summaries() -> Result<(), Box<dyn std::error::Error>> {
        let path = temp("each")?;
        let k = key("p2");
        let options = AuditOptions { allows: Allows::Each, ..AuditOptions::default() };
        let sink = JsonlAudit::open(&path, options)?;
        assert!(!sink.summarise(&allow(&k, "p1", 1))?, "with allows = each the gate writes it");
        drop(sink);
        let sink = JsonlAudit::open(&path, AuditOptions::default())?;
        sight(&sink, &allow(&k, "p1", 2))?;
        assert!(sink.summarise(&allow(&k, "p1", 3))?);
        sink.sync()?;
        assert_eq!(kinds(&path), [("authz.summary".to_string(), 1)]);
        Ok(())
    }

    #[test]
    fn a_summary_slot_is_reserved_when_it_opens_and_refused_when_it_cannot_be() -> Result<(), Box<dyn std::error::Error>>
    {
        let path = temp("reserve")?;
        let (k2, k3) = (key("p2"), key("p3"));
        let sink = JsonlAudit::open(&path, AuditOptions::default())?;
        sight(&sink, &allow(&k2, "p1", 0))?;
        assert!(sink.summarise(&allow(&k2, "p1", 1))?);
        let promised = lock(&sink.shared.state).space.promised;
        assert!(promised > 0, "the slot's bytes are set aside");
        // The file can grow no more: what is reserved is all there is.
        {
            let mut state = lock(&sink.shared.state);
            state.space.ceiling = state.space.reserved;
        }
        // Lifecycle records use the reserved space up to the promised bytes, never into them.
        let mut written = 0;
        while sink.record_fields("proc.exit", &pairs(written)).is_ok() {
            written += 1;
        }
        assert!(written > 0);
        {
            let state = lock(&sink.shared.state);
            assert!(state.space.accepted + state.space.promised <= state.space.reserved);
        }
        // A new key cannot be admitted (not even alone): a deny, and decisions are denied from now on ...
        assert!(sink.summarise(&allow(&k3, "p1", 2)).is_err());
        assert!(sink.record_fields("authz.decision", &pairs(0)).is_err());
        assert!(sink.status().is_err());
        // ... but allows counted into the open slot were accepted, and its record still fits.
        sink.flush_summaries(None)?;
        sink.sync()?;
        let kinds = kinds(&path);
        assert_eq!(kinds.last(), Some(&("authz.summary".to_string(), 1)));
        drop(sink);

        // A first summarised allow whose slot does not fit is refused, and the log denies from then on.
        let path = temp("refuse")?;
        let sink = JsonlAudit::open(&path, AuditOptions::default())?;
        {
            let mut state = lock(&sink.shared.state);
            state.space.ceiling = state.space.reserved;
            state.space.accepted = state.space.reserved - HEADROOM - 10;
        }
        sight(&sink, &allow(&k2, "p1", 0))?;
        assert!(sink.summarise(&allow(&k2, "p1", 1)).is_err());
        assert!(sink.status().is_err());
        assert_eq!(lock(&sink.shared.state).space.promised, 0);
        Ok(())
    }
}
