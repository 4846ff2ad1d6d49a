//! The reference dialect's event bus (`events.send`, `events.subscribe`; `docs/wippy-compat.md`, "events").
//!
//! Per runtime, no globals: the subscriptions live in the runtime's inner state. An event is
//! `{system, kind, path, data}`; each subscription has its own bounded queue (a [`Chan`] of at most
//! [`SUBSCRIPTION_QUEUE`] events and at most the subscriber's host's `max_message_bytes` of queued data,
//! charged to the subscriber's memory account while queued). The bus is best-effort, as the reference
//! documents it: an event that does not fit a subscriber's queue is dropped for that subscriber (the sender
//! is told how many it reached), so a slow subscriber never makes the host allocate without limit and never
//! slows the sender. A subscription ends when it is closed or when its process exits.
//!
//! Patterns: a system exactly (`orders`), every system under a prefix (`orders.*`: `orders.eu`,
//! `orders.eu.north`, not `orders` itself), or every system (`*`). Delivery looks up the exact system, each
//! of its dotted prefixes and `*`: a send costs its system's segments plus the subscribers it reaches.

use std::collections::BTreeSet;

use hashbrown::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Runtime;
use crate::chan::{Chan, Item};
use crate::error::{Error, Result};
use crate::gate::{OpKind, Operation, SubjectRef};
use crate::limits::{Account, Charge, check_bounded};
use crate::lock;
use crate::pid::Pid;
use crate::process::Process;
use crate::value::{Table, Value};

/// The most events one subscription queues; further events are dropped for it until it reads.
pub const SUBSCRIPTION_QUEUE: usize = 256;

/// The most subscriptions one process holds at once; over it `events.subscribe` is `LIMIT_EXCEEDED`.
pub const MAX_SUBSCRIPTIONS: usize = 64;

/// The subscriptions of one runtime.
#[derive(Default)]
pub(super) struct Bus {
    next: u64,
    subs: HashMap<u64, Sub>,
    /// pattern key (an exact system, a prefix ending in `.`, or `*`) -> subscriptions.
    by_key: HashMap<String, BTreeSet<u64>>,
    /// subscriber -> its subscriptions.
    of: HashMap<Pid, Vec<u64>>,
}

struct Sub {
    key: String,
    kind: Option<String>,
    chan: Chan,
    /// Bytes of event data queued for it now, and its bound.
    queued: Arc<AtomicUsize>,
    budget: usize,
    account: Arc<Account>,
    owner: Pid,
}

/// One subscription, as its process holds it: the channel its events arrive on. Closing it
/// ([`Runtime::unsubscribe_events`]) or the process's exit ends it and closes the channel.
#[derive(Clone)]
pub struct Subscription {
    id: u64,
    chan: Chan,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("id", &self.id).field("chan", &self.chan.id()).finish()
    }
}

impl Subscription {
    /// The channel events arrive on, each an item whose values are one table `{system, kind, path, data}`
    /// (see [`QueuedEvent`]).
    pub fn chan(&self) -> &Chan {
        &self.chan
    }
}

/// An event in a subscription's queue (an [`Item::Local`] of this type): its value, a table
/// `{system, kind, path, data}` shared by every subscriber. While queued it counts against the
/// subscription's byte bound and is charged to the subscriber's memory account; both are released when it
/// is taken (or dropped with the channel).
pub struct QueuedEvent {
    /// The event table, as one value.
    pub value: Arc<[Value]>,
    bytes: usize,
    queued: Arc<AtomicUsize>,
    _charge: Charge,
}

impl Drop for QueuedEvent {
    fn drop(&mut self) {
        self.queued.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// What a send reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Subscriptions that queued the event.
    pub delivered: usize,
    /// Matching subscriptions whose queue was full (count or bytes): the event was dropped for them.
    pub dropped: usize,
}

/// The key a pattern is filed under. Errors: `Invalid` for an empty pattern, one over
/// [`crate::limits::MAX_NAME_BYTES`], or a `*` anywhere but as the whole pattern or its last segment.
fn pattern_key(pattern: &str) -> Result<String> {
    check_bounded("event system pattern", pattern)?;
    if pattern.is_empty() {
        return Err(Error::Invalid("event system must not be empty".into()));
    }
    if pattern == "*" {
        return Ok("*".into());
    }
    let (head, wild) = match pattern.strip_suffix(".*") {
        Some(head) => (head, true),
        None => (pattern, false),
    };
    if head.is_empty() || head.contains('*') {
        return Err(Error::Invalid(format!(
            "event system pattern `{pattern}`: `*` may only be the whole pattern or its last segment (`orders.*`)"
        )));
    }
    Ok(if wild { format!("{head}.") } else { head.to_string() })
}

/// A system, kind or path of a sent event: non-empty and bounded. Errors: `Invalid` naming `what`.
fn field(what: &str, text: &str) -> Result<()> {
    check_bounded(what, text)?;
    if text.is_empty() {
        return Err(Error::Invalid(format!("{what} must not be empty")));
    }
    Ok(())
}

impl Runtime {
    /// `events.subscribe(pattern, kind?)`: a subscription of `from` to events whose system matches `pattern`
    /// (and whose kind is `kind`, when given). Decided as `events.subscribe` on `EventSystem::"<pattern>"`
    /// with `context.kind`. Errors: `Invalid` for a bad pattern or an empty or over-long kind,
    /// `PermissionDenied`, `LimitExceeded` past [`MAX_SUBSCRIPTIONS`], `NotFound` when `from` has exited.
    pub fn subscribe_events(&self, from: &Arc<Process>, pattern: &str, kind: Option<&str>) -> Result<Subscription> {
        let key = pattern_key(pattern)?;
        if let Some(kind) = kind {
            field("event kind", kind)?;
        }
        let full = |bus: &Bus| bus.of.get(from.pid()).map_or(0, Vec::len) >= MAX_SUBSCRIPTIONS;
        let over = || Error::Limit {
            what: format!("process `{}` holds its maximum of {MAX_SUBSCRIPTIONS} event subscriptions", from.pid()),
        };
        if full(&lock(&self.inner.events)) {
            return Err(over());
        }
        // Decided outside the bus lock (a decision writes an audit record), checked again under it.
        let permit = self.gate().check(&from.caller(), Operation::EventsSubscribe { pattern, kind })?;
        let mut bus = lock(&self.inner.events);
        if full(&bus) {
            return Err(over());
        }
        // `finish` ends a process's subscriptions under the bus lock after taking it out of the table, so a
        // subscribe racing the exit either sees it gone here or is ended there.
        if !self.process(from.pid()).is_some_and(|p| Arc::ptr_eq(&p, from)) {
            return Err(super::owned_exited(from));
        }
        permit.redeem(OpKind::EventsSubscribe, SubjectRef::System(pattern))?;
        bus.next += 1;
        let id = bus.next;
        let chan = Chan::new(SUBSCRIPTION_QUEUE);
        let sub = Sub {
            key: key.clone(),
            kind: kind.map(str::to_string),
            chan: chan.clone(),
            queued: Arc::default(),
            budget: from.host().spec.max_message_bytes,
            account: from.account().clone(),
            owner: from.pid().clone(),
        };
        bus.subs.insert(id, sub);
        bus.by_key.entry(key).or_default().insert(id);
        bus.of.entry(from.pid().clone()).or_default().push(id);
        Ok(Subscription { id, chan })
    }

    /// Ends `subscription` of `from` (`sub:close()`): no more events are queued, and its channel is closed
    /// (what is queued can still be read). `false` when it had ended already or is not `from`'s. No
    /// decision: it only gives up what the subscribe was allowed.
    pub fn unsubscribe_events(&self, from: &Process, subscription: &Subscription) -> bool {
        let mut bus = lock(&self.inner.events);
        if bus.subs.get(&subscription.id).is_none_or(|s| &s.owner != from.pid()) {
            return false;
        }
        if let Some(ids) = bus.of.get_mut(from.pid()) {
            ids.retain(|id| *id != subscription.id);
        }
        remove(&mut bus, subscription.id);
        true
    }

    /// Ends every subscription of `pid` (its process exited).
    pub(super) fn end_subscriptions_of(&self, pid: &Pid) {
        let mut bus = lock(&self.inner.events);
        for id in bus.of.remove(pid).unwrap_or_default() {
            remove(&mut bus, id);
        }
    }

    /// `events.send(system, kind, path, data?)`: queues `{system, kind, path, data}` for every subscription
    /// that matches. Decided as `events.send` on `EventSystem::"<system>"` with `context.kind`. `data` is
    /// bounded like a message of `from`'s host. Errors: `Invalid` for an empty or over-long system, kind or
    /// path, or a system with `*`; `LimitExceeded` for data over the bounds; `PermissionDenied`.
    pub fn send_event(&self, from: &Process, system: &str, kind: &str, path: &str, data: Value) -> Result<Delivery> {
        field("event system", system)?;
        field("event kind", kind)?;
        field("event path", path)?;
        if system.contains('*') {
            return Err(Error::Invalid(format!(
                "event system `{system}` must not contain `*` (patterns are for subscribe)"
            )));
        }
        let data = [data];
        let bytes = super::messaging::check_values(&from.host().spec, &data)?;
        let [data] = data;
        let permit = self.gate().check(&from.caller(), Operation::EventsSend { system, kind, bytes })?;
        permit.redeem(OpKind::EventsSend, SubjectRef::System(system))?;
        let mut map = vec![
            (Value::str("system"), Value::str(system)),
            (Value::str("kind"), Value::str(kind)),
            (Value::str("path"), Value::str(path)),
        ];
        if !matches!(data, Value::Nil) {
            map.push((Value::str("data"), data));
        }
        let value: Arc<[Value]> = Arc::from([Value::Table(Arc::new(Table { array: Vec::new(), map }))]);
        let size = bytes.saturating_add(system.len() + kind.len() + path.len());
        let bus = lock(&self.inner.events);
        let mut delivery = Delivery::default();
        let prefixes = system.match_indices('.').map(|(at, _)| &system[..=at]);
        let keys = std::iter::once(system).chain(prefixes).chain(std::iter::once("*"));
        for key in keys {
            let Some(ids) = bus.by_key.get(key) else { continue };
            for sub in ids.iter().filter_map(|id| bus.subs.get(id)) {
                if sub.kind.as_deref().is_some_and(|k| k != kind) {
                    continue;
                }
                let queued = sub.queued.load(Ordering::Acquire);
                if queued.saturating_add(size) > sub.budget && queued > 0 {
                    delivery.dropped += 1;
                    continue;
                }
                sub.queued.fetch_add(size, Ordering::AcqRel);
                let event = QueuedEvent {
                    value: value.clone(),
                    bytes: size,
                    queued: sub.queued.clone(),
                    _charge: sub.account.charge(u64::try_from(size).unwrap_or(u64::MAX)),
                };
                match sub.chan.try_send(Item::Local(Box::new(event))) {
                    Ok(()) => delivery.delivered += 1,
                    Err(_) => delivery.dropped += 1,
                }
            }
        }
        Ok(delivery)
    }
}

/// Removes subscription `id` from the bus and closes its channel.
fn remove(bus: &mut Bus, id: u64) {
    if let Some(sub) = bus.subs.remove(&id) {
        sub.chan.close();
        if let Some(ids) = bus.by_key.get_mut(&sub.key) {
            ids.remove(&id);
            if ids.is_empty() {
                bus.by_key.remove(&sub.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pattern_key;

    #[test]
    fn patterns_are_a_system_a_last_segment_wildcard_or_everything() {
        assert_eq!(pattern_key("orders").ok().as_deref(), Some("orders"));
        assert_eq!(pattern_key("orders.*").ok().as_deref(), Some("orders."));
        assert_eq!(pattern_key("a.b.*").ok().as_deref(), Some("a.b."));
        assert_eq!(pattern_key("*").ok().as_deref(), Some("*"));
        for bad in ["", ".*", "or*ders", "*.orders", "a.*.b", "a**"] {
            assert!(pattern_key(bad).is_err(), "{bad:?} is refused");
        }
        assert!(pattern_key(&"x".repeat(300)).is_err(), "over the name bound");
    }
}
