//! The audit sink: where every decision and lifecycle event is written.
//!
//! The sink is passed in when the runtime is built (never a global). [`JsonlAudit`] writes JSON lines, each
//! with a version `v`, a strictly increasing `seq`, an RFC 3339 `ts`, the `kind`, and `prev`: the hex SHA-256
//! of the previous line's bytes (zeros for the first), so an edit anywhere breaks the chain. If a record cannot
//! be written the gate denies (`policy-model.md`, "Audit": fail closed).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::lock;

/// The record format version written as `v`.
pub const FORMAT_VERSION: u32 = 1;

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("audit log unavailable: {0}")]
pub struct AuditError(pub String);

/// Takes audit records. Implementations must be cheap to call from any thread.
pub trait AuditSink: Send + Sync {
    /// Writes one record of `kind` (e.g. `authz.decision`, `proc.exit`) with its fields. The sink adds `v`,
    /// `seq`, `ts` and `prev`. Errors: the record could not be written; callers treat that as a deny.
    fn record(&self, kind: &str, fields: Map<String, Json>) -> Result<(), AuditError>;

    /// Makes everything written so far durable.
    fn sync(&self) -> Result<(), AuditError> {
        Ok(())
    }
}

/// JSON lines in a file, hash-chained.
pub struct JsonlAudit {
    path: PathBuf,
    state: Mutex<Chain<BufWriter<File>>>,
}

struct Chain<W> {
    out: W,
    seq: u64,
    prev: String,
}

impl JsonlAudit {
    /// Creates (truncates) the file at `path`. Errors: the file cannot be created.
    pub fn create(path: &Path) -> Result<JsonlAudit, AuditError> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|e| AuditError(format!("cannot create `{}`: {e}", path.display())))?;
        let chain = Chain { out: BufWriter::new(file), seq: 0, prev: "0".repeat(64) };
        Ok(JsonlAudit { path: path.to_path_buf(), state: Mutex::new(chain) })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AuditSink for JsonlAudit {
    fn record(&self, kind: &str, fields: Map<String, Json>) -> Result<(), AuditError> {
        let mut chain = lock(&self.state);
        let line = chain.next_line(kind, fields)?;
        chain.out.write_all(&line).and_then(|()| chain.out.flush()).map_err(|e| AuditError(e.to_string()))
    }

    fn sync(&self) -> Result<(), AuditError> {
        let mut chain = lock(&self.state);
        chain.out.flush().map_err(|e| AuditError(e.to_string()))?;
        chain.out.get_ref().sync_data().map_err(|e| AuditError(e.to_string()))
    }
}

impl<W> Chain<W> {
    /// Builds the next line (with its newline) and advances the chain.
    fn next_line(&mut self, kind: &str, fields: Map<String, Json>) -> Result<Vec<u8>, AuditError> {
        let mut record = Map::new();
        record.insert("v".into(), FORMAT_VERSION.into());
        record.insert("seq".into(), (self.seq + 1).into());
        record.insert("ts".into(), now_rfc3339().into());
        record.insert("kind".into(), kind.into());
        record.extend(fields);
        record.insert("prev".into(), self.prev.clone().into());
        let mut line = serde_json::to_vec(&record).map_err(|e| AuditError(e.to_string()))?;
        self.seq += 1;
        self.prev = hex::encode(Sha256::digest(&line));
        line.push(b'\n');
        Ok(line)
    }
}

/// Records in memory, for tests and embedding: each record as a JSON object with `seq` and `kind`.
#[derive(Default)]
pub struct MemoryAudit {
    records: Mutex<Vec<Map<String, Json>>>,
    failing: std::sync::atomic::AtomicBool,
}

impl MemoryAudit {
    /// An empty log.
    pub fn new() -> MemoryAudit {
        MemoryAudit::default()
    }

    /// Every record so far.
    pub fn records(&self) -> Vec<Map<String, Json>> {
        lock(&self.records).clone()
    }

    /// Makes every later write fail (to test fail-closed behaviour) or succeed again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, std::sync::atomic::Ordering::SeqCst);
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, kind: &str, fields: Map<String, Json>) -> Result<(), AuditError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(AuditError("the sink refuses writes".into()));
        }
        let mut records = lock(&self.records);
        let mut record = Map::new();
        record.insert("seq".into(), (records.len() + 1).into());
        record.insert("kind".into(), kind.into());
        record.extend(fields);
        records.push(record);
        Ok(())
    }
}

/// Now as RFC 3339 UTC with nanoseconds.
pub fn now_rfc3339() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// A time as RFC 3339 UTC with nanoseconds, e.g. `2026-11-21T10:00:00.123456789Z`.
pub fn rfc3339(at: std::time::SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    at.format(&format).unwrap_or_else(|_| "1970-01-01T00:00:00.000000000Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_chain_by_hash_of_the_previous_line() -> Result<(), AuditError> {
        let dir = std::env::temp_dir().join(format!("corral-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| AuditError(e.to_string()))?;
        let path = dir.join("a.jsonl");
        let sink = JsonlAudit::create(&path)?;
        sink.record("runtime.start", Map::new())?;
        sink.record("runtime.stop", Map::new())?;
        let text = std::fs::read_to_string(&path).map_err(|e| AuditError(e.to_string()))?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let second: Json = serde_json::from_str(lines[1]).map_err(|e| AuditError(e.to_string()))?;
        assert_eq!(second["prev"], Json::from(hex::encode(Sha256::digest(lines[0].as_bytes()))));
        assert_eq!(second["seq"], Json::from(2));
        Ok(())
    }
}
