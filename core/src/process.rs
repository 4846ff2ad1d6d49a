//! A live process as the runtime holds it, and how processes end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use corral_policy::Actor;

use crate::app::{Entry, HostSpec};
use crate::gate::{Caller, Target};
use crate::limits::{Account, Limits, Usage};
use crate::lock;
use crate::mailbox::Mailbox;
use crate::pid::Pid;
use crate::value::Value;

/// Why a process ended (`lua-api.md`, "Events and exits"; the audit log's `proc.exit` reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// `main` returned a value and no error.
    Normal,
    /// `main` raised, or returned a second value that is not nil.
    Error,
    /// `process.terminate`.
    Terminated,
    /// A cancel deadline passed before the process returned.
    Cancelled,
    /// A linked process exited abnormally and this one does not trap links.
    LinkDown,
    /// The process went over its memory limit (`limit.memory`); `pcall` cannot catch it.
    LimitMemory,
    /// The process spent its compute budget (`limit.compute`); `pcall` cannot catch it.
    LimitCompute,
    /// The runtime stopped.
    Shutdown,
    /// The host failed while running the process (a panic in its task, caught at the task boundary): the
    /// process ends, its monitors and links are told, and the node keeps serving (issue 9, class 2).
    Internal,
}

impl ExitReason {
    /// The name the audit log uses, e.g. `limit.memory`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Normal => "normal",
            ExitReason::Error => "error",
            ExitReason::Terminated => "terminated",
            ExitReason::Cancelled => "cancelled",
            ExitReason::LinkDown => "link_down",
            ExitReason::LimitMemory => "limit.memory",
            ExitReason::LimitCompute => "limit.compute",
            ExitReason::Shutdown => "shutdown",
            ExitReason::Internal => "internal",
        }
    }
}

/// How a process ended: the reason, and its value or error text.
#[derive(Clone, Debug, PartialEq)]
pub struct Exit {
    /// Why.
    pub reason: ExitReason,
    /// `Ok(value)` for a normal exit, `Err(message)` for any other.
    pub result: Result<Value, String>,
}

impl Exit {
    /// A normal exit with `value`.
    pub fn normal(value: Value) -> Exit {
        Exit { reason: ExitReason::Normal, result: Ok(value) }
    }

    /// An abnormal exit for `reason` with `message`.
    pub fn abnormal(reason: ExitReason, message: impl Into<String>) -> Exit {
        Exit { reason, result: Err(message.into()) }
    }

    /// Whether links fire: everything but a normal exit.
    pub fn is_abnormal(&self) -> bool {
        self.reason != ExitReason::Normal
    }
}

/// The runtime's view of a host: its limits and how many processes it runs.
#[derive(Debug)]
pub struct Host {
    /// The limits from the manifest (or defaults).
    pub spec: HostSpec,
    /// Its id, shared by the PIDs of its processes.
    pub(crate) id: Arc<str>,
    pub(crate) live: std::sync::atomic::AtomicUsize,
    /// The fallback process this host started (`fallback:` naming an entry), while it lives; held while it is
    /// looked up or started, so one host never starts two.
    pub(crate) fallback: Mutex<Option<Pid>>,
}

impl Host {
    /// A host with nothing running.
    pub fn new(spec: HostSpec) -> Host {
        let id = spec.id.as_str().into();
        Host { spec, id, live: std::sync::atomic::AtomicUsize::new(0), fallback: Mutex::new(None) }
    }

    /// Processes running on it now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }
}

/// A live process. The sandbox holds one per running script and calls the runtime with it.
pub struct Process {
    pid: Pid,
    entry: Arc<Entry>,
    host: Arc<Host>,
    actor: Option<Arc<Actor>>,
    scopes: Arc<[String]>,
    context: Arc<BTreeMap<String, Value>>,
    parent: Option<Pid>,
    mailbox: Mailbox,
    trap_links: AtomicBool,
    alive: AtomicBool,
    /// Set once `kill_exit` holds the exit asked for; the process's task waits on `kill_waker` for it.
    killed: AtomicBool,
    kill_waker: futures_util::task::AtomicWaker,
    /// Boxed: an idle process holds a pointer here, not an exit.
    kill_exit: Mutex<Option<Box<Exit>>>,
    pub(crate) started: Instant,
    /// When it started, as wall time (`ProcessInfo::started_at`).
    pub(crate) started_at: std::time::SystemTime,
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    limits: Limits,
    usage: Usage,
    account: Arc<Account>,
    /// Its entry id and actor id, made once: every call's caller and every target share them.
    entry_id: Arc<str>,
    actor_id: Arc<str>,
    /// The last PID this process sent to and the live process it named: repeated sends to one PID skip the
    /// parse and the process table's lock (PIDs are never reused, so a live match is the same process).
    pub(crate) last_dest: Mutex<Option<(Box<str>, std::sync::Weak<Process>)>>,
    /// The last send and spawn this process was allowed, for deciding a repeated one quickly.
    pub(crate) memo: crate::gate::Memo,
    /// Dead PIDs this process was already told `noproc` about (a repeated `monitor` is idempotent), each
    /// charged to its account. Made on first use: most processes never monitor a dead one.
    #[allow(clippy::box_collection, reason = "boxed, an unused set costs a pointer, not a map's 48 bytes")]
    noproc: Mutex<Option<Box<std::collections::HashMap<Pid, crate::limits::Charge>>>>,
    pub(crate) children: std::sync::atomic::AtomicUsize,
    /// The tasks it owns (timers, tickers, a cancel deadline), aborted when it exits; made with its first
    /// task (an idle process owns none).
    owned: Mutex<OwnedSlot>,
}

/// [`Owned`], made with the first task, and whether the process has exited.
#[derive(Default)]
struct OwnedSlot {
    /// Set when the process exits: nothing more is owned, and a task spawned meanwhile is aborted.
    closed: bool,
    owned: Option<Box<Owned>>,
}

/// The tasks a process owns (`runtime/owned.rs`): id -> abort handle (`None` while being spawned).
#[derive(Default)]
struct Owned {
    tasks: std::collections::BTreeMap<u64, Option<tokio::task::AbortHandle>>,
    next: u64,
    /// The counted tasks among `tasks` (all but the cancel deadline).
    counted: usize,
    uncounted: std::collections::BTreeSet<u64>,
    /// The pending cancel deadline: when it fires, as wall time, and its task id (boxed: rarely set).
    cancel: Option<Box<(tokio::time::Instant, std::time::SystemTime, u64)>>,
}

/// What a new process is made of.
pub(crate) struct Identity {
    pub pid: Pid,
    pub entry: Arc<Entry>,
    pub host: Arc<Host>,
    pub actor: Option<Arc<Actor>>,
    pub scopes: Arc<[String]>,
    pub context: Arc<BTreeMap<String, Value>>,
    pub parent: Option<Pid>,
    pub limits: Limits,
    /// The parent's actor id, shared when the child runs as the same actor (one string for a whole tree of
    /// processes instead of one per process).
    pub parent_actor_id: Option<Arc<str>>,
}

impl Process {
    pub(crate) fn new(id: Identity) -> Process {
        let capacity = id.limits.mailbox;
        let account = Arc::new(Account::new(id.limits.memory));
        let entry_id = id.entry.shared_id().clone();
        let actor_id: Arc<str> = match (&id.parent_actor_id, &id.actor) {
            (Some(shared), Some(actor)) if **shared == *actor.id => shared.clone(),
            _ => id.actor.as_ref().map_or("", |a| a.id.as_str()).into(),
        };
        Process {
            pid: id.pid,
            entry: id.entry,
            host: id.host,
            actor: id.actor,
            scopes: id.scopes,
            context: id.context,
            parent: id.parent,
            mailbox: Mailbox::new(capacity, account.clone()),
            trap_links: AtomicBool::new(false),
            alive: AtomicBool::new(true),
            killed: AtomicBool::new(false),
            kill_waker: futures_util::task::AtomicWaker::new(),
            kill_exit: Mutex::new(None),
            started: Instant::now(),
            started_at: std::time::SystemTime::now(),
            messages_in: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            limits: id.limits,
            usage: Usage::default(),
            account,
            entry_id,
            actor_id,
            noproc: Mutex::new(None),
            last_dest: Mutex::new(None),
            memo: crate::gate::Memo::default(),
            children: std::sync::atomic::AtomicUsize::new(0),
            owned: Mutex::new(OwnedSlot::default()),
        }
    }

    /// Its PID.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// The entry it runs (after an upgrade, the entry it started with).
    pub fn entry(&self) -> &Arc<Entry> {
        &self.entry
    }

    /// Its host.
    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }

    /// The actor it acts for, if any.
    pub fn actor(&self) -> Option<&Arc<Actor>> {
        self.actor.as_ref()
    }

    /// Its policy scope names.
    pub fn scopes(&self) -> &Arc<[String]> {
        &self.scopes
    }

    /// Context values (`ctx.get`), inherited from the parent and merged by the SpawnBuilder.
    pub fn context(&self) -> &Arc<BTreeMap<String, Value>> {
        &self.context
    }

    /// The spawning process, if any.
    pub fn parent(&self) -> Option<&Pid> {
        self.parent.as_ref()
    }

    /// The limits it runs under: the host's maxima, narrowed by its spawn.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What it used (peak memory, compute), filled by the sandbox when its code stops.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// Its memory account: Lua heap plus what the host holds for it, against its memory limit.
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }

    /// Whether it was already told `noproc` about `pid`.
    pub(crate) fn told_noproc(&self, pid: &Pid) -> bool {
        lock(&self.noproc).as_ref().is_some_and(|told| told.contains_key(pid))
    }

    /// Remembers that it was told `noproc` about `pid`, charging its account for the entry.
    pub(crate) fn remember_noproc(&self, pid: &Pid) {
        let charge = self.account.charge(crate::limits::QUEUED_OVERHEAD);
        lock(&self.noproc).get_or_insert_default().insert(pid.clone(), charge);
    }

    /// Its live children (bounded by the host's `max_children`).
    pub fn children(&self) -> usize {
        self.children.load(Ordering::Acquire)
    }

    /// Its mailbox.
    pub fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }

    /// `trap_links` (`process.get_options`).
    pub fn trap_links(&self) -> bool {
        self.trap_links.load(Ordering::Acquire)
    }

    /// Sets `trap_links` (`process.set_options`, on the calling process itself).
    pub fn set_trap_links(&self, on: bool) {
        self.trap_links.store(on, Ordering::Release);
    }

    /// Whether it still runs.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Whether someone asked it to stop (terminate, a cancel deadline, LINK_DOWN, shutdown) and it has not
    /// finished yet, or it has exited.
    pub fn is_exiting(&self) -> bool {
        !self.is_alive() || lock(&self.kill_exit).is_some()
    }

    pub(crate) fn mark_dead(&self) {
        self.alive.store(false, Ordering::Release);
    }

    /// The security context its calls carry.
    pub fn caller(&self) -> Caller {
        Caller {
            pid: Some(self.pid.clone()),
            entry: Some(self.entry_id.clone()),
            actor: self.actor.clone(),
            scopes: self.scopes.clone(),
        }
    }

    /// Its actor's id, shared (messages it sends carry it, `msg:from_actor()`); `None` without an actor.
    pub(crate) fn actor_id(&self) -> Option<Arc<str>> {
        self.actor.as_ref().map(|_| self.actor_id.clone())
    }

    /// It as a policy resource.
    pub fn target(&self) -> Target {
        Target { pid: self.pid.clone(), entry: self.entry_id.clone(), actor: self.actor_id.clone() }
    }

    /// Asks the process to stop with `exit`; the first request wins.
    pub(crate) fn kill(&self, exit: Exit) {
        let mut slot = lock(&self.kill_exit);
        if slot.is_none() {
            *slot = Some(Box::new(exit));
        }
        drop(slot);
        self.killed.store(true, Ordering::Release);
        self.kill_waker.wake();
    }

    /// Resolves when someone killed the process, with the exit they asked for.
    /// One task waits on it (the process's own): a poll is a flag's load until it is set.
    pub(crate) fn killed(&self) -> impl std::future::Future<Output = Exit> + '_ {
        std::future::poll_fn(move |cx| {
            if !self.killed.load(Ordering::Acquire) {
                self.kill_waker.register(cx.waker());
                // Checked again after registering, so a kill between the two is not missed.
                if !self.killed.load(Ordering::Acquire) {
                    return std::task::Poll::Pending;
                }
            }
            match lock(&self.kill_exit).as_deref().cloned() {
                Some(exit) => std::task::Poll::Ready(exit),
                None => std::task::Poll::Pending,
            }
        })
    }

    /// Tasks it owns now (timers, tickers, a pending cancel deadline); 0 once it has exited.
    pub fn owned_tasks(&self) -> usize {
        lock(&self.owned).owned.as_ref().map_or(0, |o| o.tasks.len())
    }

    /// Takes an id for a task about to be spawned; `bound` limits the counted tasks. Errors: `LimitExceeded`
    /// at the bound, `NotFound` after the exit.
    pub(crate) fn reserve_owned(&self, bound: Option<usize>) -> crate::Result<u64> {
        let mut slot = lock(&self.owned);
        if slot.closed {
            return Err(crate::runtime::owned_exited(self));
        }
        let owned = slot.owned.get_or_insert_with(Box::default);
        if let Some(max) = bound
            && owned.counted >= max
        {
            return Err(crate::Error::Limit {
                what: format!("{} holds its maximum of {max} timers and tickers", self.pid),
            });
        }
        let id = owned.next;
        owned.next = owned.next.wrapping_add(1);
        owned.tasks.insert(id, None);
        if bound.is_some() {
            owned.counted += 1;
        } else {
            owned.uncounted.insert(id);
        }
        Ok(id)
    }

    /// Records the abort handle of task `id`; aborts it at once when the process exited meanwhile.
    pub(crate) fn fill_owned(&self, id: u64, handle: tokio::task::AbortHandle) {
        let mut slot = lock(&self.owned);
        if slot.closed {
            drop(slot);
            handle.abort();
        } else if let Some(task) = slot.owned.as_mut().and_then(|o| o.tasks.get_mut(&id)) {
            *task = Some(handle);
        }
    }

    /// Forgets task `id` (it ended, or was aborted).
    pub(crate) fn forget_owned(&self, id: u64) {
        let mut slot = lock(&self.owned);
        let Some(owned) = slot.owned.as_mut() else { return };
        if owned.tasks.remove(&id).is_some() && !owned.uncounted.remove(&id) {
            owned.counted = owned.counted.saturating_sub(1);
        }
        if owned.cancel.as_deref().is_some_and(|&(_, _, c)| c == id) {
            owned.cancel = None;
        }
    }

    /// Aborts task `id`, if it still runs.
    pub(crate) fn abort_owned(&self, id: u64) {
        let handle = lock(&self.owned).owned.as_ref().and_then(|o| o.tasks.get(&id).cloned().flatten());
        if let Some(handle) = handle {
            handle.abort();
        }
        self.forget_owned(id);
    }

    /// Aborts every task it owns and owns nothing more (it exits).
    pub(crate) fn abort_all_owned(&self) {
        let tasks = {
            let mut slot = lock(&self.owned);
            slot.closed = true;
            slot.owned.take()
        };
        for handle in tasks.into_iter().flat_map(|o| o.tasks.into_values()).flatten() {
            handle.abort();
        }
    }

    /// The pending cancel deadline: when it fires, and as wall time.
    pub(crate) fn pending_cancel(&self) -> Option<(tokio::time::Instant, std::time::SystemTime)> {
        lock(&self.owned).owned.as_ref()?.cancel.as_deref().map(|&(when, at, _)| (when, at))
    }

    /// Makes task `id`, firing at `when` (`at` as wall time), the pending cancel deadline unless an earlier
    /// one is pending. Returns the task that lost (the earlier pending one, or `id` itself) to abort.
    pub(crate) fn set_cancel(&self, when: tokio::time::Instant, at: std::time::SystemTime, id: u64) -> Option<u64> {
        let mut slot = lock(&self.owned);
        let owned = slot.owned.get_or_insert_with(Box::default);
        match owned.cancel.as_deref() {
            Some(&(pending, _, _)) if pending <= when => Some(id),
            _ => owned.cancel.replace(Box::new((when, at, id))).map(|previous| previous.2),
        }
    }
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process").field("pid", &self.pid).field("entry", &self.entry.id).finish()
    }
}
