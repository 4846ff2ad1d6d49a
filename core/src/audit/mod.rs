//! The audit log: where every decision and lifecycle event is written (`docs/audit-log.md`).
//!
//! The sink is passed in when the runtime is built (never a global). [`JsonlAudit`] writes JSON lines, each
//! with a version `v`, a strictly increasing `seq`, an RFC 3339 `ts`, the `kind`, and `prev`: the hex SHA-256
//! of the previous line's bytes (zeros for the first line of a log), so an edit anywhere breaks the chain. A
//! dedicated writer thread batches the lines and fsyncs them within a bounded delay. If a record cannot be
//! accepted the gate denies (`policy-model.md`, "Audit": fail closed).
//!
//! Also here: [`Levels`] (how much of a decision is recorded, per action pattern), [`OverflowSummary`]
//! (rate-limited `mailbox.overflow` records), [`records`] (the `policy.*` records) and [`Usage`] (the
//! counters of `proc.exit` that a sandbox measures).

mod jsonl;
mod levels;
mod overflow;
pub mod records;

use std::sync::Mutex;

use serde_json::{Map, Value as Json};

pub use jsonl::{AuditOptions, HEADROOM, JsonlAudit, RESERVE_CHUNK, rotated_name};
pub use levels::{Level, Levels, Rule};
pub use overflow::{OVERFLOW_WINDOW, OverflowCount, OverflowSummary};

use crate::lock;

/// The record format version written as `v`.
pub const FORMAT_VERSION: u32 = 1;

/// The fields every record starts or ends with, written by the sink; a caller's fields of these names are
/// dropped.
pub const RESERVED: &[&str] = &["v", "seq", "ts", "kind", "prev"];

/// Why a record could not be written. Displays as `audit log unavailable: <why>`, the text a denied process
/// sees.
#[derive(Debug, thiserror::Error)]
#[error("audit log unavailable: {0}")]
pub struct AuditError(pub String);

/// Takes audit records. Implementations must be cheap to call from any thread.
pub trait AuditSink: Send + Sync {
    /// Accepts one record of `kind` (e.g. `authz.decision`, `proc.exit`) with its fields. The sink adds `v`,
    /// `seq`, `ts` and `prev`. Errors: the record was not accepted; callers treat that as a deny.
    fn record(&self, kind: &str, fields: Map<String, Json>) -> Result<(), AuditError>;

    /// Waits until everything accepted so far is durable. Errors: it could not be made durable.
    fn sync(&self) -> Result<(), AuditError> {
        Ok(())
    }
}

/// A sink that accepts and drops every record: the baseline of the benchmarks, and embedding without a log.
#[derive(Debug, Default)]
pub struct NullAudit;

impl AuditSink for NullAudit {
    fn record(&self, _kind: &str, _fields: Map<String, Json>) -> Result<(), AuditError> {
        Ok(())
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

/// A time as RFC 3339 UTC with nanoseconds, e.g. `2026-11-21T10:00:00.123456789Z`. Total: a time outside
/// the years 1..=9999 is shown as the nearest end of that range (never a panic, whatever the time).
pub fn rfc3339(at: std::time::SystemTime) -> String {
    let nanos = match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    };
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return if nanos > 0 { "9999-12-31T23:59:59.999999999Z" } else { "0001-01-01T00:00:00.000000000Z" }.into();
    };
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    at.format(&format).unwrap_or_else(|_| "1970-01-01T00:00:00.000000000Z".into())
}

#[cfg(test)]
mod rfc3339_tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::rfc3339;

    #[test]
    fn rfc3339_is_total() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let far = UNIX_EPOCH.checked_add(Duration::from_secs(1 << 50)).unwrap_or(SystemTime::now());
        assert_eq!(rfc3339(far), "9999-12-31T23:59:59.999999999Z");
        let early = UNIX_EPOCH.checked_sub(Duration::from_secs(1 << 50)).unwrap_or(UNIX_EPOCH);
        assert!(rfc3339(early).starts_with("0001-01-01") || early == UNIX_EPOCH);
    }
}
