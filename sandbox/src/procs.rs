//! Which process a Lua call comes from.
//!
//! Processes of one host share a VM, so a module function learns its caller from the Lua thread it runs on:
//! each process's thread is registered here while it runs. A call from a thread that belongs to no process
//! (a script's own coroutine) is `INVALID` with "no process context" (seed 003: "未找到上下文").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use corral_core::app::Entry;
use corral_core::runtime::Upgrade;
use corral_core::value::Value as CoreValue;
use corral_core::{Process, Runtime};
use mlua::Lua;
use tokio::sync::Notify;

use crate::modules::errors::LuaError;

/// What a running process's module calls need.
pub struct ProcCtx {
    /// The node.
    pub runtime: Runtime,
    /// The process.
    pub process: Arc<Process>,
    /// The entry whose code runs now (changes on upgrade).
    pub entry: Arc<Entry>,
    /// Reference-system dialect (`[compat] wippy = true`).
    pub wippy: bool,
    /// Modules this process has required (`imports:` load once per process), by library id.
    pub loaded: Mutex<HashMap<String, mlua::Value>>,
    /// This process's `print` rate limit ([`PrintBudget`]).
    pub print: Mutex<PrintBudget>,
    upgrade: Mutex<Option<(Upgrade, Vec<CoreValue>)>>,
    upgraded: Notify,
}

impl ProcCtx {
    /// The context of `process` running `entry`.
    pub fn new(runtime: Runtime, process: Arc<Process>, entry: Arc<Entry>, wippy: bool) -> ProcCtx {
        ProcCtx {
            runtime,
            process,
            entry,
            wippy,
            loaded: Mutex::new(HashMap::new()),
            print: Mutex::new(PrintBudget::default()),
            upgrade: Mutex::new(None),
            upgraded: Notify::new(),
        }
    }

    /// Asks the runner to restart the process with `upgrade` and `args` (`process.upgrade`).
    pub fn request_upgrade(&self, upgrade: Upgrade, args: Vec<CoreValue>) {
        *self.upgrade.lock().unwrap_or_else(PoisonError::into_inner) = Some((upgrade, args));
        self.upgraded.notify_one();
    }

    /// Resolves once an upgrade was requested, with it.
    pub async fn upgraded(&self) -> (Upgrade, Vec<CoreValue>) {
        loop {
            self.upgraded.notified().await;
            if let Some(request) = self.upgrade.lock().unwrap_or_else(PoisonError::into_inner).take() {
                return request;
            }
        }
    }
}

impl Drop for ProcCtx {
    /// Says how many `print` lines were dropped since the last one printed, if any (once the process is
    /// gone, nothing else will).
    fn drop(&mut self) {
        let budget = self.print.get_mut().unwrap_or_else(PoisonError::into_inner);
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

/// Thread pointer -> process, per VM (kept in the VM's app data). hashbrown's default hasher (foldhash): the
/// keys are addresses the runtime chose, not tenant input, so no flooding-resistant hash is needed here.
#[derive(Default)]
pub struct Procs(Mutex<hashbrown::HashMap<usize, Arc<ProcCtx>>>);

impl Procs {
    /// Registers `thread` as running `ctx`.
    pub fn insert(&self, thread: usize, ctx: Arc<ProcCtx>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(thread, ctx);
    }

    /// Forgets `thread`.
    pub fn remove(&self, thread: usize) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(&thread);
    }

    /// The process `thread` runs for.
    pub fn get(&self, thread: usize) -> Option<Arc<ProcCtx>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).get(&thread).cloned()
    }

    /// Processes running on this VM.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The calling process. Errors: `INVALID` "no process context" outside a process thread.
///
/// The running thread is found by its address (`interrupt::running_thread`, no registry reference); a thread
/// mlua made for an async call on a process's behalf is looked up through `Lua::current_thread`, which maps it
/// to the thread that owns it.
pub fn current(lua: &Lua) -> Result<Arc<ProcCtx>, LuaError> {
    let no_context = || LuaError::invalid("no process context: process functions run only on a process's own thread");
    let procs = lua.app_data_ref::<Procs>().ok_or_else(no_context)?;
    if let Some(ctx) = procs.get(crate::interrupt::running_thread(lua)) {
        return Ok(ctx);
    }
    procs.get(lua.current_thread().to_pointer() as usize).ok_or_else(no_context)
}

/// Like [`current`], as an `mlua` error for functions that raise.
pub fn current_or_raise(lua: &Lua) -> mlua::Result<Arc<ProcCtx>> {
    current(lua).map_err(|e| mlua::Error::runtime(e.message))
}
