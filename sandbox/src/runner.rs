//! Running one process: load the entry into a fresh env, run `main` on a Luau thread, turn the outcome into
//! an [`Exit`]; restart in place on `process.upgrade`.

use std::sync::Arc;

use corral_core::app::Entry;
use corral_core::limits::cut;
use corral_core::value::Value as CoreValue;
use corral_core::{Exit, ExitReason, Process, Runtime};
use std::task::Poll;

use mlua::thread::AsyncThread;
use mlua::{MultiValue, Thread, Value};

use crate::convert::{Bounds, from_lua, to_lua};
use crate::interrupt::{self, Kill, Lease};
use crate::modules::errors::LuaError;
use crate::procs::{ProcCtx, Procs};
use crate::vm::Vm;

enum Step {
    Done(Exit),
    Upgrade(Arc<Entry>, Vec<CoreValue>),
}

/// Runs `process` until its code returns (or fails, or goes over a limit); follows upgrades. `lease` meters
/// it for its whole life, upgrades included (the compute budget is not renewed by an upgrade).
pub async fn run(
    vm: Arc<Vm>,
    lease: Lease,
    runtime: Runtime,
    process: Arc<Process>,
    args: Vec<CoreValue>,
    wippy: bool,
) -> Exit {
    let mut entry = process.entry().clone();
    let mut args = args;
    loop {
        let ctx = Arc::new(ProcCtx::new(runtime.clone(), process.clone(), entry.clone(), wippy));
        match run_once(&vm, &lease, ctx, args).await {
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

/// Removes the thread's registration however the run ends (including when the runtime drops the future).
struct Registration<'a> {
    vm: &'a Vm,
    thread: usize,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if let Some(procs) = self.vm.lua.app_data_ref::<Procs>() {
            procs.remove(self.thread);
        }
    }
}

async fn run_once(vm: &Vm, lease: &Lease, ctx: Arc<ProcCtx>, args: Vec<CoreValue>) -> Step {
    let prepared = (|| -> mlua::Result<_> {
        let env = vm.new_env()?;
        let chunk = vm.load_entry(&ctx.entry, env.clone())?;
        // An AO entry (`meta: {model: ao}`) runs its top level, then the runtime's receive loop.
        let chunk =
            if crate::modules::ao::is_ao(&ctx.entry) { crate::modules::ao::wrap(&vm.lua, chunk, env)? } else { chunk };
        let thread = vm.lua.create_thread(vm.boot.clone())?;
        let mut start = MultiValue::with_capacity(args.len() + 3);
        start.push_back(Value::Function(chunk));
        start.push_back(Value::String(vm.lua.create_string(&ctx.entry.method)?));
        start.push_back(Value::String(vm.lua.create_string(&ctx.entry.id)?));
        for a in &args {
            start.push_back(to_lua(&vm.lua, a)?);
        }
        let args = start;
        Ok((thread, args))
    })();
    let (thread, args) = match prepared {
        Ok(p) => p,
        Err(e) => return Step::Done(Exit::abnormal(ExitReason::Error, error_text(&e))),
    };
    let key = thread.to_pointer() as usize;
    if let Some(procs) = vm.lua.app_data_ref::<Procs>() {
        procs.insert(key, ctx.clone());
    }
    let _registration = Registration { vm, thread: key };
    if let Err(e) = interrupt::bind(&vm.lua, &thread, lease) {
        return Step::Done(Exit::abnormal(ExitReason::Error, error_text(&e)));
    }
    let running = match thread.clone().into_async::<MultiValue>(args) {
        Ok(running) => running,
        Err(e) => {
            interrupt::unbind(&vm.lua, &thread);
            return Step::Done(Exit::abnormal(ExitReason::Error, error_text(&e)));
        }
    };
    let mut metered = Metered { vm, lease, process: &ctx.process, thread, running: Some(running) };
    tokio::select! {
        exit = metered.finish() => Step::Done(exit),
        (upgrade, state) = ctx.upgraded() => Step::Upgrade(upgrade.entry().clone(), state),
    }
}

/// A process's running thread with its meter. Over a limit, the interrupt yields the thread (or raises until
/// it can), and [`Metered::finish`] ends the process with the named reason, whatever the script caught.
struct Metered<'a> {
    vm: &'a Vm,
    lease: &'a Lease,
    process: &'a Process,
    thread: Thread,
    running: Option<AsyncThread<MultiValue>>,
}

impl Metered<'_> {
    /// Resolves when the code returns, fails, or goes over a limit (which wins over a return).
    async fn finish(&mut self) -> Exit {
        let slot = self.lease.slot();
        let Some(running) = self.running.as_mut() else {
            return Exit::abnormal(ExitReason::Error, "the process thread is gone");
        };
        let mut running = std::pin::Pin::new(running);
        let result = std::future::poll_fn(|cx| {
            // A preempted thread yielded: mlua already asked tokio to poll it again, after the others.
            let metering = interrupt::Metering::start(slot);
            let polled = running.as_mut().poll(cx);
            drop(metering);
            match polled {
                Poll::Ready(result) => Poll::Ready(Some(result)),
                Poll::Pending if slot.kill_reason().is_some() => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        match (slot.kill_reason(), result) {
            (Some(why), _) => self.limit_exit(why),
            (None, Some(result)) => outcome(result, Bounds::of_process(self.process)),
            (None, None) => Exit::abnormal(ExitReason::Error, "the process stopped"),
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
            Kill::Stopped => Exit::abnormal(ExitReason::Terminated, "terminated"),
        }
    }
}

impl Drop for Metered<'_> {
    fn drop(&mut self) {
        let slot = self.lease.slot();
        self.process.usage().record(slot.peak(), slot.used());
        // mlua may resume a dropped thread once to let a pending async call unwind; a stop mark makes any code
        // that would run then raise at its first safepoint instead of running on unmetered.
        let stopped_here = slot.kill_reason().is_none();
        if stopped_here {
            slot.kill(Kill::Stopped);
        }
        drop(self.running.take());
        interrupt::unbind(&self.vm.lua, &self.thread);
        if stopped_here {
            slot.clear_stop();
        }
    }
}

/// `main` returning `v` is a normal exit; `v, err` with `err` not nil, or an error, is abnormal. The value is
/// converted within `bounds` (the process's host's message bounds: monitors and waiters receive it like a
/// message); over them the exit is abnormal with the `LIMIT_EXCEEDED: ...` text. An error text is cut to
/// `bounds.bytes` on a character boundary, ending in `…`.
fn outcome(result: mlua::Result<MultiValue>, bounds: Bounds) -> Exit {
    match result {
        Ok(values) => {
            let mut values = values.into_iter();
            let first = values.next().unwrap_or(Value::Nil);
            let second = values.next().unwrap_or(Value::Nil);
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
