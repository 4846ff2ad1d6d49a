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
pub mod summary;

use std::sync::Mutex;

use serde_json::{Map, Value as Json};

pub use jsonl::{Allows, AuditOptions, HEADROOM, JsonlAudit, RESERVE_CHUNK, rotated_name};
pub use levels::{Level, Levels, Rule};
pub use overflow::{OVERFLOW_WINDOW, OverflowCount, OverflowSummary};
pub use summary::{CachedAllow, MAX_SUMMARY_INTERVAL, SUMMARY, SUMMARY_INTERVAL, SlotHint};

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

    /// The fast path of [`AuditSink::record`]: `fields` serialise themselves as one JSON object (a record
    /// struct of `records`, or field pairs), without a `serde_json::Map`. A sink that writes bytes puts them
    /// straight into its batch; the default turns them into a map and calls `record`, so a sink that only
    /// implements `record` still gets every record. Fields named like the sink's own (`v`, `seq`, `ts`,
    /// `kind`, `prev`) must not be among them. Errors: as `record`.
    fn record_fields(&self, kind: &str, fields: &dyn Fields) -> Result<(), AuditError> {
        let mut bytes = Vec::with_capacity(512);
        fields.write_object(&mut bytes).map_err(|e| AuditError(e.to_string()))?;
        match serde_json::from_slice::<Json>(&bytes) {
            Ok(Json::Object(map)) => self.record(kind, map),
            Ok(_) => Err(AuditError(format!("the fields of a `{kind}` record are not a JSON object"))),
            Err(e) => Err(AuditError(e.to_string())),
        }
    }

    /// Offers a cached allow to be counted into an `authz.summary` record instead of written alone
    /// (`[audit] allows = "summary"`, `docs/audit-log.md`). `Ok(true)`: it is counted, and the space of the
    /// summary that will hold it is reserved; `Ok(false)`: this sink does not summarise it, write its
    /// `authz.decision`. Errors: the sink cannot take it (a deny). The default counts nothing.
    fn summarise(&self, _allow: &CachedAllow<'_>) -> Result<bool, AuditError> {
        Ok(false)
    }

    /// Writes the open summaries now: those whose caller or target is the process `pid` (it exits), or all
    /// of them for `None` (a policy reload, shutdown). Errors: the sink is closed or failed; what it had
    /// counted is then lost with it.
    fn flush_summaries(&self, _pid: Option<&str>) -> Result<(), AuditError> {
        Ok(())
    }

    /// Waits until everything accepted so far is durable (open summaries included). Errors: it could not be
    /// made durable.
    fn sync(&self) -> Result<(), AuditError> {
        Ok(())
    }
}

/// The fields of a record that write themselves as one JSON object (`{"node":"local",...}`) into a buffer:
/// every `serde::Serialize` value is one. Object-safe, so a sink takes `&dyn Fields`.
pub trait Fields {
    /// Appends the fields as one JSON object to `out`. Errors: a value that JSON cannot hold.
    fn write_object(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
}

impl<T: serde::Serialize + ?Sized> Fields for T {
    fn write_object(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }
}

/// A sink that accepts and drops every record: the baseline of the benchmarks, and embedding without a log.
#[derive(Debug, Default)]
pub struct NullAudit;

impl AuditSink for NullAudit {
    fn record(&self, _kind: &str, _fields: Map<String, Json>) -> Result<(), AuditError> {
        Ok(())
    }

    fn record_fields(&self, _kind: &str, _fields: &dyn Fields) -> Result<(), AuditError> {
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

/// The length of a timestamp of [`rfc3339`] / [`write_rfc3339`]: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
pub const RFC3339_LEN: usize = 30;

/// A time as RFC 3339 UTC with nanoseconds, e.g. `2026-11-21T10:00:00.123456789Z`. Total: a time outside
/// the years 1..=9999 is shown as the nearest end of that range (never a panic, whatever the time).
pub fn rfc3339(at: std::time::SystemTime) -> String {
    let mut out = Vec::with_capacity(RFC3339_LEN);
    write_rfc3339(&mut out, at);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `at` as [`rfc3339`] writes it ([`RFC3339_LEN`] ASCII bytes) to `out`, without the `time` crate's
/// calendar or a `format!`: days since the epoch become a civil date by Hinnant's `civil_from_days`.
pub fn write_rfc3339(out: &mut Vec<u8>, at: std::time::SystemTime) {
    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
    const MIN: i64 = -62_135_596_800;
    const MAX: i64 = 253_402_300_799;
    let (secs, nanos) = match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => (i64::try_from(after.as_secs()).unwrap_or(i64::MAX), after.subsec_nanos()),
        Err(before) => {
            let d = before.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (secs.saturating_neg(), 0),
                n => (secs.saturating_neg().saturating_sub(1), 1_000_000_000 - n),
            }
        }
    };
    let (secs, nanos) = if secs > MAX {
        (MAX, 999_999_999)
    } else if secs < MIN {
        (MIN, 0)
    } else {
        (secs, nanos)
    };
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let mut buf = *b"0000-00-00T00:00:00.000000000Z";
    digits(&mut buf[0..4], year as u64);
    digits(&mut buf[5..7], u64::from(month));
    digits(&mut buf[8..10], u64::from(day));
    digits(&mut buf[11..13], (of_day / 3600) as u64);
    digits(&mut buf[14..16], (of_day / 60 % 60) as u64);
    digits(&mut buf[17..19], (of_day % 60) as u64);
    digits(&mut buf[20..29], u64::from(nanos));
    out.extend_from_slice(&buf);
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant, "chrono-Compatible Low-Level Date
/// Algorithms"): (year, month 1..=12, day 1..=31).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes `n` as decimal digits filling `into` (zero-padded on the left, the high digits cut).
fn digits(into: &mut [u8], mut n: u64) {
    for slot in into.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod rfc3339_tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::rfc3339;

    /// The reference: the `time` crate's calendar and formatter.
    fn by_time(at: SystemTime) -> String {
        let nanos = match at.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        let format =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
        time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&format).ok())
            .unwrap_or_default()
    }

    fn at(secs: i64, nanos: u32) -> SystemTime {
        if secs >= 0 {
            UNIX_EPOCH + Duration::new(secs as u64, nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(u64::from(nanos))
        }
    }

    #[test]
    fn rfc3339_is_total() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let far = UNIX_EPOCH.checked_add(Duration::from_secs(1 << 50)).unwrap_or(SystemTime::now());
        assert_eq!(rfc3339(far), "9999-12-31T23:59:59.999999999Z");
        let early = UNIX_EPOCH.checked_sub(Duration::from_secs(1 << 50)).unwrap_or(UNIX_EPOCH);
        assert!(rfc3339(early).starts_with("0001-01-01") || early == UNIX_EPOCH);
    }

    #[test]
    fn the_civil_calendar_agrees_with_the_time_crate() {
        // The edges: the range's ends, the epoch, leap days (2000 is a leap year, 1900 and 2100 are not),
        // year and month ends, and one nanosecond either side of midnight.
        let edges: &[(i64, u32)] = &[
            (-62_135_596_800, 0),
            (253_402_300_799, 999_999_999),
            (0, 0),
            (-1, 999_999_999),
            (-1, 0),
            (951_782_400, 0),           // 2000-02-29
            (951_868_799, 999_999_999), // 2000-02-29T23:59:59.999999999
            (-2_203_891_200, 0),        // 1900-03-01
            (4_107_542_400, 0),         // 2100-03-01
            (1_795_268_171, 452_912_619),
            (1_798_761_599, 1), // 2026-12-31T23:59:59
            (1_798_761_600, 0), // 2027-01-01
        ];
        for &(secs, nanos) in edges {
            assert_eq!(rfc3339(at(secs, nanos)), by_time(at(secs, nanos)), "at {secs}s {nanos}ns");
        }
        // Many instants over the whole range, in steps that are not a whole number of days.
        let mut secs = -62_135_596_800i64;
        let mut nanos = 7u32;
        while secs < 253_402_300_799 {
            assert_eq!(rfc3339(at(secs, nanos)), by_time(at(secs, nanos)), "at {secs}s {nanos}ns");
            secs += 3_999_977; // about 46 days and 7 hours
            nanos = nanos.wrapping_mul(2_654_435_761) % 1_000_000_000;
        }
        // Every day of a few leap cycles around now.
        for day in 19_000..19_000 + 3 * 1461 {
            let secs = day * 86_400 + 86_399;
            assert_eq!(rfc3339(at(secs, 5)), by_time(at(secs, 5)), "day {day}");
        }
    }
}
