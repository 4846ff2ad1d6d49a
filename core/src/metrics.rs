//! Counters for a node's metrics (`corral serve`'s `GET /metrics`): plain atomics, shared by every runtime of
//! a node, cheap enough for the hot path.
//!
//! Each count is one `fetch_add` with `Ordering::Relaxed` on a fixed slot of the calling thread's shard: no
//! map, no string, no lock, and no cache line written by two threads at once (the shards are apart), so it
//! stays a few nanoseconds where a decision costs microseconds. Slots are indexed by closed sets: the built-in Cedar
//! actions ([`ACTIONS`]), the [`ExitReason`] variants ([`EXIT_REASONS`]), and fixed latency buckets
//! ([`DECISION_BUCKETS`]). Requests for an action outside the built-in set (`security.can` with a tenant's
//! action name) count under `other`, so a label value never holds tenant text.
//!
//! Decision latency: the gate already reads the clock around every decision (for the record's `eval_us`), so
//! every decision is put in the histogram; nothing is sampled.
//!
//! A runtime takes its counters from [`crate::runtime::Shared`]; the HTTP layer reads a [`Snapshot`] and
//! renders it (the live-process gauge per host comes from [`crate::Runtime::live_by_host`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

use crate::gate::{Action, NodeAction};
use crate::process::ExitReason;

/// The action label values, in slot order: the built-in `process.*` actions, the node actions, then `other`.
pub const ACTIONS: [&str; 25] = [
    "process.spawn",
    "process.spawn.monitored",
    "process.spawn.linked",
    "process.host",
    "process.exec",
    "process.send",
    "process.terminate",
    "process.cancel",
    "process.monitor",
    "process.unmonitor",
    "process.link",
    "process.unlink",
    "process.context",
    "process.security",
    "process.registry.register",
    "process.registry.unregister",
    "process.upgrade",
    "node.deploy",
    "node.remove",
    "node.inspect",
    "process.call",
    "funcs.call",
    "events.send",
    "events.subscribe",
    "other",
];

/// The slot of `other` in [`ACTIONS`].
const OTHER: usize = ACTIONS.len() - 1;

/// The exit reasons, in slot order (the `reason` label values of `corral_exits_total`).
pub const EXIT_REASONS: [ExitReason; 9] = [
    ExitReason::Normal,
    ExitReason::Error,
    ExitReason::Terminated,
    ExitReason::Cancelled,
    ExitReason::LinkDown,
    ExitReason::LimitMemory,
    ExitReason::LimitCompute,
    ExitReason::Shutdown,
    ExitReason::Internal,
];

/// The upper bounds of the decision latency buckets, in seconds (1 µs to 10 ms; slower goes to `+Inf`).
pub const DECISION_BUCKETS: [f64; 12] =
    [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2];

/// [`DECISION_BUCKETS`] in nanoseconds, for the hot path (integer comparisons only).
const DECISION_BUCKETS_NS: [u64; 12] =
    [1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 10_000_000];

/// The slot of a counted action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ActionSlot(usize);

impl ActionSlot {
    /// The slot of an action given by name: a built-in one's, else `other` (a linear scan of 24 names, used
    /// only for `security.can`, whose action is tenant text).
    pub(crate) fn of_name(name: &str) -> ActionSlot {
        ActionSlot(ACTIONS[..OTHER].iter().position(|a| *a == name).unwrap_or(OTHER))
    }
}

impl From<Action> for ActionSlot {
    fn from(action: Action) -> ActionSlot {
        ActionSlot(match action {
            Action::Spawn => 0,
            Action::SpawnMonitored => 1,
            Action::SpawnLinked => 2,
            Action::Host => 3,
            Action::Exec => 4,
            Action::Send => 5,
            Action::Terminate => 6,
            Action::Cancel => 7,
            Action::Monitor => 8,
            Action::Unmonitor => 9,
            Action::Link => 10,
            Action::Unlink => 11,
            Action::Context => 12,
            Action::Security => 13,
            Action::Register => 14,
            Action::Unregister => 15,
            Action::Upgrade => 16,
            Action::Call => 20,
            Action::FuncsCall => 21,
            Action::EventsSend => 22,
            Action::EventsSubscribe => 23,
        })
    }
}

impl From<NodeAction> for ActionSlot {
    fn from(action: NodeAction) -> ActionSlot {
        ActionSlot(match action {
            NodeAction::Deploy => 17,
            NodeAction::Remove => 18,
            NodeAction::Inspect => 19,
        })
    }
}

fn exit_slot(reason: ExitReason) -> usize {
    match reason {
        ExitReason::Normal => 0,
        ExitReason::Error => 1,
        ExitReason::Terminated => 2,
        ExitReason::Cancelled => 3,
        ExitReason::LinkDown => 4,
        ExitReason::LimitMemory => 5,
        ExitReason::LimitCompute => 6,
        ExitReason::Shutdown => 7,
        ExitReason::Internal => 8,
    }
}

/// How many shards a node's counters have: each thread counts into one (by the address of a thread-local),
/// so the two workers of a ping-pong never write the same cache line.
const SHARDS: usize = 16;

/// One shard's counts, on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    spawns: AtomicU64,
    exits: [AtomicU64; EXIT_REASONS.len()],
    messages: AtomicU64,
    /// `[action][allowed as usize][cached as usize]`.
    decisions: [[[AtomicU64; 2]; 2]; ACTIONS.len()],
    /// Decisions per latency bucket (not cumulative), the last one `+Inf`.
    latency: [AtomicU64; DECISION_BUCKETS.len() + 1],
    latency_sum_ns: AtomicU64,
    audit_records: AtomicU64,
    mailbox_overflows: AtomicU64,
    ao_unhandled: AtomicU64,
    ao_handler_errors: AtomicU64,
}

/// A node's counters. Share one behind an `Arc` between the runtimes of a node and its node gate
/// ([`crate::gate::Gate::with_counters`]); every count is monotonic (Prometheus counters).
///
/// Cost on the hot path: an increment is one `Relaxed` `fetch_add` into the calling thread's shard (picked by
/// the address of a thread-local, no lock and no shared write between threads); a snapshot sums the shards.
#[derive(Debug)]
pub struct Counters {
    shards: Box<[Shard]>,
}

impl Default for Counters {
    fn default() -> Counters {
        Counters { shards: (0..SHARDS).map(|_| Shard::default()).collect() }
    }
}

thread_local! {
    /// Its address tells threads apart (no global counter hands out ids).
    static SHARD_KEY: u8 = const { 0 };
}

impl Counters {
    /// All at zero.
    pub fn new() -> Counters {
        Counters::default()
    }

    /// The calling thread's shard.
    fn shard(&self) -> &Shard {
        let address = SHARD_KEY.with(|key| key as *const u8 as usize);
        // Thread-locals of different threads lie at least a page apart: drop the low bits, then mix.
        let index = (address >> 12).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60;
        #[allow(clippy::indexing_slicing, reason = "index < 16 = SHARDS: the top 4 bits of a u64")]
        &self.shards[index % self.shards.len()]
    }

    /// One process started.
    pub(crate) fn spawn(&self) {
        self.shard().spawns.fetch_add(1, Relaxed);
    }

    /// One process ended for `reason`.
    pub(crate) fn exit(&self, reason: ExitReason) {
        if let Some(slot) = self.shard().exits.get(exit_slot(reason)) {
            slot.fetch_add(1, Relaxed);
        }
    }

    /// One message delivered into a mailbox.
    pub(crate) fn message(&self) {
        self.shard().messages.fetch_add(1, Relaxed);
    }

    /// One mailbox refused a message (full).
    pub(crate) fn mailbox_overflow(&self) {
        self.shard().mailbox_overflows.fetch_add(1, Relaxed);
    }

    /// One message of an AO process that no handler took.
    pub(crate) fn ao_unhandled(&self) {
        self.shard().ao_unhandled.fetch_add(1, Relaxed);
    }

    /// One message of an AO process whose handler raised.
    pub(crate) fn ao_handler_error(&self) {
        self.shard().ao_handler_errors.fetch_add(1, Relaxed);
    }

    /// One audit record written by core (a decision or a lifecycle event; the sink's own summaries are not
    /// counted).
    pub(crate) fn audit_record(&self) {
        self.shard().audit_records.fetch_add(1, Relaxed);
    }

    /// One decision of `action`, allowed or not, from the cache or not, that took `nanos`.
    pub(crate) fn decision(&self, action: ActionSlot, allowed: bool, cached: bool, nanos: u64) {
        let shard = self.shard();
        if let Some(slot) = shard
            .decisions
            .get(action.0)
            .and_then(|a| a.get(usize::from(allowed)))
            .and_then(|d| d.get(usize::from(cached)))
        {
            slot.fetch_add(1, Relaxed);
        }
        let bucket = DECISION_BUCKETS_NS.iter().position(|upper| nanos <= *upper).unwrap_or(DECISION_BUCKETS_NS.len());
        if let Some(slot) = shard.latency.get(bucket) {
            slot.fetch_add(1, Relaxed);
        }
        shard.latency_sum_ns.fetch_add(nanos, Relaxed);
    }

    /// The sum over the shards of the counter `pick` chooses.
    fn sum(&self, pick: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards.iter().map(|s| pick(s).load(Relaxed)).fold(0, u64::saturating_add)
    }

    /// What the counters hold now (each read Relaxed: counts of one snapshot may be a few increments apart).
    pub fn snapshot(&self) -> Snapshot {
        let add = |total: &mut u64, a: &AtomicU64| *total = total.saturating_add(a.load(Relaxed));
        let mut exit_counts = [0u64; EXIT_REASONS.len()];
        let mut decision_counts = [[[0u64; 2]; 2]; ACTIONS.len()];
        let mut latency = [0u64; DECISION_BUCKETS.len() + 1];
        for shard in self.shards.iter() {
            exit_counts.iter_mut().zip(&shard.exits).for_each(|(t, a)| add(t, a));
            for (by_allowed, shard_allowed) in decision_counts.iter_mut().zip(&shard.decisions) {
                for (by_cached, shard_cached) in by_allowed.iter_mut().zip(shard_allowed) {
                    by_cached.iter_mut().zip(shard_cached).for_each(|(t, a)| add(t, a));
                }
            }
            latency.iter_mut().zip(&shard.latency).for_each(|(t, a)| add(t, a));
        }
        let exits: Vec<(&'static str, u64)> =
            EXIT_REASONS.iter().zip(exit_counts).map(|(reason, n)| (reason.as_str(), n)).collect();
        let exits_of = |reason: ExitReason| exit_counts.get(exit_slot(reason)).copied().unwrap_or(0);
        let limit_exits =
            vec![("memory", exits_of(ExitReason::LimitMemory)), ("compute", exits_of(ExitReason::LimitCompute))];
        let mut decisions = Vec::new();
        for (action, by_allowed) in ACTIONS.iter().zip(&decision_counts) {
            for (allowed, by_cached) in by_allowed.iter().enumerate() {
                for (cached, count) in by_cached.iter().enumerate() {
                    decisions.push(DecisionCount {
                        action,
                        decision: if allowed == 1 { "allow" } else { "deny" },
                        cached: cached == 1,
                        count: *count,
                    });
                }
            }
        }
        let mut cumulative = 0u64;
        let mut buckets = Vec::with_capacity(DECISION_BUCKETS.len());
        for (upper, n) in DECISION_BUCKETS.iter().zip(&latency) {
            cumulative = cumulative.saturating_add(*n);
            buckets.push((*upper, cumulative));
        }
        let count = cumulative.saturating_add(latency.last().copied().unwrap_or(0));
        Snapshot {
            spawns: self.sum(|s| &s.spawns),
            exits,
            messages: self.sum(|s| &s.messages),
            decisions,
            decision_seconds: Histogram { buckets, count, sum_seconds: self.sum(|s| &s.latency_sum_ns) as f64 / 1e9 },
            audit_records: self.sum(|s| &s.audit_records),
            mailbox_overflows: self.sum(|s| &s.mailbox_overflows),
            ao_unhandled: self.sum(|s| &s.ao_unhandled),
            ao_handler_errors: self.sum(|s| &s.ao_handler_errors),
            limit_exits,
        }
    }
}

/// The counters at one moment, for the Prometheus exporter (`corral_*` metric names in `node.md`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    /// `corral_spawns_total`: processes started (root, API, Lua and services alike).
    pub spawns: u64,
    /// `corral_exits_total` by `reason` (every [`ExitReason`], as [`ExitReason::as_str`], zeros included).
    pub exits: Vec<(&'static str, u64)>,
    /// `corral_messages_total`: messages delivered into mailboxes (sends from processes and the API).
    pub messages: u64,
    /// `corral_decisions_total` by `action`, `decision` and `cached` (every combination, zeros included).
    pub decisions: Vec<DecisionCount>,
    /// `corral_decision_seconds`: how long deciding took (policy evaluation or the cache), per decision.
    pub decision_seconds: Histogram,
    /// `corral_audit_records_total`: records core wrote (decisions and lifecycle events).
    pub audit_records: u64,
    /// `corral_mailbox_overflows_total`: messages a full mailbox refused.
    pub mailbox_overflows: u64,
    /// `corral_ao_unhandled_total`: messages of AO processes that no handler took (`models.md`).
    pub ao_unhandled: u64,
    /// `corral_ao_handler_errors_total`: messages of AO processes whose handler raised.
    pub ao_handler_errors: u64,
    /// `corral_limit_exits_total` by `limit` (`memory`, `compute`): the `limit.*` exits.
    pub limit_exits: Vec<(&'static str, u64)>,
}

/// One `corral_decisions_total` series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionCount {
    /// The action label, one of [`ACTIONS`].
    pub action: &'static str,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// Whether the decision came from the policy set's cache.
    pub cached: bool,
    /// How many.
    pub count: u64,
}

/// A latency histogram in Prometheus's shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    /// `(upper bound in seconds, decisions at or under it)`, cumulative, for [`DECISION_BUCKETS`]; `+Inf` is
    /// `count`.
    pub buckets: Vec<(f64, u64)>,
    /// Every decision.
    pub count: u64,
    /// Seconds spent, summed.
    pub sum_seconds: f64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slots_cover_every_action_and_name_lookups_agree() {
        let all = [
            Action::Spawn,
            Action::SpawnMonitored,
            Action::SpawnLinked,
            Action::Host,
            Action::Exec,
            Action::Send,
            Action::Terminate,
            Action::Cancel,
            Action::Monitor,
            Action::Unmonitor,
            Action::Link,
            Action::Unlink,
            Action::Context,
            Action::Security,
            Action::Register,
            Action::Unregister,
            Action::Upgrade,
            Action::Call,
        ];
        for action in all {
            assert_eq!(ActionSlot::from(action), ActionSlot::of_name(action.as_str()), "{action:?}");
        }
        for action in [NodeAction::Deploy, NodeAction::Remove, NodeAction::Inspect] {
            assert_eq!(ActionSlot::from(action), ActionSlot::of_name(action.as_str()), "{action:?}");
        }
        assert_eq!(ActionSlot::of_name("tenant.custom"), ActionSlot(OTHER));
        for reason in EXIT_REASONS {
            assert_eq!(EXIT_REASONS[exit_slot(reason)], reason);
        }
        for (ns, s) in DECISION_BUCKETS_NS.iter().zip(DECISION_BUCKETS) {
            assert!((*ns as f64 / 1e9 - s).abs() < 1e-12, "{ns} ns is {s} s");
        }
    }

    #[test]
    fn counts_from_many_threads_add_up_across_the_shards() {
        let counters = std::sync::Arc::new(Counters::new());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let counters = counters.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        counters.message();
                        counters.decision(Action::Send.into(), true, true, 700);
                    }
                    counters.exit(ExitReason::LimitMemory);
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let snap = counters.snapshot();
        assert_eq!(snap.messages, 8000);
        let sends = snap.decisions.iter().find(|d| d.action == "process.send" && d.decision == "allow" && d.cached);
        assert_eq!(sends.map(|d| d.count), Some(8000));
        assert_eq!(snap.decision_seconds.count, 8000);
        assert_eq!(snap.decision_seconds.buckets[0], (1e-6, 8000), "700 ns is in the first bucket");
        assert_eq!(snap.limit_exits[0], ("memory", 8));
    }

    #[test]
    fn a_snapshot_counts_decisions_by_action_decision_and_cache_and_buckets_latency() {
        let counters = Counters::new();
        counters.decision(Action::Send.into(), true, true, 500);
        counters.decision(Action::Send.into(), true, true, 3_000);
        counters.decision(Action::Send.into(), false, false, 1_000_000_000);
        counters.exit(ExitReason::LimitMemory);
        let snap = counters.snapshot();
        let count = |action: &str, decision: &str, cached: bool| {
            snap.decisions
                .iter()
                .find(|d| d.action == action && d.decision == decision && d.cached == cached)
                .map(|d| d.count)
        };
        assert_eq!(count("process.send", "allow", true), Some(2));
        assert_eq!(count("process.send", "deny", false), Some(1));
        assert_eq!(count("process.spawn", "allow", false), Some(0));
        assert_eq!(snap.decisions.len(), ACTIONS.len() * 4);
        assert_eq!(snap.decision_seconds.count, 3);
        assert_eq!(snap.decision_seconds.buckets.first(), Some(&(1e-6, 1)));
        assert_eq!(snap.decision_seconds.buckets.last(), Some(&(1e-2, 2)), "the slow one is only in +Inf");
        assert!((snap.decision_seconds.sum_seconds - 1.0000035).abs() < 1e-9);
        assert_eq!(snap.limit_exits, [("memory", 1), ("compute", 0)]);
        assert!(snap.exits.contains(&("limit.memory", 1)));
    }
}
