//! Which process a Lua call comes from.
//!
//! Processes of one host share a VM, so a module function learns its caller from the Lua thread it runs on:
//! each process's thread is registered here while it runs. A call from a thread that belongs to no process
//! (a script's own coroutine) is `INVALID` with "no process context" (seed 003: "未找到上下文").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwapOption;
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
    /// Coroutines `coroutine.spawn` made since the runner last looked (it adopts them as roots).
    spawned: Mutex<Vec<mlua::Thread>>,
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
            spawned: Mutex::new(Vec::new()),
        }
    }

    /// Asks the runner to restart the process with `upgrade` and `args` (`process.upgrade`).
    pub fn request_upgrade(&self, upgrade: Upgrade, args: Vec<CoreValue>) {
        *self.upgrade.lock().unwrap_or_else(PoisonError::into_inner) = Some((upgrade, args));
        self.upgraded.notify_one();
    }

    /// Hands `thread` (a new coroutine of this process) to the runner, which runs it as another root
    /// (`coroutine.spawn`).
    pub fn adopt(&self, thread: mlua::Thread) {
        self.spawned.lock().unwrap_or_else(PoisonError::into_inner).push(thread);
    }

    /// The coroutines spawned since the last call.
    pub(crate) fn take_spawned(&self) -> Vec<mlua::Thread> {
        let mut spawned = self.spawned.lock().unwrap_or_else(PoisonError::into_inner);
        if spawned.is_empty() { Vec::new() } else { std::mem::take(&mut *spawned) }
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

/// Memory category -> the process that holds it, per VM (kept in the VM's app data). A process's threads (its
/// main thread, its `coroutine.spawn` threads and the coroutines they create) all carry its metering slot,
/// so the running thread's slot names its process without a map or a lock (`interrupt::running_owner`).
pub struct Procs(Vec<ArcSwapOption<ProcCtx>>);

impl Default for Procs {
    fn default() -> Procs {
        Procs((0..=crate::interrupt::SLOTS).map(|_| ArcSwapOption::empty()).collect())
    }
}

impl Procs {
    /// Registers `ctx` as the process metered by `category`'s slot.
    pub fn insert(&self, category: u8, ctx: Arc<ProcCtx>) {
        if let Some(cell) = self.0.get(usize::from(category)) {
            cell.store(Some(ctx));
        }
    }

    /// Forgets `category`'s process, if it is still `ctx` (an upgrade registers the next context first).
    pub fn remove(&self, category: u8, ctx: &Arc<ProcCtx>) {
        if let Some(cell) = self.0.get(usize::from(category)) {
            cell.rcu(|now| if now.as_ref().is_some_and(|n| Arc::ptr_eq(n, ctx)) { None } else { now.clone() });
        }
    }

    /// The process metered by `category`'s slot.
    pub fn get(&self, category: u8) -> Option<Arc<ProcCtx>> {
        self.0.get(usize::from(category)).and_then(ArcSwapOption::load_full)
    }

    /// Processes running on this VM.
    pub fn len(&self) -> usize {
        self.0.iter().filter(|cell| cell.load().is_some()).count()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The calling process. Errors: `INVALID` "no process context" outside a process's threads; in Corral's own
/// dialect also from a coroutine a script created (`coroutine.create`/`wrap`: seed 003, "未找到上下文"), while
/// the reference dialect lets its process calls run there (`wippy-compat.md`, "coroutines").
pub fn current(lua: &Lua) -> Result<Arc<ProcCtx>, LuaError> {
    let no_context = || LuaError::invalid("no process context: process functions run only on a process's own thread");
    let (category, root) = crate::interrupt::running_owner(lua).ok_or_else(no_context)?;
    let procs = lua.app_data_ref::<Procs>().ok_or_else(no_context)?;
    let ctx = procs.get(category).ok_or_else(no_context)?;
    if root || ctx.wippy { Ok(ctx) } else { Err(no_context()) }
}
/// Like [`current`], as an `mlua` error for functions that raise.
pub fn current_or_raise(lua: &Lua) -> mlua::Result<Arc<ProcCtx>> {
    current(lua).map_err(|e| mlua::Error::runtime(e.message))
}
