//! Running one process: load the entry into a fresh env, run `main` on a Luau thread, turn the outcome into
//! an [`Exit`]; restart in place on `process.upgrade`.

use std::sync::Arc;

use corral_core::app::Entry;
use corral_core::limits::cut;
use corral_core::value::Value as CoreValue;
use corral_core::{Exit, ExitReason, Process, Runtime};

use mlua::thread::ThreadStatus;
use mlua::{MultiValue, Thread, Value};

use crate::block::{self, Values, Wait};
use crate::convert::{Bounds, from_lua, to_lua};
use crate::interrupt::{self, Kill, Lease};
use crate::modules::errors::LuaError;
use crate::procs::ProcCtx;
use crate::vm::Vm;

enum Step {
    Done(Exit),
    Upgrade(Arc<Entry>, Vec<CoreValue>),
}

/// Runs `process` until its code returns (or fails, or goes over a limit); follows upgrades. `lease` meters
/// it for its whole life, upgrades included (the compute budget is not renewed by an upgrade).
///
/// Every idle process holds this future, so it keeps little across its awaits: the arguments are moved into
/// the thread before the first one, and an upgrade is found after a resume rather than awaited beside it.
#[allow(clippy::manual_async_fn, reason = "an async fn would keep a second copy of its arguments")]
pub fn run(
    vm: Arc<Vm>,
    lease: Lease,
    runtime: Runtime,
    process: Arc<Process>,
    mut args: Vec<CoreValue>,
    wippy: bool,
) -> impl std::future::Future<Output = Exit> + Send {
    // An async block, not an `async fn`: it uses the captured values in place (an `async fn` keeps a copy of
    // each argument beside the one it uses).
    async move {
        let mut entry = process.entry().clone();
        loop {
            let ctx =
                Arc::new(ProcCtx::new(runtime.clone(), process.clone(), entry.clone(), wippy, Arc::downgrade(&vm)));
            // Destructured in a statement of its own: a `match` on `start(..)` around the await would keep the
            // whole `Result` (120 bytes) in every idle process's future beside the `Metered` taken out of it.
            let (mut metered, first) = match start(&vm, &lease, &ctx, std::mem::take(&mut args)) {
                Ok(started) => started,
                Err(exit) => {
                    log_abnormal(&process, &entry, &exit);
                    return exit;
                }
            };
            let step = metered.finish(first).await;
            drop(metered);
            match step {
                Step::Done(exit) => {
                    log_abnormal(&process, &entry, &exit);
                    return exit;
                }
                Step::Upgrade(next, state) => {
                    entry = next;
                    args = state;
                }
            }
        }
    }
}

/// Logs an exit the process's own code caused (an error or a limit) at WARN, target `corral::script`, with its
/// PID, entry, reason and error (whose text starts `file.lua:LINE:` for an error raised in Lua). A
/// termination, cancel or shutdown is another process's or the node's doing and is not logged here.
fn log_abnormal(process: &Process, entry: &Entry, exit: &Exit) {
    if !matches!(exit.reason, ExitReason::Error | ExitReason::LimitMemory | ExitReason::LimitCompute) {
        return;
    }
    let error = exit.result.as_ref().err().map(String::as_str).unwrap_or("");
    tracing::warn!(
        target: "corral::script",
        pid = %process.pid(),
        entry = %entry.id,
        reason = exit.reason.as_str(),
        error,
        "process exited abnormally"
    );
}

/// The process's main thread over a fresh env, bound to its meter, with the values it starts with; the
/// exit when it cannot start.
fn start<'a>(
    vm: &'a Vm,
    lease: &'a Lease,
    ctx: &'a Arc<ProcCtx>,
    args: Vec<CoreValue>,
) -> Result<(Metered<'a>, Values), Exit> {
    let prepared = (|| -> mlua::Result<_> {
        let env = vm.new_env()?;
        let (chunk, method, id) = vm.load_entry(&ctx.entry, env.clone())?;
        // An AO entry (`meta: {model: ao}`) runs its top level, then the runtime's receive loop.
        let chunk =
            if crate::modules::ao::is_ao(&ctx.entry) { crate::modules::ao::wrap(&vm.lua, chunk, env)? } else { chunk };
        let thread = vm.lua.create_thread(vm.boot.clone())?;
        let mut start = MultiValue::with_capacity(args.len() + 3);
        start.push_back(Value::Function(chunk));
        start.push_back(Value::String(method));
        start.push_back(Value::String(id));
        for a in &args {
            start.push_back(to_lua(&vm.lua, a)?);
        }
        Ok((thread, Values::Many(start)))
    })();
    let (thread, args) = prepared.map_err(|e| Exit::abnormal(ExitReason::Error, error_text(&e)))?;
    interrupt::bind(&vm.lua, &thread, lease).map_err(|e| Exit::abnormal(ExitReason::Error, error_text(&e)))?;
    Ok((Metered { vm, lease, ctx, process: &ctx.process, thread, spawned: Vec::new() }, args))
}

/// A process's running thread with its meter. Over a limit, the interrupt yields the thread (or raises until
/// it can), and [`Metered::finish`] ends the process with the named reason, whatever the script caught.
struct Metered<'a> {
    vm: &'a Vm,
    lease: &'a Lease,
    ctx: &'a Arc<ProcCtx>,
    process: &'a Process,
    thread: Thread,
    /// The process's other roots (`coroutine.spawn`), bound to its slot while they live.
    spawned: Vec<Option<Thread>>,
}

/// The first two values a resume gave: all a runner reads (a parked call's marker; `main`'s `v, err`).
type Returned = (Value, Value);

/// Why the thread's last resume returned.
enum Yielded {
    /// The code returned (or raised).
    Done(mlua::Result<Returned>),
    /// A blocking call parked the process on this wait.
    Parked(Wait),
    /// A preemption (or a bare `coroutine.yield` at the top of the process): resume after the others.
    Preempted,
}

impl Metered<'_> {
    /// Runs the thread to its end: resumes it, and whenever it parks, awaits the wait (no lock of the VM held)
    /// and resumes it with the wait's values. Resolves when the code returns, fails, or goes over a limit
    /// (which wins over a return), or restarts on an upgrade the code asked for. Once the process spawns a
    /// coroutine, [`Metered::finish_many`] takes over.
    #[allow(clippy::manual_async_fn, reason = "an async fn would keep a second copy of its arguments")]
    fn finish(&mut self, mut args: Values) -> impl std::future::Future<Output = Step> + Send + '_ {
        async move {
            let slot = self.lease.slot();
            loop {
                // Scoped: what the resume gave is not kept across the wait (only the wait is).
                let wait = {
                    let yielded = self.resume(&self.thread, args);
                    if let Some(why) = slot.kill_reason() {
                        return Step::Done(self.limit_exit(why));
                    }
                    if let Some(upgrade) = self.upgrade() {
                        return upgrade;
                    }
                    if self.adopt() {
                        // Boxed: the many-roots loop's state is kept out of every process's future.
                        return Box::pin(self.finish_many(yielded)).await;
                    }
                    match yielded {
                        Yielded::Done(result) => return Step::Done(outcome(result, Bounds::of_process(self.process))),
                        Yielded::Parked(wait) => Some(wait),
                        Yielded::Preempted => None,
                    }
                };
                args = match wait {
                    Some(wait) => match wait.finish(&self.vm.lua, self.ctx).await {
                        Ok(values) => values,
                        // The wait's values could not be made (the VM is out of memory).
                        Err(e) => return Step::Done(Exit::abnormal(ExitReason::Error, error_text(&e))),
                    },
                    None => {
                        tokio::task::yield_now().await;
                        Values::none()
                    }
                };
                if let Some(why) = slot.kill_reason() {
                    return Step::Done(self.limit_exit(why));
                }
            }
        }
    }

    /// The restart `process.upgrade` asked for during the last resume (the call parks for good; the runner
    /// starts the new code in its place).
    fn upgrade(&self) -> Option<Step> {
        let (upgrade, state) = self.ctx.take_upgrade()?;
        Some(Step::Upgrade(upgrade.entry().clone(), state))
    }

    /// Binds the coroutines the process spawned since the last look to its slot, as roots; whether it has
    /// any root besides its main thread.
    fn adopt(&mut self) -> bool {
        for thread in self.ctx.take_spawned() {
            match interrupt::bind(&self.vm.lua, &thread, self.lease) {
                Ok(()) => self.spawned.push(Some(thread)),
                Err(e) => tracing::warn!(pid = %self.process.pid(), "a spawned coroutine cannot run: {e}"),
            }
        }
        !self.spawned.is_empty()
    }

    /// The process with several roots (its main thread, index 0, and its `coroutine.spawn` coroutines): runs
    /// the ready ones in turn, and waits for any parked one. The process ends when its main thread returns
    /// (the other roots end with it) or when any root raises an error it did not catch.
    async fn finish_many(&mut self, first: Yielded) -> Step {
        use futures_util::StreamExt;
        let slot = self.lease.slot();
        let lua = &self.vm.lua;
        let mut ready: std::collections::VecDeque<(usize, Values)> = std::collections::VecDeque::new();
        let mut waiting = futures_util::stream::FuturesUnordered::new();
        let mut next = Some((0, first));
        let mut known = 0;
        loop {
            // New roots start in the order they were spawned, after what is ready already.
            for index in known..self.spawned.len() {
                ready.push_back((index + 1, Values::none()));
            }
            known = self.spawned.len();
            if let Some((index, yielded)) = next.take() {
                match yielded {
                    Yielded::Done(result) if index == 0 => {
                        return Step::Done(outcome(result, Bounds::of_process(self.process)));
                    }
                    Yielded::Done(Err(e)) => {
                        return Step::Done(Exit::abnormal(
                            ExitReason::Error,
                            format!("a spawned coroutine failed: {}", error_text(&e)),
                        ));
                    }
                    Yielded::Done(Ok(_)) => self.release(index),
                    Yielded::Parked(wait) => {
                        let ctx = self.ctx;
                        waiting.push(Box::pin(async move { (index, wait.finish(lua, ctx).await) }));
                    }
                    Yielded::Preempted => {
                        tokio::task::yield_now().await;
                        ready.push_back((index, Values::none()));
                    }
                }
            }
            // Roots whose wait ended go to the back of the queue first, so that a root that keeps
            // computing (preempted and ready again at once) cannot starve one that waits.
            while let std::task::Poll::Ready(Some((index, result))) = futures_util::poll!(waiting.next()) {
                match result {
                    Ok(values) => ready.push_back((index, values)),
                    Err(e) => return Step::Done(Exit::abnormal(ExitReason::Error, error_text(&e))),
                }
            }
            let (index, args) = match ready.pop_front() {
                Some(step) => step,
                None => match waiting.next().await {
                    Some((index, Ok(values))) => (index, values),
                    Some((_, Err(e))) => return Step::Done(Exit::abnormal(ExitReason::Error, error_text(&e))),
                    None => return Step::Done(Exit::abnormal(ExitReason::Error, "no thread of the process can run")),
                },
            };
            let thread = if index == 0 { Some(self.thread.clone()) } else { self.root(index) };
            let Some(thread) = thread else { continue };
            let yielded = self.resume(&thread, args);
            if let Some(why) = slot.kill_reason() {
                return Step::Done(self.limit_exit(why));
            }
            if let Some(upgrade) = self.upgrade() {
                return upgrade;
            }
            self.adopt();
            next = Some((index, yielded));
        }
    }

    /// Root `index` (1-based among the spawned ones), while it lives.
    fn root(&self, index: usize) -> Option<Thread> {
        self.spawned.get(index.checked_sub(1)?).cloned().flatten()
    }

    /// Unbinds and forgets spawned root `index`, which returned.
    fn release(&mut self, index: usize) {
        let Some(cell) = index.checked_sub(1).and_then(|i| self.spawned.get_mut(i)) else { return };
        if let Some(thread) = cell.take() {
            interrupt::unbind(&self.vm.lua, &thread);
        }
    }

    /// Resumes `thread` once with `args`, metered.
    fn resume(&self, thread: &Thread, args: Values) -> Yielded {
        let running = crate::procs::enter(self.ctx);
        let metering = interrupt::Metering::start(self.lease.slot());
        let resumed = match args {
            Values::Pair(first, second) => thread.resume::<Returned>((first, second)),
            Values::Many(values) => thread.resume::<Returned>(values),
        };
        drop(metering);
        drop(running);
        match resumed {
            Ok((first, _)) if thread.status() == ThreadStatus::Resumable => {
                if block::is_marker(Some(&first)) {
                    match block::take_parked(self.ctx) {
                        Some(wait) => Yielded::Parked(wait),
                        None => Yielded::Done(Err(mlua::Error::runtime("a parked call left no wait"))),
                    }
                } else {
                    Yielded::Preempted
                }
            }
            other => Yielded::Done(other),
        }
    }

    fn limit_exit(&self, why: Kill) -> Exit {
        let slot = self.lease.slot();
        let limits = self.process.limits();
        match why {
            Kill::Compute => Exit::abnormal(
                ExitReason::LimitCompute,
                format!("limit.compute: spent {} of its {} compute units", slot.used(), limits.compute),
            ),
            Kill::Memory => Exit::abnormal(
                ExitReason::LimitMemory,
                format!("limit.memory: held {} bytes, over its limit of {} bytes", slot.peak(), limits.memory),
            ),
        }
    }
}

impl Drop for Metered<'_> {
    fn drop(&mut self) {
        let slot = self.lease.slot();
        self.process.usage().record(slot.peak(), slot.used());
        // The thread is never resumed again (a parked wait is simply dropped with the future); it is
        // unbound so that mlua may recycle it.
        interrupt::unbind(&self.vm.lua, &self.thread);
        for thread in self.spawned.drain(..).flatten() {
            interrupt::unbind(&self.vm.lua, &thread);
        }
    }
}

/// `main` returning `v` is a normal exit; `v, err` with `err` not nil, or an error, is abnormal. The value is
/// converted within `bounds` (the process's host's message bounds: monitors and waiters receive it like a
/// message); over them the exit is abnormal with the `LIMIT_EXCEEDED: ...` text. An error text is cut to
/// `bounds.bytes` on a character boundary, ending in `…`.
fn outcome(result: mlua::Result<Returned>, bounds: Bounds) -> Exit {
    match result {
        Ok((first, second)) => {
            if !second.is_nil() {
                return Exit::abnormal(ExitReason::Error, value_text(&second, bounds.bytes));
            }
            match from_lua(&first, "return value", bounds) {
                Ok(v) => Exit::normal(v),
                Err(e) if e.kind == corral_core::ErrorKind::Invalid => Exit::abnormal(ExitReason::Error, e.message),
                Err(e) => Exit::abnormal(ExitReason::Error, format!("{}: {}", e.kind.as_str(), e.message)),
            }
        }
        Err(e) => Exit::abnormal(ExitReason::Error, cut(&error_text(&e), bounds.bytes)),
    }
}

/// The text of an error value, cut to `max` bytes. It never calls a metamethod: that would run script code
/// outside the process's metered thread (tables were already turned into text by the boot glue, on the
/// process's thread).
fn value_text(value: &Value, max: usize) -> String {
    match value {
        Value::UserData(ud) => match ud.borrow::<LuaError>() {
            Ok(e) => cut(&e.message, max),
            Err(_) => format!("a {} error", value.type_name()),
        },
        // Only the part that is kept is copied out of Lua (and a little more, to cut on a character).
        Value::String(s) => {
            let bytes = s.as_bytes();
            let head = bytes.get(..max.saturating_add(4)).unwrap_or(&bytes);
            cut(&String::from_utf8_lossy(head), max)
        }
        Value::Integer(n) => n.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        other => format!("a {} error", other.type_name()),
    }
}

/// The text of a Lua error, without mlua's traceback decoration.
pub fn error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => {
            m.split_once("\nstack traceback:").map(|(head, _)| head).unwrap_or(m).to_string()
        }
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        mlua::Error::WithContext { cause, .. } => error_text(cause),
        other => other.to_string(),
    }
}
