//! What AO processes (`models.md`, "AO processes"; seed 000) report about the messages they receive: a
//! handler that raised (`ao.error`) and a message no handler took (`ao.unhandled`). Both are counted
//! ([`crate::metrics::Counters`]) and audited, rate-limited per process like `mailbox.overflow`, so a
//! sender cannot grow the log as fast as it can send: the first report of a kind for a process is written
//! at once, later ones within [`AO_WINDOW`] of its last record are counted into the next record, and what
//! is held back is written when the process exits.

use hashbrown::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::Runtime;
use crate::limits::cut;
use crate::lock;
use crate::process::Process;

/// At most one record per kind per process per second.
pub const AO_WINDOW: Duration = Duration::from_secs(1);

/// The longest handler error text a record keeps (cut on a character boundary, ending in `…`).
pub const AO_ERROR_TEXT_MAX: usize = 1024;

/// The longest `from` and `action` a record keeps.
const AO_FIELD_MAX: usize = 256;

/// What an AO process reports about one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AoOutcome {
    /// A handler (or its pattern) raised: `ao.error`, `corral_ao_handler_errors_total`.
    HandlerError,
    /// No handler's pattern matched: `ao.unhandled`, `corral_ao_unhandled_total`.
    Unhandled,
}

impl AoOutcome {
    /// The audit record kind: `ao.error` or `ao.unhandled`.
    pub fn kind(self) -> &'static str {
        match self {
            AoOutcome::HandlerError => "ao.error",
            AoOutcome::Unhandled => "ao.unhandled",
        }
    }
}

/// The last report of a kind for one process, and how many it stands for.
#[derive(Debug)]
struct Slot {
    last_record: Instant,
    suppressed: u64,
    from: String,
    action: String,
    error: Option<String>,
}

/// Rate-limits `ao.error` and `ao.unhandled` records per process and kind.
#[derive(Debug, Default)]
pub(crate) struct AoSummary {
    slots: HashMap<(String, AoOutcome), Slot>,
}

/// One record due: the reports it stands for (at least 1) and the last one's fields.
struct Due {
    count: u64,
    from: String,
    action: String,
    error: Option<String>,
}

impl AoSummary {
    fn observe(
        &mut self,
        pid: &str,
        outcome: AoOutcome,
        from: String,
        action: String,
        error: Option<String>,
        now: Instant,
    ) -> Option<Due> {
        match self.slots.get_mut(&(pid.to_string(), outcome)) {
            Some(slot) if now.saturating_duration_since(slot.last_record) < AO_WINDOW => {
                slot.suppressed = slot.suppressed.saturating_add(1);
                slot.from = from;
                slot.action = action;
                slot.error = error;
                None
            }
            Some(slot) => {
                let count = slot.suppressed.saturating_add(1);
                slot.suppressed = 0;
                slot.last_record = now;
                Some(Due { count, from, action, error })
            }
            None => {
                let slot =
                    Slot { last_record: now, suppressed: 0, from: String::new(), action: String::new(), error: None };
                self.slots.insert((pid.to_string(), outcome), slot);
                Some(Due { count: 1, from, action, error })
            }
        }
    }

    /// Forgets `pid`: the records still held back for it, by kind.
    fn flush(&mut self, pid: &str) -> Vec<(AoOutcome, Due)> {
        let mut out = Vec::new();
        if self.slots.is_empty() {
            // No AO process holds records back (the case for every exit of a node without AO processes).
            return out;
        }
        for outcome in [AoOutcome::HandlerError, AoOutcome::Unhandled] {
            if let Some(slot) = self.slots.remove(&(pid.to_string(), outcome))
                && slot.suppressed > 0
            {
                let due = Due { count: slot.suppressed, from: slot.from, action: slot.action, error: slot.error };
                out.push((outcome, due));
            }
        }
        out
    }
}

impl Runtime {
    /// Counts one message of the AO process `process` that a handler failed on ([`AoOutcome::HandlerError`],
    /// with its error text) or that no handler took ([`AoOutcome::Unhandled`]), and writes an `ao.error` /
    /// `ao.unhandled` record when one is due (at most one per kind per process per [`AO_WINDOW`]; the rest
    /// are counted into the next record or written when the process exits). `from` is the sender's PID
    /// (empty for the runtime), `action` the message's `Action`; both are cut to 256 bytes and `error` to
    /// [`AO_ERROR_TEXT_MAX`]. No decision is involved: the message was delivered and decided before.
    pub fn ao_report(&self, process: &Process, outcome: AoOutcome, from: &str, action: &str, error: Option<&str>) {
        match outcome {
            AoOutcome::HandlerError => self.inner.counters.ao_handler_error(),
            AoOutcome::Unhandled => self.inner.counters.ao_unhandled(),
        }
        let pid = process.pid().to_string();
        let due = lock(&self.inner.ao).observe(
            &pid,
            outcome,
            cut(from, AO_FIELD_MAX),
            cut(action, AO_FIELD_MAX),
            error.map(|e| cut(e, AO_ERROR_TEXT_MAX)),
            Instant::now(),
        );
        if let Some(due) = due {
            self.write_ao(&pid, outcome, due);
        }
    }

    /// Writes the AO records still held back for `process` (it is exiting).
    pub(crate) fn flush_ao(&self, process: &Process) {
        let pid = process.pid().as_str();
        let held = lock(&self.inner.ao).flush(pid);
        for (outcome, due) in held {
            self.write_ao(pid, outcome, due);
        }
    }

    fn write_ao(&self, pid: &str, outcome: AoOutcome, due: Due) {
        let window = u64::try_from(AO_WINDOW.as_millis()).unwrap_or(u64::MAX);
        let from = if due.from.is_empty() { Json::Null } else { Json::from(due.from) };
        let error = due.error.map(Json::from).unwrap_or(Json::Null);
        self.audit_event(
            outcome.kind(),
            [
                ("pid", pid.into()),
                ("from", from),
                ("action", due.action.into()),
                ("count", due.count.into()),
                ("window_ms", window.into()),
                ("error", error),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_one_record_per_kind_per_window_and_the_rest_is_flushed() {
        let mut summary = AoSummary::default();
        let start = Instant::now();
        let observe = |s: &mut AoSummary, outcome, at: u64| {
            s.observe("p1", outcome, "p2".into(), "A".into(), Some(format!("e{at}")), start + Duration::from_millis(at))
        };
        assert_eq!(observe(&mut summary, AoOutcome::HandlerError, 0).map(|d| d.count), Some(1));
        for at in 1..50 {
            assert!(observe(&mut summary, AoOutcome::HandlerError, at).is_none());
        }
        // The other kind has its own window.
        assert_eq!(observe(&mut summary, AoOutcome::Unhandled, 10).map(|d| d.count), Some(1));
        let next = observe(&mut summary, AoOutcome::HandlerError, 1000).map(|d| (d.count, d.error));
        assert_eq!(next, Some((50, Some("e1000".into()))));
        observe(&mut summary, AoOutcome::HandlerError, 1001);
        let held = summary.flush("p1");
        assert_eq!(held.len(), 1, "only the error kind held one back");
        assert_eq!(
            held.first().map(|(o, d)| (*o, d.count, d.error.clone())),
            Some((AoOutcome::HandlerError, 1, Some("e1001".into())))
        );
        assert!(summary.flush("p1").is_empty());
    }
}
