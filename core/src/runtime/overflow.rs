//! Auditing mailbox overflows without letting a flood flood the audit log: at most one `mailbox.overflow`
//! record per target per [`WINDOW`], carrying how many overflows it stands for. What is still pending when the
//! target exits is written then. Kept apart so it can move with the audit log's record schemas.

use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::Runtime;
use crate::lock;
use crate::process::Process;

/// The shortest time between two `mailbox.overflow` records about one target.
pub const WINDOW: Duration = Duration::from_secs(1);

/// Overflows of one target not yet written, and when its last record was written.
#[derive(Debug, Default)]
pub struct OverflowWindow {
    last: Option<Instant>,
    pending: u64,
    total: u64,
    from: String,
    topic: String,
}

impl OverflowWindow {
    /// Overflows of this mailbox since the process started.
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl Runtime {
    /// Counts an overflow of `target`'s mailbox (a message from `from` on `topic` did not fit) and writes a
    /// `mailbox.overflow` record when the last one about `target` is older than [`WINDOW`].
    pub(super) fn audit_overflow(&self, target: &Process, from: &Process, topic: &str) {
        let due = {
            let mut window = lock(&target.overflow);
            window.pending += 1;
            window.total += 1;
            window.from = from.pid().to_string();
            window.topic = topic.to_string();
            let now = Instant::now();
            if window.last.is_some_and(|last| now.duration_since(last) < WINDOW) {
                return;
            }
            window.last = Some(now);
            std::mem::take(&mut window.pending)
        };
        self.write_overflow(target, due, from.pid().to_string(), topic.to_string());
    }

    /// Writes what is still pending for `target` (called when it exits).
    pub(super) fn flush_overflow(&self, target: &Process) {
        let (count, from, topic) = {
            let mut window = lock(&target.overflow);
            (std::mem::take(&mut window.pending), window.from.clone(), window.topic.clone())
        };
        if count > 0 {
            self.write_overflow(target, count, from, topic);
        }
    }

    fn write_overflow(&self, target: &Process, count: u64, from: String, topic: String) {
        let host = target.host();
        self.audit_event(
            "mailbox.overflow",
            [
                ("pid", target.pid().to_string().into()),
                ("from", from.into()),
                ("topic", topic.into()),
                ("count", count.into()),
                ("capacity", target.limits().mailbox.into()),
                ("fallback", host.spec.fallback.clone().map(Json::from).unwrap_or(Json::Null)),
            ],
        );
    }
}
