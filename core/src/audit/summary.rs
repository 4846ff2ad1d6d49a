//! Counted summaries of repeated cached allows (`[audit] allows = "summary"`, `docs/audit-log.md`).
//!
//! The first allow of a request is evaluated and written as its own `authz.decision`; the same request
//! allowed again from the decision cache is counted into an open `authz.summary` slot keyed by (caller,
//! action, resource, topic or other context, policy revision). A slot is written when its interval ends, when its caller or
//! target exits, on a policy reload, at shutdown and when it is full. Each summary lists the `op` ids it
//! stands for as arithmetic runs, so `corral audit verify` can check that its count is the number of its ops
//! and that no op is in two records.
//!
//! [`Summaries`] is the bookkeeping only (no I/O, no clock of its own: every call is given the time), so it is
//! tested with injected instants; the sink ([`super::JsonlAudit`]) reserves each slot's space when it opens
//! and writes the records.

use std::collections::VecDeque;

use hashbrown::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use corral_policy::{AttrValue, Resource};

use super::records::RequestContext;
use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

/// The kind of a counted summary record.
pub const SUMMARY: &str = "authz.summary";

/// The default summary interval (`[audit] summary_interval`): a slot is written at most this long (1 s)
/// after its first allow.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(1);

/// The longest `[audit] summary_interval` accepted (1 h): what a crash can lose of the summarised allows.
pub const MAX_SUMMARY_INTERVAL: Duration = Duration::from_secs(3600);

/// The most runs (`[start, step, count]`) one summary lists; an op that would need another run writes the
/// slot and opens a new one. Bounds a summary's bytes, so its space can be reserved when it opens.
pub const MAX_RUNS: usize = 32;

/// The most allows one summary counts (2^20); `corral audit verify` refuses a summary claiming more.
pub const MAX_COUNT: u64 = 1 << 20;

/// A cached allow offered to the sink ([`super::AuditSink::summarise`]): everything its `authz.decision` would
/// hold except the time and the evaluation time, with the request's context beyond the caller's `pid` (its
/// `topic`, or the rest of it in `context`), so the summary says exactly what was asked.
#[derive(Clone, Copy, Debug)]
pub struct CachedAllow<'a> {
    /// The node and incarnation of the records (`None` before the runtime set them).
    pub origin: Option<(&'a str, u64)>,
    /// The operation id.
    pub op: u64,
    /// The calling process (a PID as text).
    pub pid: &'a str,
    /// The caller's entry.
    pub entry: Option<&'a str>,
    /// The caller's actor id.
    pub principal: &'a str,
    /// The Cedar action id.
    pub action: &'a str,
    /// The resource.
    pub resource: &'a Resource,
    /// `context.topic`, for a send.
    pub topic: Option<&'a str>,
    /// The rest of the request's context beyond `pid` and `topic`: empty for a send, the host, entry, child
    /// actor and scopes for a spawn (written as the summary's `context`).
    pub context: &'a [(String, AttrValue)],
    /// The revision of the policy set that allowed.
    pub revision: &'a Arc<str>,
    /// The permits that allowed.
    pub policies: &'a Arc<[String]>,
    /// The caller's scopes.
    pub scopes: &'a Arc<[String]>,
    /// Where this allow's key was counted last, when the caller knows the key is that one's
    /// ([`SlotHint`]); `None` to find the slot by the key.
    pub hint: Option<&'a SlotHint>,
}

/// Where a repeated allow was counted last: its slot (by the [`Summaries`] that holds it, the hash of its key
/// and its id), so the next allow of the same key finds the slot without hashing or comparing the key.
///
/// The gate keeps one beside each decision a process remembers, and offers it only with an allow of that
/// same decision's key (`gate.rs`, `Memo`). A hint that names no open slot (written since) is ignored.
#[derive(Debug, Default)]
pub struct SlotHint(std::cell::Cell<Option<(u64, u64, u64)>>);

impl SlotHint {
    fn get(&self, tag: u64) -> Option<(u64, u64)> {
        self.0.get().filter(|(t, _, _)| *t == tag).map(|(_, hash, id)| (hash, id))
    }

    fn set(&self, tag: u64, hash: u64, id: u64) {
        self.0.set(Some((tag, hash, id)));
    }
}

impl CachedAllow<'_> {
    fn same_key(&self, slot: &Slot) -> bool {
        slot.pid == self.pid
            && slot.action == self.action
            && slot.resource == *self.resource
            && slot.topic.as_deref() == self.topic
            && *slot.context == *self.context
            && *slot.revision == **self.revision
            && slot.principal == self.principal
    }
}

/// One open summary: its key, the allows counted, and the space reserved for its record.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    origin: Option<(String, u64)>,
    pid: String,
    entry: Option<String>,
    principal: String,
    action: String,
    resource: Resource,
    topic: Option<String>,
    context: Box<[(String, AttrValue)]>,
    revision: Arc<str>,
    policies: Arc<[String]>,
    scopes: Arc<[String]>,
    count: u64,
    /// `[start, step, count]`, ascending and not overlapping; `step` is 0 in a run of one.
    runs: Vec<[u64; 3]>,
    first_ts: SystemTime,
    last_ts: SystemTime,
    reserved: u64,
}

impl Slot {
    /// The allows it counts.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The op ids it stands for as runs `[start, step, count]`.
    pub fn runs(&self) -> &[[u64; 3]] {
        &self.runs
    }

    /// The bytes reserved for its record when it opened.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    fn last_op(&self) -> u64 {
        last_op(&self.runs)
    }

    fn target(&self) -> Option<&str> {
        match &self.resource {
            Resource::Process { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Counts `op` if it extends this slot. `false`: the slot is full or `op` is not after its last op.
    fn take(&mut self, op: u64, wall: SystemTime) -> bool {
        if self.count >= MAX_COUNT || op <= self.last_op() {
            return false;
        }
        let runs = self.runs.len();
        match self.runs.last_mut() {
            Some(run) if run[2] == 1 => {
                run[1] = op - run[0];
                run[2] = 2;
            }
            Some(run) if op == run[0] + run[1] * run[2] => run[2] += 1,
            _ if runs < MAX_RUNS => self.runs.push([op, 0, 1]),
            _ => return false,
        }
        self.count += 1;
        self.last_ts = wall;
        true
    }

    /// The record's fields, in the order they are written.
    fn record(&self) -> SummaryRecord<'_> {
        let key = CachedAllow {
            origin: self.origin.as_ref().map(|(node, incarnation)| (node.as_str(), *incarnation)),
            op: 0,
            pid: &self.pid,
            entry: self.entry.as_deref(),
            principal: &self.principal,
            action: &self.action,
            resource: &self.resource,
            topic: self.topic.as_deref(),
            context: &self.context,
            revision: &self.revision,
            policies: &self.policies,
            scopes: &self.scopes,
            hint: None,
        };
        summary_record(&key, self.count, &self.runs, self.first_ts, self.last_ts)
    }

    /// Appends the record's fields as one JSON object. Errors: none in practice (JSON holds every field).
    pub fn write_object(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        self.record().write_fields(out)
    }

    /// The most bytes [`Slot::write_object`] can write for a slot of `allow`'s key, however it fills up:
    /// every number at its widest and [`MAX_RUNS`] runs.
    pub fn bound(allow: &CachedAllow<'_>) -> u64 {
        // The record of a slot of this key with no runs and the widest count, borrowed from the allow (no
        // slot is made for it).
        let widest = summary_record(allow, u64::MAX, &[], SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH);
        let mut out = Vec::with_capacity(1024);
        let base = widest.write_fields(&mut out).map_or(4096, |()| out.len() as u64);
        // `"ops":[]` grows by at most MAX_RUNS runs of three 20-digit numbers: `[n,n,n],`; first_op and
        // last_op by 19 digits each over the 0 written here.
        base + MAX_RUNS as u64 * (3 * 20 + 4) + 2 * 19
    }

    fn of(allow: &CachedAllow<'_>, id: u64, wall: SystemTime) -> Slot {
        Slot {
            id,
            origin: allow.origin.map(|(n, i)| (n.to_string(), i)),
            pid: allow.pid.to_string(),
            entry: allow.entry.map(str::to_string),
            principal: allow.principal.to_string(),
            action: allow.action.to_string(),
            resource: allow.resource.clone(),
            topic: allow.topic.map(str::to_string),
            context: allow.context.into(),
            revision: Arc::clone(allow.revision),
            policies: Arc::clone(allow.policies),
            scopes: Arc::clone(allow.scopes),
            count: 1,
            runs: vec![[allow.op, 0, 1]],
            first_ts: wall,
            last_ts: wall,
            reserved: 0,
        }
    }
}

/// The last op id of `runs` (0 for none).
fn last_op(runs: &[[u64; 3]]) -> u64 {
    runs.last().map_or(0, |[start, step, n]| start + step * n.saturating_sub(1))
}

/// The `authz.summary` record of a slot of `key`'s key holding `count` allows in `runs`, first and last
/// counted at `first_ts` and `last_ts`: what a slot writes, and what [`Slot::bound`] measures.
fn summary_record<'a>(
    key: &CachedAllow<'a>,
    count: u64,
    runs: &'a [[u64; 3]],
    first_ts: SystemTime,
    last_ts: SystemTime,
) -> SummaryRecord<'a> {
    let (target_entry, target_actor) = match key.resource {
        Resource::Process { entry, actor, .. } => (Some(&**entry), Some(&**actor)),
        _ => (None, None),
    };
    SummaryRecord {
        node: key.origin.map(|(node, _)| node),
        incarnation: key.origin.map(|(_, incarnation)| incarnation),
        principal: key.principal,
        action: key.action,
        resource: Shown(key.resource),
        target_entry,
        target_actor,
        topic: key.topic,
        context: (!key.context.is_empty()).then_some(RequestContext { attrs: key.context, payload_bytes: None }),
        decision: "allow",
        basis: "permit",
        policies: key.policies,
        revision: key.revision,
        cached: true,
        pid: key.pid,
        entry: key.entry,
        scopes: key.scopes,
        count,
        first_op: runs.first().map_or(0, |r| r[0]),
        last_op: last_op(runs),
        ops: Runs(runs),
        first_ts: Ts(first_ts),
        last_ts: Ts(last_ts),
        level: "metadata",
    }
}

/// What [`Summaries::count`] did with an allow.
#[derive(Debug)]
pub enum Counted {
    /// Counted into its open slot.
    Counted,
    /// No slot is open for its key: open one ([`Summaries::open`]) once its space is reserved.
    Absent,
    /// Its slot is full (or the allow would need a run more than [`MAX_RUNS`]): here it is, taken out, to be
    /// written; then open a new one.
    Full(Box<Slot>),
    /// Its op is not after the slot's last (a concurrent check of the same caller finished first): write it
    /// as its own `authz.decision`.
    Unordered,
}

/// The open summary slots of a sink, with when each is due.
#[derive(Debug)]
pub struct Summaries {
    interval: Duration,
    /// foldhash, seeded per instance: the key holds tenant strings (topics), so a seed an attacker cannot
    /// know, but not SipHash's cost on every cached allow.
    hasher: foldhash::fast::RandomState,
    /// This instance's tag in the [`SlotHint`]s it sets (slot ids are per instance).
    tag: u64,
    /// Slots by the hash of their key (a collision shares a bucket).
    slots: HashMap<u64, Vec<Slot>>,
    /// (due, hash, slot id), in the order the slots opened: with one interval, in due order. An entry whose
    /// slot was written early is skipped.
    due: VecDeque<(Instant, u64, u64)>,
    /// PID (caller or target) -> its open slots as (hash, id): an exit takes its slots without a scan.
    by_pid: HashMap<String, Vec<(u64, u64)>>,
    /// Keys (by hash) whose first cached allow of the last interval was written alone, with when: a slot
    /// opens only when a key repeats within an interval, so a key that does not (a ring larger than an
    /// interval's traffic) costs one plain record per allow, not a summary each.
    seen: HashMap<u64, Instant>,
    /// `seen` in the order it filled, for expiry.
    seen_order: VecDeque<(Instant, u64)>,
    open: usize,
    next_id: u64,
}

impl Summaries {
    /// No open slots; each slot is due `interval` after it opens.
    pub fn new(interval: Duration) -> Summaries {
        let hasher = foldhash::fast::RandomState::default();
        Summaries {
            interval,
            tag: hasher.hash_one(SUMMARY),
            hasher,
            slots: HashMap::new(),
            due: VecDeque::new(),
            by_pid: HashMap::new(),
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
            open: 0,
            next_id: 1,
        }
    }

    /// How many slots are open.
    pub fn len(&self) -> usize {
        self.open
    }

    /// Whether no slot is open.
    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    fn hash(&self, allow: &CachedAllow<'_>) -> u64 {
        let mut h = self.hasher.build_hasher();
        allow.pid.hash(&mut h);
        allow.action.hash(&mut h);
        allow.resource.hash(&mut h);
        allow.topic.hash(&mut h);
        allow.context.hash(&mut h);
        allow.revision.hash(&mut h);
        h.finish()
    }

    /// Counts `allow` (at wall-clock time `wall`) into its open slot if it can; see [`Counted`].
    pub fn count(&mut self, allow: &CachedAllow<'_>, wall: SystemTime) -> Counted {
        // A hint of this instance holds the key's hash (the hint's promise: the allow's key is the one it was
        // set for), and names the slot it went to, when that is still open; otherwise the key finds it.
        let hinted = allow.hint.and_then(|hint| hint.get(self.tag));
        let hash = match hinted {
            Some((hash, _)) => hash,
            None => self.hash(allow),
        };
        let Some(bucket) = self.slots.get_mut(&hash) else { return Counted::Absent };
        let by_hint = hinted.and_then(|(_, id)| bucket.iter().position(|s| s.id == id));
        let Some(at) = by_hint.or_else(|| bucket.iter().position(|s| allow.same_key(s))) else {
            return Counted::Absent;
        };
        if bucket[at].take(allow.op, wall) {
            if let Some(hint) = allow.hint {
                hint.set(self.tag, hash, bucket[at].id);
            }
            return Counted::Counted;
        }
        if allow.op <= bucket[at].last_op() {
            return Counted::Unordered;
        }
        let id = bucket[at].id;
        match self.remove(hash, id) {
            Some(slot) => Counted::Full(Box::new(slot)),
            None => Counted::Absent,
        }
    }

    /// Whether `allow` (whose key has no open slot) is its key's first cached allow within an interval at
    /// `now`: then it is remembered and should be written as its own record; `false` (it repeats): open a
    /// slot for it. Forgets what is older than an interval, so it holds at most an interval's keys.
    pub fn first_sighting(&mut self, allow: &CachedAllow<'_>, now: Instant) -> bool {
        while let Some(&(at, hash)) = self.seen_order.front() {
            if at + self.interval > now {
                break;
            }
            self.seen_order.pop_front();
            if self.seen.get(&hash) == Some(&at) {
                self.seen.remove(&hash);
            }
        }
        let hash = self.hash(allow);
        if self.seen.remove(&hash).is_some() {
            return false;
        }
        self.seen.insert(hash, now);
        self.seen_order.push_back((now, hash));
        true
    }

    /// Opens a slot for `allow`'s key holding `allow`, due at `now` plus the interval, with `reserved` bytes
    /// set aside for its record. Call after [`Summaries::count`] said [`Counted::Absent`] or
    /// [`Counted::Full`].
    pub fn open(&mut self, allow: &CachedAllow<'_>, now: Instant, wall: SystemTime, reserved: u64) {
        let hash = self.hash(allow);
        let id = self.next_id;
        self.next_id += 1;
        let slot = Slot { reserved, ..Slot::of(allow, id, wall) };
        if let Some(hint) = allow.hint {
            hint.set(self.tag, hash, id);
        }
        self.by_pid.entry(slot.pid.clone()).or_default().push((hash, id));
        if let Some(target) = slot.target().filter(|t| *t != slot.pid) {
            self.by_pid.entry(target.to_string()).or_default().push((hash, id));
        }
        self.slots.entry(hash).or_default().push(slot);
        self.due.push_back((now + self.interval, hash, id));
        self.open += 1;
    }

    /// When the earliest slot is due, if any is open (possibly a slot already written: a harmless early wake).
    pub fn next_due(&self) -> Option<Instant> {
        self.due.front().map(|(at, _, _)| *at)
    }

    /// Takes out the slots due at `now` (their interval has ended), oldest first.
    pub fn due(&mut self, now: Instant) -> Vec<Slot> {
        let mut out = Vec::new();
        while let Some(&(at, hash, id)) = self.due.front() {
            if at > now {
                break;
            }
            self.due.pop_front();
            if let Some(slot) = self.remove(hash, id) {
                out.push(slot);
            }
        }
        out
    }

    fn remove(&mut self, hash: u64, id: u64) -> Option<Slot> {
        let bucket = self.slots.get_mut(&hash)?;
        let at = bucket.iter().position(|s| s.id == id)?;
        let slot = bucket.swap_remove(at);
        if bucket.is_empty() {
            self.slots.remove(&hash);
        }
        self.open -= 1;
        self.unindex(&slot.pid, id);
        if let Some(target) = slot.target() {
            self.unindex(target, id);
        }
        Some(slot)
    }

    /// Forgets that `pid` has the slot `id` open (the slot was taken out).
    fn unindex(&mut self, pid: &str, id: u64) {
        if let Some(open) = self.by_pid.get_mut(pid) {
            open.retain(|&(_, i)| i != id);
            if open.is_empty() {
                self.by_pid.remove(pid);
            }
        }
    }

    /// Takes out the slots whose caller or target is `pid` (it exits), oldest first.
    pub fn take_of(&mut self, pid: &str) -> Vec<Slot> {
        let open = self.by_pid.remove(pid).unwrap_or_default();
        let mut out: Vec<Slot> = open.into_iter().filter_map(|(hash, id)| self.remove(hash, id)).collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// Takes out every open slot (a reload, shutdown, a sync), oldest first.
    pub fn take_all(&mut self) -> Vec<Slot> {
        let mut out: Vec<Slot> = self.slots.drain().flat_map(|(_, bucket)| bucket).collect();
        self.due.clear();
        self.by_pid.clear();
        self.open = 0;
        out.sort_by_key(|s| s.id);
        out
    }
}

/// The fields of an `authz.summary` record (`docs/audit-log.md`).
#[derive(Serialize)]
struct SummaryRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incarnation: Option<u64>,
    principal: &'a str,
    action: &'a str,
    resource: Shown<'a, Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_entry: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<RequestContext<'a>>,
    decision: &'static str,
    basis: &'static str,
    policies: &'a [String],
    revision: &'a str,
    cached: bool,
    pid: &'a str,
    entry: Option<&'a str>,
    scopes: &'a [String],
    count: u64,
    first_op: u64,
    last_op: u64,
    ops: Runs<'a>,
    first_ts: Ts,
    last_ts: Ts,
    level: &'static str,
}

impl SummaryRecord<'_> {
    /// Appends the record as one JSON object, field by field ([`super::records::JsonObject`]): the bytes its
    /// `Serialize` writes (a test holds them to it). Errors: a context attribute JSON cannot hold.
    fn write_fields(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let mut o = super::records::JsonObject::open(out);
        o.str_if("node", self.node);
        o.u64_if("incarnation", self.incarnation);
        o.str("principal", self.principal);
        o.str("action", self.action);
        o.resource("resource", self.resource.0);
        o.str_if("target_entry", self.target_entry);
        o.str_if("target_actor", self.target_actor);
        o.str_if("topic", self.topic);
        if let Some(context) = &self.context {
            o.serde("context", context)?;
        }
        o.constant("decision", self.decision);
        o.constant("basis", self.basis);
        o.strs("policies", self.policies);
        o.str("revision", self.revision);
        o.bool("cached", self.cached);
        o.str("pid", self.pid);
        o.opt_str("entry", self.entry);
        o.strs("scopes", self.scopes);
        o.u64("count", self.count);
        o.u64("first_op", self.first_op);
        o.u64("last_op", self.last_op);
        o.u64_triples("ops", self.ops.0);
        o.time("first_ts", self.first_ts.0);
        o.time("last_ts", self.last_ts.0);
        o.constant("level", self.level);
        o.close();
        Ok(())
    }
}

/// A value serialised as the JSON string of its `Display`. With [`Runs`] and [`Ts`], it gives
/// [`SummaryRecord`] the `Serialize` that a test holds [`SummaryRecord::write_fields`] to.
struct Shown<'a, T: std::fmt::Display>(&'a T);

impl<T: std::fmt::Display> Serialize for Shown<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// Runs as `[[start, step, count], ...]`.
struct Runs<'a>(&'a [[u64; 3]]);

impl Serialize for Runs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for run in self.0 {
            seq.serialize_element(run)?;
        }
        seq.end()
    }
}

/// A time written as RFC 3339 ([`super::write_rfc3339`]).
struct Ts(SystemTime);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::with_capacity(super::RFC3339_LEN);
        super::write_rfc3339(&mut buf, self.0);
        serializer.serialize_str(std::str::from_utf8(&buf).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Key {
        resource: Resource,
        revision: Arc<str>,
        policies: Arc<[String]>,
        scopes: Arc<[String]>,
    }

    fn key(target: &str) -> Key {
        Key {
            resource: Resource::Process {
                pid: target.into(),
                entry: "app:ponger".into(),
                host: "app:processes".into(),
                actor: "user:bob".into(),
            },
            revision: Arc::from("rev1"),
            policies: Arc::from(vec!["alice.send".to_string()]),
            scopes: Arc::from(Vec::<String>::new()),
        }
    }

    fn allow<'a>(key: &'a Key, pid: &'a str, topic: &'a str, op: u64) -> CachedAllow<'a> {
        CachedAllow {
            origin: Some(("local", 7)),
            op,
            pid,
            entry: Some("app:main"),
            principal: "user:alice",
            action: "process.send",
            resource: &key.resource,
            topic: Some(topic),
            context: &[],
            revision: &key.revision,
            policies: &key.policies,
            scopes: &key.scopes,
            hint: None,
        }
    }

    /// Counts `allow`, opening its slot when absent or full; the slots written on the way.
    fn feed(summaries: &mut Summaries, allow: &CachedAllow<'_>, now: Instant) -> Vec<Slot> {
        let wall = SystemTime::UNIX_EPOCH;
        match summaries.count(allow, wall) {
            Counted::Counted | Counted::Unordered => Vec::new(),
            Counted::Absent => {
                summaries.open(allow, now, wall, Slot::bound(allow));
                Vec::new()
            }
            Counted::Full(slot) => {
                summaries.open(allow, now, wall, Slot::bound(allow));
                vec![*slot]
            }
        }
    }

    fn record(slot: &Slot) -> serde_json::Value {
        let mut out = Vec::new();
        assert!(slot.write_object(&mut out).is_ok());
        serde_json::from_slice(&out).unwrap_or_default()
    }

    /// A summary written field by field is byte for byte what its `Serialize` writes, with and without the
    /// optional fields, escapes, a context and several runs.
    #[test]
    fn a_summary_is_written_as_serde_json_writes_it() {
        let plain = key("{local@7|app:processes|2}");
        let odd = Key { resource: Resource::Name { name: "we\"ird\\name\n".into() }, ..key("x") };
        let context =
            [("payload_bytes".to_string(), AttrValue::Long(12)), ("tag".to_string(), AttrValue::Str("a\"b".into()))];
        let runs = [[1, 2, 3], [40, 1, 7], [u64::MAX, 0, 1]];
        for k in [&plain, &odd] {
            let mut with = allow(k, "{local@7|app:processes|1}", "t\u{1}opic", 1);
            let mut without = with;
            without.origin = None;
            without.topic = None;
            without.entry = None;
            with.context = &context;
            for a in [&with, &without] {
                for runs in [&runs[..], &[]] {
                    let record = summary_record(a, 5, runs, SystemTime::UNIX_EPOCH, SystemTime::now());
                    let mut ours = Vec::new();
                    assert!(record.write_fields(&mut ours).is_ok());
                    let theirs = serde_json::to_vec(&record).unwrap_or_default();
                    assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
                }
            }
        }
    }

    #[test]
    fn interleaved_ops_are_one_run_and_the_count_is_every_allow() {
        let k = key("p2");
        let start = Instant::now();
        let mut s = Summaries::new(Duration::from_secs(1));
        // A ping-pong: this caller's sends are every other op.
        for op in (3..2001).step_by(2) {
            assert!(feed(&mut s, &allow(&k, "p1", "ping", op), start).is_empty());
        }
        assert_eq!(s.len(), 1);
        let slots = s.take_all();
        assert_eq!(slots.len(), 1);
        assert_eq!(slots[0].count(), 999);
        assert_eq!(slots[0].runs(), &[[3, 2, 999]]);
        let r = record(&slots[0]);
        assert_eq!(r["count"], 999);
        assert_eq!(r["first_op"], 3);
        assert_eq!(r["last_op"], 1999);
        assert_eq!(r["ops"], serde_json::json!([[3, 2, 999]]));
        assert_eq!(r["topic"], "ping");
        assert_eq!(r["resource"], "Process::\"p2\"");
        assert_eq!(r["target_actor"], "user:bob");
        assert!(s.is_empty());
    }

    #[test]
    fn each_key_has_its_own_slot() {
        let (k2, k3) = (key("p2"), key("p3"));
        let now = Instant::now();
        let mut s = Summaries::new(Duration::from_secs(1));
        feed(&mut s, &allow(&k2, "p1", "ping", 1), now);
        feed(&mut s, &allow(&k2, "p1", "other", 2), now);
        feed(&mut s, &allow(&k3, "p1", "ping", 3), now);
        feed(&mut s, &allow(&k2, "p9", "ping", 4), now);
        feed(&mut s, &allow(&k2, "p1", "ping", 5), now);
        let k2b = Key { revision: Arc::from("rev2"), ..key("p2") };
        feed(&mut s, &allow(&k2b, "p1", "ping", 6), now);
        assert_eq!(s.len(), 5);
        let counts: Vec<u64> = s.take_all().iter().map(Slot::count).collect();
        assert_eq!(counts, vec![2, 1, 1, 1, 1]);
    }

    #[test]
    fn a_slot_is_due_when_its_interval_ends() {
        let k = key("p2");
        let start = Instant::now();
        let mut s = Summaries::new(Duration::from_secs(1));
        feed(&mut s, &allow(&k, "p1", "ping", 1), start);
        feed(&mut s, &allow(&k, "p1", "ping", 2), start + Duration::from_millis(400));
        let k3 = key("p3");
        feed(&mut s, &allow(&k3, "p1", "ping", 3), start + Duration::from_millis(500));
        assert_eq!(s.next_due(), Some(start + Duration::from_secs(1)));
        assert!(s.due(start + Duration::from_millis(999)).is_empty());
        let due = s.due(start + Duration::from_secs(1));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].count(), 2);
        // The next allow of that key opens a new slot with a new interval.
        feed(&mut s, &allow(&k, "p1", "ping", 4), start + Duration::from_millis(1200));
        assert_eq!(s.due(start + Duration::from_millis(1500)).iter().map(Slot::count).collect::<Vec<_>>(), vec![1]);
        assert_eq!(s.due(start + Duration::from_millis(2199)).len(), 0);
        assert_eq!(s.due(start + Duration::from_millis(2200)).len(), 1);
        assert!(s.is_empty());
        assert_eq!(s.due(start + Duration::from_secs(10)).len(), 0);
    }

    #[test]
    fn an_exit_takes_the_slots_of_its_caller_and_its_target() {
        let (k2, k3) = (key("p2"), key("p3"));
        let now = Instant::now();
        let mut s = Summaries::new(Duration::from_secs(1));
        feed(&mut s, &allow(&k2, "p1", "ping", 1), now);
        feed(&mut s, &allow(&k3, "p1", "ping", 2), now);
        feed(&mut s, &allow(&k3, "p4", "ping", 3), now);
        let k1 = key("p1");
        feed(&mut s, &allow(&k1, "p5", "ping", 4), now);
        let of_p1 = s.take_of("p1");
        assert_eq!(of_p1.iter().map(|s| s.runs()[0][0]).collect::<Vec<_>>(), vec![1, 2, 4]);
        assert_eq!(s.len(), 1);
        assert!(s.take_of("p1").is_empty());
        // The slot written early is skipped when its time comes.
        assert_eq!(s.due(now + Duration::from_secs(1)).len(), 1);
        assert!(s.is_empty());
        assert!(s.by_pid.is_empty(), "the exit index keeps only open slots: {:?}", s.by_pid);
    }

    #[test]
    fn a_key_is_summarised_only_once_it_repeats_within_an_interval() {
        let (k2, k3) = (key("p2"), key("p3"));
        let now = Instant::now();
        let mut s = Summaries::new(Duration::from_secs(1));
        assert!(s.first_sighting(&allow(&k2, "p1", "ping", 1), now), "the first is written alone");
        assert!(s.first_sighting(&allow(&k3, "p1", "ping", 2), now), "so is another key's");
        assert!(!s.first_sighting(&allow(&k2, "p1", "ping", 3), now), "a repeat opens a slot");
        assert!(s.first_sighting(&allow(&k2, "p1", "ping", 4), now), "the sighting was used up");
        let later = now + Duration::from_secs(1);
        assert!(s.first_sighting(&allow(&k3, "p1", "ping", 5), later), "an interval later it is new again");
        assert_eq!(s.seen.len(), 1, "what is older than an interval is forgotten");
    }

    #[test]
    fn an_exit_among_many_open_slots_takes_only_its_own() {
        let keys: Vec<Key> = (0..1000).map(|i| key(&format!("t{i}"))).collect();
        let now = Instant::now();
        let mut s = Summaries::new(Duration::from_secs(1));
        for (i, k) in keys.iter().enumerate() {
            feed(&mut s, &allow(k, "caller", "ping", i as u64 + 1), now);
        }
        assert_eq!(s.take_of("t500").len(), 1, "the slot whose target exits");
        assert_eq!(s.len(), 999);
        assert_eq!(s.take_of("caller").len(), 999, "the caller's exit takes the rest");
        assert!(s.by_pid.is_empty() && s.is_empty());
    }

    #[test]
    fn a_full_slot_is_handed_back_and_out_of_order_ops_are_not_counted() {
        let k = key("p2");
        let now = Instant::now();
        let mut s = Summaries::new(Duration::from_secs(1));
        let mut written = Vec::new();
        // Gaps that never repeat need a run each.
        let mut op = 1;
        for i in 0..(MAX_RUNS as u64 + 1) * 2 {
            op += i + 1;
            written.extend(feed(&mut s, &allow(&k, "p1", "ping", op), now));
        }
        assert_eq!(written.len(), 1, "the slot filled once");
        assert_eq!(written[0].runs().len(), MAX_RUNS);
        let rest: u64 = s.take_all().iter().map(Slot::count).sum();
        assert_eq!(written[0].count() + rest, (MAX_RUNS as u64 + 1) * 2);
        let bound = Slot::bound(&allow(&k, "p1", "ping", 1));
        let mut out = Vec::new();
        assert!(written[0].write_object(&mut out).is_ok());
        assert!((out.len() as u64) <= bound, "{} > {bound}", out.len());

        feed(&mut s, &allow(&k, "p1", "ping", 10), now);
        assert!(matches!(s.count(&allow(&k, "p1", "ping", 9), SystemTime::UNIX_EPOCH), Counted::Unordered));
        assert!(matches!(s.count(&allow(&k, "p1", "ping", 10), SystemTime::UNIX_EPOCH), Counted::Unordered));
        assert_eq!(s.take_all()[0].count(), 1);
    }

    /// A repeat that carries its hint counts into the same slot, with the same runs, as one found by its key;
    /// the hint follows the slot when it fills and a new one opens.
    #[test]
    fn a_hinted_allow_counts_like_one_found_by_its_key() {
        let k = key("p2");
        let now = Instant::now();
        let (mut plain, mut hinted) = (Summaries::new(Duration::from_secs(1)), Summaries::new(Duration::from_secs(1)));
        let hint = SlotHint::default();
        let (mut written_plain, mut written_hinted) = (Vec::new(), Vec::new());
        let mut op = 1;
        for i in 0..(MAX_RUNS as u64 + 1) * 3 {
            op += i % 7 + 1;
            written_plain.extend(feed(&mut plain, &allow(&k, "p1", "ping", op), now));
            let with_hint = CachedAllow { hint: Some(&hint), ..allow(&k, "p1", "ping", op) };
            written_hinted.extend(feed(&mut hinted, &with_hint, now));
            assert!(hint.get(hinted.tag).is_some(), "the hint names the slot the allow went to");
        }
        written_plain.extend(plain.take_all());
        written_hinted.extend(hinted.take_all());
        let runs = |slots: &[Slot]| slots.iter().map(|s| (s.count(), s.runs().to_vec())).collect::<Vec<_>>();
        assert!(written_plain.len() > 1, "the slot filled at least once");
        assert_eq!(runs(&written_hinted), runs(&written_plain));
    }

    /// A hint is a promise about one slot of one instance: a hint set by another sink's summaries, or one
    /// naming a slot written since, is not followed into whatever slot now has that id.
    #[test]
    fn a_stale_or_foreign_hint_is_not_followed() {
        let (k2, k3) = (key("p2"), key("p3"));
        let now = Instant::now();
        let (mut a, mut b) = (Summaries::new(Duration::from_secs(1)), Summaries::new(Duration::from_secs(1)));
        let hint = SlotHint::default();
        // In `a` the hint names slot 1, of k3's key.
        feed(&mut a, &CachedAllow { hint: Some(&hint), ..allow(&k3, "p1", "ping", 1) }, now);
        // In `b` slot 1 is k2's. Even a hint of `a`'s with the very hash of that slot in `b` is not followed:
        // a k3 allow carrying it is not counted in k2's slot.
        feed(&mut b, &allow(&k2, "p1", "ping", 1), now);
        let foreign = SlotHint::default();
        foreign.set(a.tag, b.hash(&allow(&k2, "p1", "ping", 1)), 1);
        let k3_allow = CachedAllow { hint: Some(&foreign), ..allow(&k3, "p1", "ping", 2) };
        assert!(matches!(b.count(&k3_allow, SystemTime::UNIX_EPOCH), Counted::Absent));
        assert_eq!(b.take_all().iter().map(Slot::count).collect::<Vec<_>>(), [1]);
        // Once a's slot is written, the hint names nothing: the allow's key finds no slot.
        assert_eq!(a.take_of("p1").len(), 1);
        feed(&mut a, &allow(&k2, "p1", "ping", 3), now);
        let stale = CachedAllow { hint: Some(&hint), ..allow(&k3, "p1", "ping", 4) };
        assert!(matches!(a.count(&stale, SystemTime::UNIX_EPOCH), Counted::Absent));
        let left = a.take_all();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].resource, k2.resource, "k2's slot counted only k2's allow");
        assert_eq!(left[0].count(), 1);
    }

    /// The bound, written from the allow's own fields, is the one a slot of that key gives at its widest.
    #[test]
    fn the_bound_is_that_of_the_widest_slot_of_the_key() {
        let k = Key { resource: Resource::Entry { id: "app:\"w\"".into() }, ..key("p2") };
        let context = vec![("host".to_string(), AttrValue::from("app:a"))];
        for allow in [
            allow(&key("p3"), "p1", "t\n", 1),
            CachedAllow { context: &context, topic: None, ..allow(&k, "p1", "", 1) },
        ] {
            let widest = Slot { runs: Vec::new(), count: u64::MAX, ..Slot::of(&allow, 0, SystemTime::UNIX_EPOCH) };
            let mut out = Vec::new();
            assert!(widest.write_object(&mut out).is_ok());
            let runs = MAX_RUNS as u64 * (3 * 20 + 4) + 2 * 19;
            assert_eq!(Slot::bound(&allow), out.len() as u64 + runs);
        }
    }

    /// Spawns of one entry on two hosts are two summaries, each writing the context it counted.
    #[test]
    fn a_context_is_part_of_the_key_and_of_the_record() {
        let k = Key { resource: Resource::Entry { id: "app:worker".into() }, ..key("p2") };
        let on = |host: &str| vec![("host".to_string(), AttrValue::from(host)), ("entry".into(), "app:worker".into())];
        let (a, b) = (on("app:a"), on("app:b"));
        let spawn =
            |context, op| CachedAllow { action: "process.spawn", topic: None, context, ..allow(&k, "p1", "", op) };
        let mut s = Summaries::new(Duration::from_secs(1));
        let start = Instant::now();
        for op in 1..=6 {
            let context: &[(String, AttrValue)] = if op % 2 == 0 { &a } else { &b };
            assert!(feed(&mut s, &spawn(context, op), start).is_empty());
        }
        let slots = s.take_all();
        assert_eq!(slots.iter().map(Slot::count).collect::<Vec<_>>(), [3, 3]);
        let records: Vec<serde_json::Value> = slots.iter().map(record).collect();
        let hosts: Vec<&serde_json::Value> = records.iter().map(|r| &r["context"]["host"]).collect();
        assert_eq!(hosts, ["app:b", "app:a"]);
        assert!(records.iter().all(|r| r.get("topic").is_none() && r["context"]["entry"] == "app:worker"));
        let send = record(&{
            let mut s = Summaries::new(Duration::from_secs(1));
            feed(&mut s, &allow(&k, "p1", "t", 1), start);
            s.take_all().remove(0)
        });
        assert!(send.get("context").is_none(), "a send's summary has its topic only: {send}");
    }
}
