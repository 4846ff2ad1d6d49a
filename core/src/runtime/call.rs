//! `process.call` and its reply (`models.md`, "Call and reply"; Ergo's `Call`, Erlang's `gen_server:call`).
//!
//! A call is a message that carries a [`CallRef`], delivered like a send after the gate allowed both
//! `process.send` and `process.call` on the receiver. The caller does not wait in its mailbox: the runtime
//! keeps one table of pending calls, `call id -> oneshot sender`, and the caller awaits its receiver with a
//! timeout ([`PendingCall::wait`]). The receiver answers with [`Runtime::reply`], which looks the call up and
//! sends once; nothing reaches the caller's mailbox, so a late reply can never be mistaken for the answer to
//! a later call.
//!
//! Bounds and lifetimes (`docs/security.md`):
//! - A caller holds at most [`MAX_PENDING_CALLS`] pending calls (a process is blocked in one, but the table
//!   also serves non-process callers, which may hold several); each is charged [`PENDING_CALL_BYTES`] to the
//!   caller's memory account. Over either: `LIMIT_EXCEEDED`, nothing is sent.
//! - A pending call ends when its answer comes, when the caller stops waiting (timeout, its future dropped
//!   by a terminate or a cancel deadline) and when the caller exits: nothing outlives its process.
//! - The target exiting before it replies ends its pending calls with `UNAVAILABLE` naming its exit reason.
//! - A reply is bounded like a message of the replier (its host's `max_message_bytes` and depth). It needs
//!   no permission of its own (the call was decided) and is written as a `proc.reply` record; a reply that
//!   finds its caller gone (timed out, exited) is dropped, counted ([`Runtime::dropped_replies`]) and
//!   recorded with `delivered: false`.

use hashbrown::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::oneshot;

use super::Runtime;
use super::messaging::check_payload;
use super::spawn::check_topic;
use crate::error::{Error, Result};
use crate::gate::{Caller, Decider, OpKind, Operation, Permit, SubjectRef};
use crate::limits::{Charge, QUEUED_OVERHEAD};
use crate::lock;
use crate::mailbox::Message;
use crate::pid::Pid;
use crate::process::{Exit, Process};
use crate::value::Value;

/// The most calls one caller may have pending at once (`LIMIT_EXCEEDED` beyond).
pub const MAX_PENDING_CALLS: usize = 1024;

/// The most calls callers that are no process (the node's API, through [`Runtime::deliver_call`]) may have
/// pending at once, together.
pub const MAX_PENDING_NODE_CALLS: usize = 16 * MAX_PENDING_CALLS;

/// What a pending call costs its caller's memory account while it waits, in bytes.
pub const PENDING_CALL_BYTES: u64 = QUEUED_OVERHEAD;

/// How long `process.call` waits for its reply when no timeout is given (`models.md`: `5s`).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The reference a called process answers with (`msg:reply_to()`): opaque to scripts, it names the call and
/// the process it was sent to. Only core makes one; it is answered at most once ([`Runtime::reply`]).
#[derive(Debug)]
pub struct CallRef {
    id: u64,
    /// The `op` id of the call's decisions, for the `proc.reply` record.
    op: u64,
    caller: Option<Pid>,
    target: Pid,
    answered: AtomicBool,
}

impl CallRef {
    /// The call's id, unique in its runtime.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The caller's PID; `None` for a caller that is no process (the node's API).
    pub fn caller(&self) -> Option<&Pid> {
        self.caller.as_ref()
    }

    /// The process the call was sent to: the only one whose reply counts.
    pub fn target(&self) -> &Pid {
        &self.target
    }

    /// Whether it was answered already (a second reply returns `false`).
    pub fn is_answered(&self) -> bool {
        self.answered.load(Ordering::Acquire)
    }
}

/// One waiting caller.
struct Waiting {
    tx: oneshot::Sender<Result<Value>>,
    caller: Option<Pid>,
    target: Pid,
    _charge: Charge,
}

/// The runtime's pending calls, indexed by caller and by target so that either's exit finds its own.
#[derive(Default)]
pub(crate) struct Calls {
    next: u64,
    pending: HashMap<u64, Waiting>,
    of_caller: HashMap<Option<Pid>, HashSet<u64>>,
    to_target: HashMap<Pid, HashSet<u64>>,
    /// Replies that found their caller gone.
    dropped: u64,
}

impl Calls {
    fn take(&mut self, id: u64) -> Option<Waiting> {
        let waiting = self.pending.remove(&id)?;
        remove_index(&mut self.of_caller, &waiting.caller, id);
        remove_index(&mut self.to_target, &waiting.target, id);
        Some(waiting)
    }
}

fn remove_index<K: std::hash::Hash + Eq + Clone>(index: &mut HashMap<K, HashSet<u64>>, key: &K, id: u64) {
    if let Some(ids) = index.get_mut(key) {
        ids.remove(&id);
        if ids.is_empty() {
            index.remove(key);
        }
    }
}

/// A call on its way: await [`PendingCall::wait`] for the reply. Dropping it (a timeout, a caller that is
/// terminated while it waits) removes the call from the table, so a later reply is dropped and counted.
#[must_use = "a call's reply is only received by waiting for it"]
pub struct PendingCall {
    runtime: Runtime,
    id: u64,
    target: Pid,
    rx: oneshot::Receiver<Result<Value>>,
}

impl std::fmt::Debug for PendingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCall").field("id", &self.id).field("target", &self.target).finish()
    }
}

impl PendingCall {
    /// The call's id ([`CallRef::id`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Waits (yielding) for the reply, at most `timeout` (tokio time). Errors: `Timeout` naming the target
    /// and the time waited; `Unavailable` when the target exited before it replied (naming its exit reason).
    pub async fn wait(mut self, timeout: Duration) -> Result<Value> {
        match tokio::time::timeout(timeout, &mut self.rx).await {
            Ok(Ok(answer)) => answer,
            // The sender is only dropped unanswered by an exit, which answers first; say so anyway.
            Ok(Err(_)) => Err(Error::Unavailable(format!("`{}` will not reply", self.target))),
            Err(_) => Err(Error::Timeout(format!(
                "`{}` did not reply within {}",
                self.target,
                humantime::format_duration(timeout)
            ))),
        }
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        // Answered calls are gone already; otherwise the caller stopped waiting.
        drop(lock(&self.runtime.inner.calls).take(self.id));
    }
}

impl Runtime {
    /// `process.call`: sends `payload` on `topic` from `from` to `dest` as a call and waits (yielding) for
    /// the reply, at most `timeout`. Decided as `process.send` and `process.call` on the target, both with
    /// `context.topic`. Returns the reply value. Errors: those of [`Runtime::start_call`], then of
    /// [`PendingCall::wait`] (`Timeout`, `Unavailable`).
    pub async fn call(
        &self,
        from: &Process,
        dest: &str,
        topic: &str,
        payload: Vec<Value>,
        timeout: Duration,
    ) -> Result<Value> {
        self.start_call(from, dest, topic, payload)?.wait(timeout).await
    }

    /// The first half of [`Runtime::call`]: decides the call and delivers it, returning the pending call to
    /// wait on. Errors, with nothing delivered: `Invalid` for a reserved or empty topic or a call of the
    /// caller itself (it could not reply while it waits); `LimitExceeded` for a payload over the caller's
    /// host bounds, a full mailbox (calls take no fallback: the reply reference would be lost), the caller's
    /// pending-call bound or its memory limit; `NotFound`; `PermissionDenied` naming the first action denied.
    pub fn start_call(&self, from: &Process, dest: &str, topic: &str, payload: Vec<Value>) -> Result<PendingCall> {
        check_topic(topic)?;
        let bytes = check_payload(from, &payload)?;
        let target = self.resolve_for(from, dest)?;
        if target.pid() == from.pid() {
            return Err(Error::Invalid(format!(
                "`{}` cannot call itself: it could not reply while it waits",
                from.pid()
            )));
        }
        let permit = self.gate().check(&from.caller(), Operation::Call { target: &target.target(), topic, bytes })?;
        self.deliver_call(permit, Some(from), from.actor_id(), &target, topic, payload, bytes)
    }

    /// A call from a caller that is no process (the node's HTTP API): decided for `caller` (whose `pid` is
    /// `None`) at the gate like a process's call, bounded by the target's host message bounds, with no sender
    /// PID in the message. Returns the pending call. Errors: as [`Runtime::start_call`].
    pub fn start_call_as(&self, caller: &Caller, dest: &str, topic: &str, payload: Vec<Value>) -> Result<PendingCall> {
        self.call_decided_by(Decider::own(self.gate()), caller, dest, topic, payload)
    }

    /// A call from a caller that is no process, decided by `decider` (the app's gate, or the node's for an API
    /// caller): the steps of [`Runtime::start_call_as`], shared with [`Runtime::api_call`].
    pub(super) fn call_decided_by(
        &self,
        decider: Decider<'_>,
        caller: &Caller,
        dest: &str,
        topic: &str,
        payload: Vec<Value>,
    ) -> Result<PendingCall> {
        check_topic(topic)?;
        let target = self.resolve(dest)?;
        let bytes = super::messaging::check_values(&target.host().spec, &payload)?;
        let permit = decider.check(caller, Operation::Call { target: &target.target(), topic, bytes })?;
        let actor = caller.actor.as_ref().map(|a| Arc::<str>::from(a.id.as_str()));
        self.deliver_call(permit, None, actor, &target, topic, payload, bytes)
    }

    /// Delivers a decided call: `permit` must be a [`Operation::Call`] permit for `target` and `topic`.
    /// `from` is the calling process (`None` for the node's API: the message then has no sender PID and the
    /// call counts against [`MAX_PENDING_NODE_CALLS`]), `actor` the caller's actor id (`msg:from_actor()`),
    /// `bytes` the payload's size ([`Value::size`], already checked against the caller's bounds).
    /// Errors: `Internal` for a permit of another kind or target; `NotFound` when the target exited;
    /// `LimitExceeded` for the pending-call bound, the caller's memory limit or a full mailbox (the payload
    /// handed back in [`Error::MailboxFull`]). On error nothing was delivered and nothing is pending.
    #[allow(clippy::too_many_arguments, reason = "the parts of a decided call, each named in the docs")]
    pub(crate) fn deliver_call(
        &self,
        permit: Permit,
        from: Option<&Process>,
        actor: Option<Arc<str>>,
        target: &Arc<Process>,
        topic: &str,
        payload: Vec<Value>,
        bytes: usize,
    ) -> Result<PendingCall> {
        let op = permit.op_id();
        permit.redeem(OpKind::Call, SubjectRef::Message { to: target.pid(), topic })?;
        let (reference, pending) = self.open_call(from, target, op)?;
        let message = Message::new(from.map(|p| p.pid().clone()), topic.into(), payload.into())
            .with_actor(actor)
            .with_reply(reference);
        match target.mailbox().deliver(message, bytes) {
            Ok(_) => {
                if let Some(from) = from {
                    from.messages_out.fetch_add(1, Ordering::Relaxed);
                }
                target.messages_in.fetch_add(1, Ordering::Relaxed);
                self.inner.counters.message();
                Ok(pending)
            }
            Err(refused) => {
                let sender = from.map_or_else(|| "api".to_string(), |p| p.pid().to_string());
                self.audit_overflow(target, sender, &refused.topic);
                Err(Error::MailboxFull {
                    pid: target.pid().to_string(),
                    capacity: target.limits().mailbox,
                    payload: refused.payload.to_vec(),
                })
            }
        }
    }

    /// Puts a call in the table, bounded and charged to the caller, if the target still lives.
    fn open_call(&self, from: Option<&Process>, target: &Process, op: u64) -> Result<(Arc<CallRef>, PendingCall)> {
        let caller = from.map(|p| p.pid().clone());
        let bound = if from.is_some() { MAX_PENDING_CALLS } else { MAX_PENDING_NODE_CALLS };
        let mut calls = lock(&self.inner.calls);
        // INVARIANT: checked under the calls lock, and `finish` marks a process dead before it takes this lock
        // to fail the calls to it, so a call is either refused here or failed by the exit, never left waiting.
        if !target.is_alive() {
            return Err(Error::NoSuchProcess { dest: target.pid().to_string() });
        }
        let held = calls.of_caller.get(&caller).map_or(0, HashSet::len);
        if held >= bound {
            let who = caller.as_ref().map_or_else(|| "the node's API".to_string(), |p| format!("`{p}`"));
            return Err(Error::Limit { what: format!("{who} has its maximum of {bound} calls pending") });
        }
        let charge = match from {
            Some(p) => p.account().try_charge(PENDING_CALL_BYTES)?,
            None => Charge::default(),
        };
        calls.next = calls.next.wrapping_add(1);
        let id = calls.next;
        let (tx, rx) = oneshot::channel();
        calls.pending.insert(id, Waiting { tx, caller: caller.clone(), target: target.pid().clone(), _charge: charge });
        calls.of_caller.entry(caller.clone()).or_default().insert(id);
        calls.to_target.entry(target.pid().clone()).or_default().insert(id);
        drop(calls);
        let reference =
            Arc::new(CallRef { id, op, caller, target: target.pid().clone(), answered: AtomicBool::new(false) });
        Ok((reference, PendingCall { runtime: self.clone(), id, target: target.pid().clone(), rx }))
    }

    /// `msg:reply(value)` / `process.reply(ref, value)`: answers the call `to` with `value`. Returns `true`
    /// for the first reply of the process the call was sent to, also when the caller stopped waiting (the
    /// reply is then dropped and counted); `false` for a call answered already and for a reply from any
    /// other process. Needs no permission (the call was decided); written as `proc.reply`.
    /// Errors: `LimitExceeded` for a value over the replier's host message bounds (the call stays
    /// unanswered, so a smaller reply can follow).
    pub fn reply(&self, from: &Process, to: &CallRef, value: Value) -> Result<bool> {
        if to.target != *from.pid() {
            return Ok(false);
        }
        let bytes = check_payload(from, std::slice::from_ref(&value))?;
        if to.answered.swap(true, Ordering::AcqRel) {
            return Ok(false);
        }
        let waiting = lock(&self.inner.calls).take(to.id);
        let delivered = waiting.is_some_and(|w| w.tx.send(Ok(value)).is_ok());
        if !delivered {
            let mut calls = lock(&self.inner.calls);
            calls.dropped = calls.dropped.saturating_add(1);
        }
        let caller = to.caller.as_ref().map_or(Json::Null, |p| Json::from(p.to_string()));
        self.audit_event(
            "proc.reply",
            [
                ("pid", from.pid().to_string().into()),
                ("caller", caller),
                ("op", to.op.into()),
                ("delivered", delivered.into()),
                ("bytes", bytes.into()),
            ],
        );
        Ok(true)
    }

    /// Calls pending now, of every caller.
    pub fn pending_calls(&self) -> usize {
        lock(&self.inner.calls).pending.len()
    }

    /// Calls `pid` has pending now (0 for a process that is not alive).
    pub fn pending_calls_of(&self, pid: &Pid) -> usize {
        lock(&self.inner.calls).of_caller.get(&Some(pid.clone())).map_or(0, HashSet::len)
    }

    /// Replies dropped so far because their caller had stopped waiting (timed out, or exited).
    pub fn dropped_replies(&self) -> u64 {
        lock(&self.inner.calls).dropped
    }

    /// `process` exits: the calls it waits for are forgotten, and the calls to it end with `Unavailable`
    /// naming its exit reason. Called by `finish` after the process is marked dead.
    pub(crate) fn end_calls_of(&self, process: &Process, exit: &Exit) {
        let pid = process.pid();
        let (own, to_it) = {
            let mut calls = lock(&self.inner.calls);
            let own: Vec<Waiting> = calls
                .of_caller
                .get(&Some(pid.clone()))
                .map(|ids| ids.iter().copied().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|id| calls.take(id))
                .collect();
            let to_it: Vec<Waiting> = calls
                .to_target
                .get(pid)
                .map(|ids| ids.iter().copied().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|id| calls.take(id))
                .collect();
            (own, to_it)
        };
        drop(own);
        if to_it.is_empty() {
            return;
        }
        let why = match &exit.result {
            Ok(_) => exit.reason.as_str().to_string(),
            Err(error) => format!("{}: {}", exit.reason.as_str(), crate::limits::cut(error, 256)),
        };
        for waiting in to_it {
            let error = Error::Unavailable(format!("`{pid}` exited before it replied ({why})"));
            // A caller that stopped waiting meanwhile needs no answer.
            let _ = waiting.tx.send(Err(error));
        }
    }
}
