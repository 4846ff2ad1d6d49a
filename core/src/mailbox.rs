//! A process's mailbox: topics, the inbox, kept messages, and the separate path for lifecycle events.
//!
//! The rules come from `lua-api.md` ("Messages and topics"): a message goes to the channel listening on its
//! topic, else to the inbox, else it is kept in order until a matching `listen` or `inbox` appears. Everything
//! the mailbox holds (kept, or queued in its channels and not yet received) counts against the host's bound;
//! a full mailbox refuses the message and hands it back. Lifecycle events go to `events()`, which has no bound,
//! so a full mailbox never blocks an EXIT, LINK_DOWN or CANCEL.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::chan::{Chan, Item};
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
}

#[derive(Default)]
struct Routes {
    listeners: HashMap<Arc<str>, Listener>,
    inbox: Option<Chan>,
    kept: VecDeque<Arc<Message>>,
}

/// A bounded mailbox plus the unbounded events channel.
pub struct Mailbox {
    capacity: usize,
    held: Arc<AtomicUsize>,
    routes: Mutex<Routes>,
    events: Chan,
}

impl Mailbox {
    /// A mailbox that holds at most `capacity` messages (the host's `mailbox_size`).
    pub fn new(capacity: usize) -> Mailbox {
        Mailbox {
            capacity,
            held: Arc::new(AtomicUsize::new(0)),
            routes: Mutex::new(Routes::default()),
            events: Chan::new(usize::MAX),
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

    /// Delivers a message. Errors: the mailbox is full; the message is handed back.
    pub fn deliver(&self, message: Message) -> Result<Delivered, Message> {
        let mut routes = lock(&self.routes);
        if self.held.load(Ordering::Acquire) >= self.capacity {
            return Err(message);
        }
        self.held.fetch_add(1, Ordering::AcqRel);
        Ok(route(&mut routes, Arc::new(message)))
    }

    /// The channel for `topic` (`process.listen`); the same channel on every call for a topic. Kept messages
    /// for the topic move into it, in order.
    pub fn listen(&self, topic: &str, message_mode: bool) -> Chan {
        let mut routes = lock(&self.routes);
        if let Some(listener) = routes.listeners.get(topic) {
            return listener.chan.clone();
        }
        let chan = Chan::counted(self.held.clone());
        routes.listeners.insert(topic.into(), Listener { chan: chan.clone(), message_mode });
        let kept = std::mem::take(&mut routes.kept);
        for message in kept {
            route(&mut routes, message);
        }
        chan
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
        let Some(topic) = routes.listeners.iter().find(|(_, l)| l.chan.id() == chan.id()).map(|(t, _)| t.clone())
        else {
            return false;
        };
        let Some(listener) = routes.listeners.remove(&topic) else { return false };
        for item in listener.chan.close_and_drain() {
            let message = match item {
                Item::Message(message) | Item::Raw(message) => message,
                Item::Payload(payload) => Arc::new(Message { from: None, topic: topic.clone(), payload }),
                // Listen channels only ever hold messages (whole, or raw for payload-only listeners).
                Item::Event(_) | Item::Local(_) => continue,
            };
            route(&mut routes, message);
        }
        true
    }

    /// The events channel (`process.events`): lifecycle events only, never bounded.
    pub fn events(&self) -> Chan {
        self.events.clone()
    }

    /// Queues a lifecycle event; it is never refused while the process lives.
    pub fn push_event(&self, event: Event) {
        // A closed events channel belongs to an exited process; the event has nobody to reach.
        let _ = self.events.push(Item::Event(Arc::new(event)));
    }

    /// Closes every channel (the process exited).
    pub fn close(&self) {
        let routes = lock(&self.routes);
        for listener in routes.listeners.values() {
            listener.chan.close();
        }
        if let Some(inbox) = &routes.inbox {
            inbox.close();
        }
        self.events.close();
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
        Message { from: None, topic: topic.into(), payload: vec![Value::Num(n)].into() }
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
        let mb = Mailbox::new(10);
        assert_eq!(mb.deliver(msg("a", 1.0)).ok(), Some(Delivered::Kept));
        assert_eq!(mb.deliver(msg("a", 2.0)).ok(), Some(Delivered::Kept));
        let ch = mb.listen("a", false);
        assert_eq!(first_num(ch.try_recv()), 1.0);
        assert_eq!(first_num(ch.try_recv()), 2.0);
        assert_eq!(mb.held(), 0);
    }

    #[test]
    fn the_bound_counts_kept_and_queued_messages() {
        let mb = Mailbox::new(2);
        let ch = mb.listen("a", false);
        assert!(mb.deliver(msg("a", 1.0)).is_ok());
        assert!(mb.deliver(msg("b", 2.0)).is_ok());
        let refused = mb.deliver(msg("a", 3.0));
        assert!(matches!(refused, Err(ref m) if m.topic.as_ref() == "a"));
        assert_eq!(first_num(ch.try_recv()), 1.0);
        assert!(mb.deliver(msg("a", 3.0)).is_ok());
        mb.push_event(Event { kind: EventKind::Exit, from: pid(), at: 0.0, result: None, deadline: None });
        assert_eq!(mb.events().len(), 1);
    }

    #[test]
    fn unlisten_moves_what_is_left_to_the_inbox() {
        let mb = Mailbox::new(10);
        let ch = mb.listen("a", false);
        let inbox = mb.inbox();
        assert!(mb.deliver(msg("a", 1.0)).is_ok());
        assert!(mb.unlisten(&ch));
        assert!(ch.is_closed());
        assert_eq!(first_num(inbox.try_recv()), 1.0);
        assert!(mb.deliver(msg("a", 2.0)).is_ok());
        assert_eq!(first_num(inbox.try_recv()), 2.0);
        assert!(!mb.unlisten(&ch));
    }

    fn pid() -> Pid {
        Pid::new("n".into(), 1, "h:h".into(), 1)
    }
}
