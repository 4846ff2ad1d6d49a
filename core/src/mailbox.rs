//! A process's mailbox: topics, the inbox, kept messages, and the separate path for lifecycle events.
//!
//! The rules come from `lua-api.md` ("Messages and topics"): a message goes to the channel listening on its
//! topic, else to the inbox, else it is kept in order until a matching `listen` or `inbox` appears. Everything
//! the mailbox holds (kept, or queued in its channels and not yet received) counts against the host's bound;
//! a full mailbox refuses the message and hands it back. Lifecycle events go to `events()`, which has no bound,
//! so a full mailbox never blocks an EXIT, LINK_DOWN or CANCEL.

use std::collections::VecDeque;

use hashbrown::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::chan::{Chan, Item};
use crate::limits::{Account, Charge, LISTENER_BYTES, QUEUED_OVERHEAD};
use crate::lock;
use crate::pid::Pid;
use crate::value::Value;

/// A message as `inbox()` and message-mode listeners deliver it.
#[derive(Debug)]
pub struct Message {
    /// The sender, or `None` for a message from the runtime.
    pub from: Option<Pid>,
    /// The topic it was sent on.
    pub topic: Arc<str>,
    /// The values the sender passed.
    pub payload: Arc<[Value]>,
    /// The sender's actor id (`msg:from_actor()`), or `None` when the sender has no actor or is the runtime.
    pub from_actor: Option<Arc<str>>,
    /// For a call (`process.call`), the reference its reply answers (`msg:reply_to()`); `None` for a send.
    pub reply_to: Option<Arc<crate::runtime::CallRef>>,
    /// What the receiver's account pays while the host holds the message (set on delivery).
    charge: Charge,
}

impl Message {
    /// A message not yet delivered (only the runtime builds them, after the gate's decision).
    pub(crate) fn new(from: Option<Pid>, topic: Arc<str>, payload: Arc<[Value]>) -> Message {
        Message { from, topic, payload, from_actor: None, reply_to: None, charge: Charge::default() }
    }

    /// The message with the sender's actor id.
    pub(crate) fn with_actor(mut self, actor: Option<Arc<str>>) -> Message {
        self.from_actor = actor;
        self
    }

    /// The message as a call, answered through `reference`.
    pub(crate) fn with_reply(mut self, reference: Arc<crate::runtime::CallRef>) -> Message {
        self.reply_to = Some(reference);
        self
    }
}

/// The kinds of lifecycle events (`lua-api.md`, "Events and exits").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A monitored process exited: `"pid.exit"`.
    Exit,
    /// A linked process exited abnormally: `"pid.link.down"`.
    LinkDown,
    /// Someone asked this process to cancel: `"pid.cancel"`.
    Cancel,
}

impl EventKind {
    /// The constant scripts compare with, e.g. `process.event.EXIT == "pid.exit"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Exit => "pid.exit",
            EventKind::LinkDown => "pid.link.down",
            EventKind::Cancel => "pid.cancel",
        }
    }
}

/// A lifecycle event.
#[derive(Debug)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The PID it is about: the exited process, or for CANCEL the canceller.
    pub from: Pid,
    /// Unix time in seconds, with fractions.
    pub at: f64,
    /// EXIT and LINK_DOWN: `Ok(value)` on a normal exit, `Err(message)` on an abnormal one.
    pub result: Option<Result<Value, String>>,
    /// CANCEL: the deadline as an RFC 3339 timestamp.
    pub deadline: Option<String>,
    /// What the receiver's account pays while the host holds the event (set when it is queued).
    charge: Charge,
}

impl Event {
    /// An event about `from` (only the runtime builds them).
    pub(crate) fn new(
        kind: EventKind,
        from: Pid,
        at: f64,
        result: Option<Result<Value, String>>,
        deadline: Option<String>,
    ) -> Event {
        Event { kind, from, at, result, deadline, charge: Charge::default() }
    }
}

/// Where a delivery went.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Into a channel a receiver can take it from.
    Queued,
    /// Kept until a listener or the inbox appears.
    Kept,
}

struct Listener {
    chan: Chan,
    message_mode: bool,
    /// The host memory the route holds, charged to the process.
    _charge: Charge,
}

/// Listeners that fit in a list before they move to a map.
const FEW_LISTENERS: usize = 8;

/// A process's listeners by topic: a short list (one allocation the size of its entries; most processes
/// listen on a topic or two), a hash map once there are more than [`FEW_LISTENERS`] (boxed, so that the
/// list's size is the mailbox's).
enum Listeners {
    Few(Vec<(Arc<str>, Listener)>),
    #[allow(clippy::box_collection, reason = "boxed, the map does not widen the list every mailbox holds")]
    Many(Box<HashMap<Arc<str>, Listener>>),
}

impl Default for Listeners {
    fn default() -> Listeners {
        Listeners::Few(Vec::new())
    }
}

impl Listeners {
    fn get(&self, topic: &str) -> Option<&Listener> {
        match self {
            Listeners::Few(few) => few.iter().find(|(t, _)| **t == *topic).map(|(_, l)| l),
            Listeners::Many(many) => many.get(topic),
        }
    }

    /// Adds the listener of a topic that has none.
    fn insert(&mut self, topic: Arc<str>, listener: Listener) {
        match self {
            Listeners::Few(few) if few.len() < FEW_LISTENERS => {
                // The first listener takes exactly its room (a plain push would make room for four).
                few.reserve_exact(1);
                few.push((topic, listener));
            }
            Listeners::Few(few) => {
                let mut many: Box<HashMap<_, _>> = Box::new(std::mem::take(few).into_iter().collect());
                many.insert(topic, listener);
                *self = Listeners::Many(many);
            }
            Listeners::Many(many) => {
                many.insert(topic, listener);
            }
        }
    }

    /// Removes the listener whose channel is `id`, with its topic.
    fn remove_chan(&mut self, id: u64) -> Option<(Arc<str>, Listener)> {
        match self {
            Listeners::Few(few) => {
                let at = few.iter().position(|(_, l)| l.chan.id() == id)?;
                Some(few.remove(at))
            }
            Listeners::Many(many) => {
                let topic = many.iter().find(|(_, l)| l.chan.id() == id).map(|(t, _)| t.clone())?;
                many.remove_entry(&topic)
            }
        }
    }

    fn for_each(&self, mut f: impl FnMut(&Listener)) {
        match self {
            Listeners::Few(few) => few.iter().for_each(|(_, l)| f(l)),
            Listeners::Many(many) => many.values().for_each(f),
        }
    }
}

#[derive(Default)]
struct Routes {
    listeners: Listeners,
    inbox: Option<Chan>,
    kept: VecDeque<Arc<Message>>,
}

/// A bounded mailbox plus the unbounded events channel. What it holds is charged to its process's
/// [`Account`]: each queued message and event (its payload's size plus [`QUEUED_OVERHEAD`]) and each listener
/// ([`LISTENER_BYTES`]), until the script takes or drops it.
pub struct Mailbox {
    capacity: usize,
    account: Arc<Account>,
    held: Arc<AtomicUsize>,
    routes: Mutex<Routes>,
    /// Made on first use: most processes never get an event.
    events: std::sync::OnceLock<Chan>,
}

impl Mailbox {
    /// A mailbox that holds at most `capacity` messages (the host's `mailbox_size`), charging `account`.
    pub fn new(capacity: usize, account: Arc<Account>) -> Mailbox {
        Mailbox {
            capacity,
            account,
            held: Arc::new(AtomicUsize::new(0)),
            routes: Mutex::new(Routes::default()),
            events: std::sync::OnceLock::new(),
        }
    }

    /// Messages held now: kept, or queued in channels and not yet received.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// The bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Delivers a message whose payload is `bytes` long ([`Value::size`]), charging it to the receiver.
    /// Errors: the mailbox is full, or holding the message would take the receiver over its memory limit
    /// ([`Account::try_charge`]); the message is handed back. Only the runtime delivers, with a permit.
    pub(crate) fn deliver(&self, mut message: Message, bytes: usize) -> Result<Delivered, Message> {
        let mut routes = lock(&self.routes);
        if self.held.load(Ordering::Acquire) >= self.capacity {
            return Err(message);
        }
        let cost = u64::try_from(bytes).unwrap_or(u64::MAX).saturating_add(QUEUED_OVERHEAD);
        match self.account.try_charge(cost) {
            Ok(charge) => message.charge = charge,
            Err(_) => return Err(message),
        }
        self.held.fetch_add(1, Ordering::AcqRel);
        Ok(route(&mut routes, Arc::new(message)))
    }

    /// The channel for `topic` (`process.listen`); the same channel on every call for a topic. Kept messages
    /// for the topic move into it, in order.
    /// Errors: `LimitExceeded` when the new listener ([`LISTENER_BYTES`] and the topic) would take the process
    /// over its memory limit.
    pub fn listen(&self, topic: &str, message_mode: bool) -> crate::Result<Chan> {
        let mut routes = lock(&self.routes);
        if let Some(listener) = routes.listeners.get(topic) {
            return Ok(listener.chan.clone());
        }
        let cost = LISTENER_BYTES.saturating_add(u64::try_from(topic.len()).unwrap_or(u64::MAX));
        let charge = self.account.try_charge(cost)?;
        let chan = Chan::counted(self.held.clone());
        routes.listeners.insert(topic.into(), Listener { chan: chan.clone(), message_mode, _charge: charge });
        let kept = std::mem::take(&mut routes.kept);
        for message in kept {
            route(&mut routes, message);
        }
        Ok(chan)
    }

    /// The inbox channel (`process.inbox`), the same on every call; kept messages move into it.
    pub fn inbox(&self) -> Chan {
        let mut routes = lock(&self.routes);
        if let Some(inbox) = &routes.inbox {
            return inbox.clone();
        }
        let chan = Chan::counted(self.held.clone());
        routes.inbox = Some(chan.clone());
        let kept = std::mem::take(&mut routes.kept);
        for message in kept {
            route(&mut routes, message);
        }
        chan
    }

    /// Closes a listen channel (`process.unlisten`). What it still held moves to the inbox (or is kept), so
    /// nothing is dropped. Returns false when `chan` is no listener of this mailbox.
    pub fn unlisten(&self, chan: &Chan) -> bool {
        let mut routes = lock(&self.routes);
        let Some((topic, listener)) = routes.listeners.remove_chan(chan.id()) else { return false };
        for item in listener.chan.close_and_drain() {
            let message = match item {
                Item::Message(message) | Item::Raw(message) => message,
                Item::Payload(payload) => Arc::new(Message::new(None, topic.clone(), payload)),
                // Listen channels only ever hold messages (whole, or raw for payload-only listeners).
                Item::Event(_) | Item::Local(_) => continue,
            };
            route(&mut routes, message);
        }
        true
    }

    /// The events channel (`process.events`): lifecycle events only, never bounded.
    pub fn events(&self) -> Chan {
        self.events_chan().clone()
    }

    /// Queues a lifecycle event whose result is `bytes` long; it is never refused while the process lives, and
    /// is charged to the process (over its memory limit, the sandbox ends it with `limit.memory`). Only the
    /// runtime pushes events.
    pub(crate) fn push_event(&self, mut event: Event, bytes: usize) {
        event.charge = self.account.charge(u64::try_from(bytes).unwrap_or(u64::MAX).saturating_add(QUEUED_OVERHEAD));
        // A closed events channel belongs to an exited process; the event has nobody to reach.
        let _ = self.events_chan().push(Item::Event(Arc::new(event)));
    }

    fn events_chan(&self) -> &Chan {
        self.events.get_or_init(|| Chan::new(usize::MAX))
    }

    /// Closes every channel (the process exited).
    pub fn close(&self) {
        let routes = lock(&self.routes);
        routes.listeners.for_each(|listener| listener.chan.close());
        if let Some(inbox) = &routes.inbox {
            inbox.close();
        }
        // Made here if it never was, so that an event after the exit finds it closed.
        self.events_chan().close();
    }
}

fn route(routes: &mut Routes, message: Arc<Message>) -> Delivered {
    if let Some(listener) = routes.listeners.get(&message.topic) {
        let item = if listener.message_mode { Item::Message(message.clone()) } else { Item::Raw(message.clone()) };
        if listener.chan.push(item).is_ok() {
            return Delivered::Queued;
        }
    }
    if let Some(inbox) = &routes.inbox
        && inbox.push(Item::Message(message.clone())).is_ok()
    {
        return Delivered::Queued;
    }
    routes.kept.push_back(message);
    Delivered::Kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(topic: &str, n: f64) -> Message {
        Message::new(None, topic.into(), vec![Value::Num(n)].into())
    }

    fn mailbox(capacity: usize) -> Mailbox {
        Mailbox::new(capacity, Arc::new(Account::new(1 << 20)))
    }

    fn first_num(item: Option<Option<Item>>) -> f64 {
        match item {
            Some(Some(Item::Payload(p))) => match p.first() {
                Some(Value::Num(n)) => *n,
                _ => f64::NAN,
            },
            Some(Some(Item::Message(m) | Item::Raw(m))) => match m.payload.first() {
                Some(Value::Num(n)) => *n,
                _ => f64::NAN,
            },
            _ => f64::NAN,
        }
    }

    #[test]
    fn kept_messages_reach_a_late_listener_in_order() {
        let mb = mailbox(10);
        assert_eq!(mb.deliver(msg("a", 1.0), 8).ok(), Some(Delivered::Kept));
        assert_eq!(mb.deliver(msg("a", 2.0), 8).ok(), Some(Delivered::Kept));
        let ch = mb.listen("a", false).unwrap_or_else(|_| Chan::new(0));
        assert_eq!(first_num(ch.try_recv()), 1.0);
        assert_eq!(first_num(ch.try_recv()), 2.0);
        assert_eq!(mb.held(), 0);
    }

    #[test]
    fn the_bound_counts_kept_and_queued_messages() {
        let mb = mailbox(2);
        let ch = mb.listen("a", false).unwrap_or_else(|_| Chan::new(0));
        assert!(mb.deliver(msg("a", 1.0), 8).is_ok());
        assert!(mb.deliver(msg("b", 2.0), 8).is_ok());
        let refused = mb.deliver(msg("a", 3.0), 8);
        assert!(matches!(refused, Err(ref m) if m.topic.as_ref() == "a"));
        assert_eq!(first_num(ch.try_recv()), 1.0);
        assert!(mb.deliver(msg("a", 3.0), 8).is_ok());
        mb.push_event(Event::new(EventKind::Exit, pid(), 0.0, None, None), 0);
        assert_eq!(mb.events().len(), 1);
    }

    #[test]
    fn unlisten_moves_what_is_left_to_the_inbox() {
        let mb = mailbox(10);
        let ch = mb.listen("a", false).unwrap_or_else(|_| Chan::new(0));
        let inbox = mb.inbox();
        assert!(mb.deliver(msg("a", 1.0), 8).is_ok());
        assert!(mb.unlisten(&ch));
        assert!(ch.is_closed());
        assert_eq!(first_num(inbox.try_recv()), 1.0);
        assert!(mb.deliver(msg("a", 2.0), 8).is_ok());
        assert_eq!(first_num(inbox.try_recv()), 2.0);
        assert!(!mb.unlisten(&ch));
    }

    #[test]
    fn what_a_mailbox_holds_is_charged_to_its_process_and_released_when_taken() {
        let account = Arc::new(Account::new(1000));
        let mb = Mailbox::new(10, account.clone());
        let ch = mb.listen("a", false).unwrap_or_else(|_| Chan::new(0));
        let listener = account.host_bytes();
        assert_eq!(listener, LISTENER_BYTES + 1);
        assert!(mb.deliver(msg("a", 1.0), 300).is_ok());
        assert_eq!(account.host_bytes(), listener + 300 + QUEUED_OVERHEAD);
        // 1000 bytes in all: a second message of 300 does not fit, and is handed back.
        assert!(mb.deliver(msg("a", 2.0), 300).is_err());
        assert!(mb.listen("b".repeat(1000).as_str(), false).is_err(), "a listener is charged too");
        drop(ch.try_recv());
        assert_eq!(account.host_bytes(), listener, "taking the message releases it");
    }

    /// Past [`FEW_LISTENERS`] topics the listeners move from the list to the map: every topic still gets its
    /// own messages, a repeated listen gives the same channel, and unlisten and close reach every one.
    #[test]
    fn many_listeners_route_like_few() {
        let mb = mailbox(1000);
        let topics: Vec<String> = (0..3 * FEW_LISTENERS).map(|i| format!("t{i}")).collect();
        let chans: Vec<Chan> = topics.iter().map(|t| mb.listen(t, false).unwrap_or_else(|_| Chan::new(0))).collect();
        for (i, topic) in topics.iter().enumerate() {
            let again = mb.listen(topic, false).unwrap_or_else(|_| Chan::new(0));
            assert_eq!(again.id(), chans[i].id(), "the same channel for {topic}");
            assert_eq!(mb.deliver(msg(topic, i as f64), 8).ok(), Some(Delivered::Queued));
        }
        for (i, chan) in chans.iter().enumerate() {
            assert_eq!(first_num(chan.try_recv()), i as f64);
        }
        assert!(mb.unlisten(&chans[2]));
        assert!(!mb.unlisten(&chans[2]), "a channel is unlistened once");
        assert_eq!(mb.deliver(msg("t2", 2.0), 8).ok(), Some(Delivered::Kept), "no listener: kept");
        mb.close();
        assert!(chans.iter().all(Chan::is_closed));
    }

    fn pid() -> Pid {
        Pid::new("n".into(), 1, "h:h".into(), 1)
    }
}
