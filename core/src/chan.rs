//! Channels: the one queue type of the runtime.
//!
//! A process's mailbox delivers into channels (`process.listen`, `process.inbox`, `process.events`), and
//! scripts make their own with `channel.new(size)` (`lua-api.md`, "channel"). Blocking operations are async:
//! a waiting process yields to the scheduler, never an OS thread. [`select`] waits on several cases at once.
//!
//! Size 0 is an unbuffered channel: a blocking send waits until a receiver has taken the value, and a
//! non-blocking send (a `case_send` in a select) succeeds only while a receiver is parked on the channel.

use std::any::Any;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use crate::lock;
use crate::mailbox::{Event, Message};
use crate::value::Value;

/// What a channel carries.
pub enum Item {
    /// A raw payload from a `listen` channel: the values a sender passed.
    Payload(Arc<[Value]>),
    /// A message object, for `inbox()` and `listen(topic, {message = true})`.
    Message(Arc<Message>),
    /// A message for a raw `listen(topic)` channel: receivers get only its payload. The whole message is
    /// kept so that `unlisten` can move what is still queued to the inbox with its sender.
    Raw(Arc<Message>),
    /// A lifecycle event, for `events()`.
    Event(Arc<Event>),
    /// A value local to one VM (a script's own channel carries any Lua value); the sandbox owns its type.
    Local(Box<dyn Any + Send>),
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Payload(p) => f.debug_tuple("Payload").field(p).finish(),
            Item::Message(m) => f.debug_tuple("Message").field(m).finish(),
            Item::Raw(m) => f.debug_tuple("Raw").field(m).finish(),
            Item::Event(e) => f.debug_tuple("Event").field(e).finish(),
            Item::Local(_) => f.write_str("Local(..)"),
        }
    }
}

/// Why a send did not happen; the item is handed back.
#[derive(Debug)]
pub enum SendError {
    /// The channel is closed.
    Closed(Item),
    /// The buffer is full (or, unbuffered, no receiver is waiting).
    Full(Item),
}

/// A channel handle; clones are the same channel.
#[derive(Clone)]
pub struct Chan {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    state: Mutex<State>,
    /// Decremented on every take: mailbox channels count the messages a process holds.
    held: Option<Arc<AtomicUsize>>,
}

struct State {
    buf: VecDeque<Item>,
    cap: usize,
    closed: bool,
    parked_receivers: usize,
    pushed: u64,
    taken: u64,
    /// The tasks waiting for a change (an item, room, a parked receiver, closing), each woken and forgotten
    /// by the next change. A task is listed once however often it waits ([`Waker::will_wake`]), so the list
    /// is bounded by the tasks that can reach the channel: a process's own, for a mailbox channel.
    waiters: Vec<Waker>,
}

impl State {
    /// Wakes the task behind `waker` at the next change.
    fn wait(&mut self, waker: &Waker) {
        if !self.waiters.iter().any(|w| w.will_wake(waker)) {
            // Most channels have one waiting task: room for one, not the four a plain push makes.
            self.waiters.reserve_exact(1);
            self.waiters.push(waker.clone());
        }
    }

    /// Something changed: wakes every waiting task (under the lock: a wake only queues the task).
    fn changed(&mut self) {
        for waker in self.waiters.drain(..) {
            waker.wake();
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Chan {
    /// A channel holding at most `cap` items (0: unbuffered).
    pub fn new(cap: usize) -> Chan {
        Chan::build(cap, None)
    }

    /// An unbounded channel whose takes decrement `held` (the mailbox's count of messages it holds).
    pub fn counted(held: Arc<AtomicUsize>) -> Chan {
        Chan::build(usize::MAX, Some(held))
    }

    fn build(cap: usize, held: Option<Arc<AtomicUsize>>) -> Chan {
        let state = State {
            buf: VecDeque::new(),
            cap,
            closed: false,
            parked_receivers: 0,
            pushed: 0,
            taken: 0,
            waiters: Vec::new(),
        };
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Chan { inner: Arc::new(Inner { id, state: Mutex::new(state), held }) }
    }

    /// A number that identifies this channel among all channels of the node.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The buffer's size (0: unbuffered).
    pub fn capacity(&self) -> usize {
        self.inner.state_cap()
    }

    /// Sends without waiting. An unbuffered channel takes the item only when a receiver is parked.
    pub fn try_send(&self, item: Item) -> Result<(), SendError> {
        self.offer(&mut lock(&self.inner.state), item)
    }

    /// [`Chan::try_send`] under the lock.
    fn offer(&self, state: &mut State, item: Item) -> Result<(), SendError> {
        if state.closed {
            return Err(SendError::Closed(item));
        }
        let room = if state.cap == 0 { state.parked_receivers > state.buf.len() } else { state.buf.len() < state.cap };
        if !room {
            return Err(SendError::Full(item));
        }
        state.buf.push_back(item);
        state.pushed += 1;
        state.changed();
        Ok(())
    }

    /// Sends, waiting for room; on an unbuffered channel, waits until a receiver took the item.
    /// Errors: the channel is (or becomes) closed; the item is handed back when it was not queued.
    pub async fn send(&self, item: Item) -> Result<(), SendError> {
        if self.inner.state_cap() == 0 {
            return self.send_unbuffered(item).await;
        }
        let mut item = Some(item);
        poll_fn(|cx| {
            let mut state = lock(&self.inner.state);
            let Some(offered) = item.take() else { return Poll::Ready(Ok(())) };
            match self.offer(&mut state, offered) {
                Err(SendError::Full(back)) => {
                    item = Some(back);
                    state.wait(cx.waker());
                    Poll::Pending
                }
                other => Poll::Ready(other),
            }
        })
        .await
    }

    async fn send_unbuffered(&self, item: Item) -> Result<(), SendError> {
        let ticket = {
            let mut state = lock(&self.inner.state);
            if state.closed {
                return Err(SendError::Closed(item));
            }
            state.buf.push_back(item);
            state.pushed += 1;
            state.changed();
            state.pushed
        };
        poll_fn(|cx| {
            let mut state = lock(&self.inner.state);
            if state.taken >= ticket || state.closed {
                return Poll::Ready(Ok(()));
            }
            state.wait(cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Takes an item without waiting: `Some(Some(item))`, `Some(None)` when closed and drained, `None` when
    /// empty and open.
    pub fn try_recv(&self) -> Option<Option<Item>> {
        self.take(&mut lock(&self.inner.state))
    }

    /// [`Chan::try_recv`] under the lock.
    fn take(&self, state: &mut State) -> Option<Option<Item>> {
        match state.buf.pop_front() {
            Some(item) => {
                state.taken += 1;
                if let Some(held) = &self.inner.held {
                    held.fetch_sub(1, Ordering::AcqRel);
                }
                state.changed();
                Some(Some(item))
            }
            None if state.closed => Some(None),
            None => None,
        }
    }

    /// Takes an item, waiting for one; `None` once the channel is closed and drained.
    pub async fn recv(&self) -> Option<Item> {
        let _parked = Parked::new(self);
        poll_fn(|cx| {
            let mut state = lock(&self.inner.state);
            match self.take(&mut state) {
                Some(result) => Poll::Ready(result),
                None => {
                    state.wait(cx.waker());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Closes the channel (idempotent): blocked receivers get `None` once it is drained, senders an error.
    pub fn close(&self) {
        let mut state = lock(&self.inner.state);
        state.closed = true;
        state.changed();
    }

    /// Whether [`Chan::close`] was called.
    pub fn is_closed(&self) -> bool {
        lock(&self.inner.state).closed
    }

    /// Items waiting in the buffer.
    pub fn len(&self) -> usize {
        lock(&self.inner.state).buf.len()
    }

    /// Whether no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the channel and takes what it still holds, without touching the held count (the caller
    /// re-routes the items, so they are still held).
    pub(crate) fn close_and_drain(&self) -> Vec<Item> {
        let mut state = lock(&self.inner.state);
        state.closed = true;
        let items: Vec<Item> = state.buf.drain(..).collect();
        state.taken += items.len() as u64;
        state.changed();
        items
    }

    /// Queues an item whatever the bound (mailbox delivery: the mailbox enforces its own bound).
    pub(crate) fn push(&self, item: Item) -> Result<(), Item> {
        let mut state = lock(&self.inner.state);
        if state.closed {
            return Err(item);
        }
        state.buf.push_back(item);
        state.pushed += 1;
        state.changed();
        Ok(())
    }

    fn park(&self, delta: isize) {
        let mut state = lock(&self.inner.state);
        state.parked_receivers = state.parked_receivers.saturating_add_signed(delta);
        state.changed();
    }
}

impl Inner {
    fn state_cap(&self) -> usize {
        lock(&self.state).cap
    }
}

/// Counts a receiver as parked while it waits, so unbuffered senders can hand over to it.
struct Parked<'a>(&'a Chan);

impl<'a> Parked<'a> {
    fn new(chan: &'a Chan) -> Parked<'a> {
        chan.park(1);
        Parked(chan)
    }
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.0.park(-1);
    }
}

/// One case of a [`select`].
pub enum Case {
    /// Ready when the channel has an item or is closed.
    Recv(Chan),
    /// Ready when the channel has room; the item is taken only if this case is chosen.
    Send(Chan, Option<Item>),
}

/// What a [`select`] chose.
#[derive(Debug)]
pub enum Selected {
    /// Case `index` received `item` (`None`: the channel is closed).
    Recv {
        /// Index into the cases.
        index: usize,
        /// The item, or `None` for a closed channel.
        item: Option<Item>,
    },
    /// Case `index` sent its item (`ok` false: the channel was closed, the item is dropped).
    Sent {
        /// Index into the cases.
        index: usize,
        /// Whether the send happened.
        ok: bool,
    },
    /// Nothing was ready and the select had a default.
    Default,
}

/// Waits until one case is ready and runs it; with `default`, returns [`Selected::Default`] at once when
/// nothing is ready. Cases are tried in order, so an earlier ready case wins (`channel.select`, `lua-api.md`).
pub async fn select(cases: &mut [Case], default: bool) -> Selected {
    let receivers: Vec<Chan> =
        cases.iter().filter_map(|c| if let Case::Recv(ch) = c { Some(ch.clone()) } else { None }).collect();
    let _parked: Vec<Parked<'_>> = receivers.iter().map(Parked::new).collect();
    let all: Vec<Chan> = cases
        .iter()
        .map(|c| match c {
            Case::Recv(ch) | Case::Send(ch, _) => ch.clone(),
        })
        .collect();
    poll_fn(|cx| {
        if let Some(selected) = try_select(cases) {
            return Poll::Ready(selected);
        }
        if default {
            return Poll::Ready(Selected::Default);
        }
        // Listed on every channel, then tried again: a change between the first try and the listing wakes
        // this task. A select with no case and no default never completes (Go's `select {}`).
        for ch in &all {
            lock(&ch.inner.state).wait(cx.waker());
        }
        match try_select(cases) {
            Some(selected) => Poll::Ready(selected),
            None => Poll::Pending,
        }
    })
    .await
}

/// Runs the first ready case without waiting, in order; `None` when none is ready (what [`select`] does
/// before each wait).
pub fn try_select(cases: &mut [Case]) -> Option<Selected> {
    for (index, case) in cases.iter_mut().enumerate() {
        match case {
            Case::Recv(ch) => {
                if let Some(item) = ch.try_recv() {
                    return Some(Selected::Recv { index, item });
                }
            }
            Case::Send(ch, slot) => {
                let Some(item) = slot.take() else { continue };
                match ch.try_send(item) {
                    Ok(()) => return Some(Selected::Sent { index, ok: true }),
                    Err(SendError::Closed(_)) => return Some(Selected::Sent { index, ok: false }),
                    Err(SendError::Full(item)) => *slot = Some(item),
                }
            }
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "the tests drive a channel from tasks of their own")]
mod tests {
    use super::*;

    fn num(item: Option<Item>) -> f64 {
        match item {
            Some(Item::Payload(p)) => match p.first() {
                Some(Value::Num(n)) => *n,
                _ => f64::NAN,
            },
            _ => f64::NAN,
        }
    }

    fn payload(n: f64) -> Item {
        Item::Payload(vec![Value::Num(n)].into())
    }

    #[tokio::test(start_paused = true)]
    async fn buffered_channel_keeps_order_and_bound() {
        let ch = Chan::new(2);
        assert!(ch.try_send(payload(1.0)).is_ok());
        assert!(ch.try_send(payload(2.0)).is_ok());
        assert!(matches!(ch.try_send(payload(3.0)), Err(SendError::Full(_))));
        assert_eq!(num(ch.recv().await), 1.0);
        assert_eq!(num(ch.recv().await), 2.0);
        ch.close();
        assert!(ch.recv().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn unbuffered_send_waits_for_a_receiver() {
        let ch = Chan::new(0);
        assert!(matches!(ch.try_send(payload(1.0)), Err(SendError::Full(_))));
        let sender = ch.clone();
        let task = tokio::spawn(async move { sender.send(payload(7.0)).await.is_ok() });
        assert_eq!(num(ch.recv().await), 7.0);
        assert!(task.await.unwrap_or(false));
    }

    #[tokio::test(start_paused = true)]
    async fn select_takes_the_ready_case_or_default() {
        let a = Chan::new(1);
        let b = Chan::new(1);
        let mut cases = [Case::Recv(a.clone()), Case::Recv(b.clone())];
        assert!(matches!(select(&mut cases, true).await, Selected::Default));
        assert!(b.try_send(payload(5.0)).is_ok());
        match select(&mut cases, false).await {
            Selected::Recv { index, item } => {
                assert_eq!(index, 1);
                assert_eq!(num(item), 5.0);
            }
            other => panic!("unexpected {other:?}"),
        }
        let waker = a.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            let _ = waker.try_send(payload(9.0));
        });
        match select(&mut cases, false).await {
            Selected::Recv { index, item } => assert_eq!((index, num(item)), (0, 9.0)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn closing_wakes_a_blocked_receiver() {
        let ch = Chan::new(1);
        let rx = ch.clone();
        let task = tokio::spawn(async move { rx.recv().await.is_none() });
        tokio::task::yield_now().await;
        ch.close();
        assert!(task.await.unwrap_or(false));
    }

    /// A task that waits on a channel again and again (a send with a timeout on a full channel, in a loop) is
    /// listed once: what the channel holds for its waiters does not grow with the count of waits.
    #[tokio::test(start_paused = true)]
    async fn repeated_waits_list_a_task_once() {
        let ch = Chan::new(1);
        assert!(ch.try_send(payload(1.0)).is_ok());
        for _ in 0..1000 {
            tokio::select! {
                _ = ch.send(payload(2.0)) => panic!("the channel is full"),
                _ = tokio::time::sleep(std::time::Duration::from_millis(1)) => {}
            }
        }
        assert_eq!(lock(&ch.inner.state).waiters.len(), 1);
        assert_eq!(num(ch.try_recv().flatten()), 1.0);
        assert!(lock(&ch.inner.state).waiters.is_empty(), "a change wakes and forgets the waiters");
    }
}
