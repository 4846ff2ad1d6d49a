//! Rate-limited `mailbox.overflow` summaries: a flooded mailbox writes one record per window, not one per
//! refused message, so a sender cannot grow the log as fast as it can call `send`.

use hashbrown::HashMap;
use std::time::{Duration, Instant};

/// The default summary window: at most one `mailbox.overflow` record per target mailbox per second.
pub const OVERFLOW_WINDOW: Duration = Duration::from_secs(1);

/// What one summary stands for: `count` refused messages, the last one from `from` on `topic`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverflowCount {
    /// Refused messages since the previous record for this mailbox, this one included (at least 1).
    pub count: u64,
    /// The sender of the last of them.
    pub from: String,
    /// The topic of the last of them.
    pub topic: String,
}

/// Counts overflows per target mailbox. The first overflow of a mailbox is recorded at once; later ones
/// within [`OVERFLOW_WINDOW`] of its last record are counted, and the count goes into the next record (the
/// next overflow after the window, or [`OverflowSummary::flush`] when the target exits).
#[derive(Debug)]
pub struct OverflowSummary {
    window: Duration,
    slots: HashMap<String, Slot>,
}

#[derive(Debug)]
struct Slot {
    last_record: Instant,
    suppressed: u64,
    from: String,
    topic: String,
}

impl Default for OverflowSummary {
    fn default() -> OverflowSummary {
        OverflowSummary::new(OVERFLOW_WINDOW)
    }
}

impl OverflowSummary {
    /// A summariser writing at most one record per mailbox per `window`.
    pub fn new(window: Duration) -> OverflowSummary {
        OverflowSummary { window, slots: HashMap::new() }
    }

    /// One refused message to `target` at `now`. `Some` when a record is due now, with the count it covers;
    /// `None` when it is counted into a later record.
    pub fn observe(&mut self, target: &str, from: &str, topic: &str, now: Instant) -> Option<OverflowCount> {
        let window = self.window;
        match self.slots.get_mut(target) {
            Some(slot) if now.saturating_duration_since(slot.last_record) < window => {
                slot.suppressed += 1;
                slot.from = from.to_string();
                slot.topic = topic.to_string();
                None
            }
            Some(slot) => {
                let count = slot.suppressed + 1;
                slot.suppressed = 0;
                slot.last_record = now;
                Some(OverflowCount { count, from: from.to_string(), topic: topic.to_string() })
            }
            None => {
                let slot = Slot { last_record: now, suppressed: 0, from: String::new(), topic: String::new() };
                self.slots.insert(target.to_string(), slot);
                Some(OverflowCount { count: 1, from: from.to_string(), topic: topic.to_string() })
            }
        }
    }

    /// Forgets `target` (it exited): `Some` with the overflows counted since its last record, if any.
    pub fn flush(&mut self, target: &str) -> Option<OverflowCount> {
        let slot = self.slots.remove(target)?;
        (slot.suppressed > 0).then_some(OverflowCount { count: slot.suppressed, from: slot.from, topic: slot.topic })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_one_record_per_window_and_the_rest_is_flushed_at_exit() {
        let mut summary = OverflowSummary::new(Duration::from_secs(1));
        let start = Instant::now();
        let first = summary.observe("p1", "p2", "t", start);
        assert_eq!(first.map(|c| c.count), Some(1));
        for i in 1..=99 {
            assert_eq!(summary.observe("p1", "p2", "t", start + Duration::from_millis(i)), None);
        }
        // Another mailbox has its own window.
        assert_eq!(summary.observe("p9", "p2", "t", start).map(|c| c.count), Some(1));
        let next = summary.observe("p1", "p3", "u", start + Duration::from_secs(1));
        assert_eq!(next, Some(OverflowCount { count: 100, from: "p3".into(), topic: "u".into() }));
        summary.observe("p1", "p4", "v", start + Duration::from_millis(1500));
        assert_eq!(summary.flush("p1"), Some(OverflowCount { count: 1, from: "p4".into(), topic: "v".into() }));
        assert_eq!(summary.flush("p1"), None);
        assert_eq!(summary.flush("p9"), None, "nothing was held back for p9");
    }
}
