//! Which process a Lua call comes from.
//!
//! Processes of one host share a VM, so a module function learns its caller from the runner: while it resumes
//! a process's thread, that process is the current one of the OS thread ([`enter`]). A call from outside a
//! process, or (in Corral's own dialect) from a script's own coroutine, is `INVALID` with "no process context"
//! (seed 003: "未找到上下文").

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use corral_core::app::Entry;
use corral_core::runtime::Upgrade;
use corral_core::value::Value as CoreValue;
use corral_core::{Pid, Process, Runtime};
use mlua::Lua;

use crate::modules::errors::LuaError;

/// An upgrade `process.upgrade` asked for: the new code and the state it starts with.
type Upgrading = (Upgrade, Vec<CoreValue>);

/// What a running process's module calls need.
///
/// Every idle process holds one, so what few processes use (`require`, `print`, `process.upgrade`,
/// `coroutine.spawn`) is kept in a [`Rare`] made on first use.
pub struct ProcCtx {
    /// The node.
    pub runtime: Runtime,
    /// The process.
    pub process: Arc<Process>,
    /// The entry whose code runs now (changes on upgrade).
    pub entry: Arc<Entry>,
    /// The VM the process runs on (its children of the same host start there when it has room).
    pub(crate) vm: std::sync::Weak<crate::vm::Vm>,
    /// Reference-system dialect (`[compat] wippy = true`).
    pub wippy: bool,
    /// How many of the script's own coroutines are being resumed now, one inside the other.
    depth: AtomicUsize,
    /// The wait of the blocking call that parked the process last (`block.rs`), until the runner takes it.
    pub(crate) parked: Mutex<Option<crate::block::Wait>>,
    /// The rest, made on first use.
    rare: OnceLock<Box<Rare>>,
}

/// The part of a [`ProcCtx`] few processes use, made on first use.
#[derive(Default)]
struct Rare {
    /// Modules this process has required (`imports:` load once per process), by library id.
    loaded: Mutex<BTreeMap<String, mlua::Value>>,
    /// This process's `print` rate limit ([`PrintBudget`]; a fresh bucket is full, so making it on the
    /// first `print` is the same as making it with the process).
    print: Mutex<PrintBudget>,
    /// The upgrade `process.upgrade` asked for, until the runner takes it after the call parks.
    upgrade: Mutex<Option<Upgrading>>,
    /// Coroutines `coroutine.spawn` made since the runner last looked (it adopts them as roots).
    spawned: Mutex<Vec<mlua::Thread>>,
    /// The Lua string `msg:from()` gave last, with its PID: a process mostly hears from the same peers in
    /// turn, so the string is made once per peer in a row rather than per message.
    sender: Mutex<Option<(Pid, mlua::LuaString)>>,
}

impl ProcCtx {
    /// The context of `process` running `entry` on `vm`.
    pub(crate) fn new(
        runtime: Runtime,
        process: Arc<Process>,
        entry: Arc<Entry>,
        wippy: bool,
        vm: std::sync::Weak<crate::vm::Vm>,
    ) -> ProcCtx {
        ProcCtx {
            runtime,
            process,
            entry,
            vm,
            wippy,
            depth: AtomicUsize::new(0),
            parked: Mutex::new(None),
            rare: OnceLock::new(),
        }
    }

    fn rare(&self) -> &Rare {
        self.rare.get_or_init(Box::default)
    }

    /// Modules this process has required (`imports:` load once per process), by library id.
    pub fn loaded(&self) -> &Mutex<BTreeMap<String, mlua::Value>> {
        &self.rare().loaded
    }

    /// This process's `print` rate limit ([`PrintBudget`]).
    pub fn print(&self) -> &Mutex<PrintBudget> {
        &self.rare().print
    }

    /// Asks the runner to restart the process with `upgrade` and `args` (`process.upgrade`, a call of the
    /// process itself: the runner looks after each resume).
    pub fn request_upgrade(&self, upgrade: Upgrade, args: Vec<CoreValue>) {
        *self.rare().upgrade.lock().unwrap_or_else(PoisonError::into_inner) = Some((upgrade, args));
    }

    /// Hands `thread` (a new coroutine of this process) to the runner, which runs it as another root
    /// (`coroutine.spawn`).
    pub fn adopt(&self, thread: mlua::Thread) {
        self.rare().spawned.lock().unwrap_or_else(PoisonError::into_inner).push(thread);
    }

    /// The coroutines spawned since the last call.
    pub(crate) fn take_spawned(&self) -> Vec<mlua::Thread> {
        let Some(rare) = self.rare.get() else { return Vec::new() };
        let mut spawned = rare.spawned.lock().unwrap_or_else(PoisonError::into_inner);
        if spawned.is_empty() { Vec::new() } else { std::mem::take(&mut *spawned) }
    }

    /// The Lua string of `pid`, the sender of a message this process reads: the one made last when it is
    /// the same PID, otherwise made on `lua` (in the process's memory) and kept in its place.
    pub(crate) fn sender_string(&self, lua: &Lua, pid: &Pid) -> mlua::Result<mlua::LuaString> {
        let mut sender = self.rare().sender.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, text)) = sender.as_ref().filter(|(kept, _)| kept == pid) {
            return Ok(text.clone());
        }
        let text = lua.create_string(pid.as_str())?;
        *sender = Some((pid.clone(), text.clone()));
        Ok(text)
    }

    /// How many of the script's own coroutines are being resumed now (0: the call comes from a root).
    pub fn coroutine_depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    /// A script's coroutine starts (`true`) or stops (`false`) running inside the process.
    pub(crate) fn nest(&self, inside: bool) {
        if inside {
            self.depth.fetch_add(1, Ordering::Relaxed);
        } else {
            let _ = self.depth.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| d.checked_sub(1));
        }
    }

    /// The upgrade requested since the last call, if any.
    pub(crate) fn take_upgrade(&self) -> Option<(Upgrade, Vec<CoreValue>)> {
        self.rare.get()?.upgrade.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl Drop for ProcCtx {
    /// Says how many `print` lines were dropped since the last one printed, if any (once the process is
    /// gone, nothing else will).
    fn drop(&mut self) {
        let Some(rare) = self.rare.get_mut() else { return };
        let budget = rare.print.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(dropped) = budget.take_dropped() {
            let pid = self.process.pid().to_string();
            tracing::info!(target: "corral::script", %pid, "{dropped} lines dropped");
        }
    }
}

/// Lines a process may `print` in a burst (the bucket's size).
pub const PRINT_BURST: f64 = 100.0;
/// Lines per second a process may `print` once its burst is spent (the bucket's refill rate).
pub const PRINT_RATE: f64 = 100.0;

/// A token bucket over `print` lines: [`PRINT_BURST`] lines at once, then [`PRINT_RATE`] lines per second.
/// Lines over the budget are dropped and counted; the count is said once printing resumes (or the process
/// ends), as `N lines dropped`.
#[derive(Debug)]
pub struct PrintBudget {
    tokens: f64,
    last: std::time::Instant,
    dropped: u64,
}

impl Default for PrintBudget {
    fn default() -> PrintBudget {
        PrintBudget { tokens: PRINT_BURST, last: std::time::Instant::now(), dropped: 0 }
    }
}

impl PrintBudget {
    /// Takes one line's token. `Some(n)`: print it, after saying `n` lines were dropped when `n > 0`.
    /// `None`: over budget, the line is dropped (and counted).
    pub fn take(&mut self) -> Option<u64> {
        let now = std::time::Instant::now();
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * PRINT_RATE;
        self.tokens = (self.tokens + refill).min(PRINT_BURST);
        self.last = now;
        if self.tokens < 1.0 {
            self.dropped += 1;
            return None;
        }
        self.tokens -= 1.0;
        Some(std::mem::take(&mut self.dropped))
    }

    /// The lines dropped since the last line printed, resetting the count; `None` when none were.
    pub fn take_dropped(&mut self) -> Option<u64> {
        Some(std::mem::take(&mut self.dropped)).filter(|n| *n > 0)
    }
}

thread_local! {
    /// The process whose thread this OS thread is resuming now (set by the runner around each resume: Lua
    /// code runs only inside a resume, on the OS thread that called it).
    static RUNNING: RefCell<Option<Arc<ProcCtx>>> = const { RefCell::new(None) };
}

/// While alive, module calls on this OS thread come from `ctx`'s process ([`enter`]).
#[must_use = "the process is current while the guard lives"]
pub(crate) struct Running(Option<Arc<ProcCtx>>);

/// Makes `ctx` the calling process of this OS thread until the guard drops (which restores what was
/// current before).
pub(crate) fn enter(ctx: &Arc<ProcCtx>) -> Running {
    Running(RUNNING.with(|r| r.replace(Some(ctx.clone()))))
}

impl Drop for Running {
    fn drop(&mut self) {
        let previous = self.0.take();
        RUNNING.with(|r| *r.borrow_mut() = previous);
    }
}

/// The calling process. Errors: `INVALID` "no process context" outside a process's threads; in Corral's own
/// dialect also from a coroutine a script created (`coroutine.create`/`wrap`: seed 003, "未找到上下文"), while
/// the reference dialect lets its process calls run there (`wippy-compat.md`, "coroutines").
///
/// The process is the one the runner resumes on this OS thread ([`enter`]): no map, no lock. Whether the
/// call comes from inside a script's coroutine is the process's coroutine depth, kept by the VM's
/// `coroutine.resume` (`block.rs`).
pub fn current(_lua: &Lua) -> Result<Arc<ProcCtx>, LuaError> {
    let no_context = || LuaError::invalid("no process context: process functions run only on a process's own thread");
    let ctx = RUNNING.with(|r| r.borrow().clone()).ok_or_else(no_context)?;
    if ctx.wippy || ctx.coroutine_depth() == 0 { Ok(ctx) } else { Err(no_context()) }
}

/// The running process without the coroutine rule of [`current`] (for the runtime's own glue).
pub(crate) fn running() -> Option<Arc<ProcCtx>> {
    RUNNING.with(|r| r.borrow().clone())
}

/// Runs `f` with the running process (see [`running`]), without taking a reference to it.
pub(crate) fn with_running<R>(f: impl FnOnce(&ProcCtx) -> R) -> Option<R> {
    RUNNING.with(|r| r.borrow().as_deref().map(f))
}

/// Like [`current`], as an `mlua` error for functions that raise.
pub fn current_or_raise(lua: &Lua) -> mlua::Result<Arc<ProcCtx>> {
    current(lua).map_err(|e| mlua::Error::runtime(e.message))
}
