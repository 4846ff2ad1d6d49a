//! Running one process: load the entry into a fresh env, run `main` on a Luau thread, turn the outcome into
//! an [`Exit`]; restart in place on `process.upgrade`.

use std::sync::Arc;

use corral_core::app::Entry;
use corral_core::value::Value as CoreValue;
use corral_core::{Exit, ExitReason, Process, Runtime};
use mlua::{MultiValue, Value};

use crate::convert::{from_lua, to_lua};
use crate::modules::errors::LuaError;
use crate::procs::{ProcCtx, Procs};
use crate::vm::Vm;

enum Step {
    Done(Exit),
    Upgrade(Arc<Entry>, Vec<CoreValue>),
}

/// Runs `process` until its code returns (or fails); follows upgrades.
pub async fn run(vm: Arc<Vm>, runtime: Runtime, process: Arc<Process>, args: Vec<CoreValue>, wippy: bool) -> Exit {
    let mut entry = process.entry().clone();
    let mut args = args;
    loop {
        let ctx = Arc::new(ProcCtx::new(runtime.clone(), process.clone(), entry.clone(), wippy));
        match run_once(&vm, ctx, args).await {
            Step::Done(exit) => return exit,
            Step::Upgrade(next, state) => {
                entry = next;
                args = state;
            }
        }
    }
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

async fn run_once(vm: &Vm, ctx: Arc<ProcCtx>, args: Vec<CoreValue>) -> Step {
    let prepared = (|| -> mlua::Result<_> {
        let env = vm.new_env()?;
        let chunk = vm.load_entry(&ctx.entry, env)?;
        let main: mlua::Function = vm.boot.call((chunk, ctx.entry.method.as_str(), ctx.entry.id.as_str()))?;
        let thread = vm.lua.create_thread(main)?;
        let args = args.iter().map(|a| to_lua(&vm.lua, a)).collect::<mlua::Result<MultiValue>>()?;
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
    let running = match thread.into_async::<MultiValue>(args) {
        Ok(running) => running,
        Err(e) => return Step::Done(Exit::abnormal(ExitReason::Error, error_text(&e))),
    };
    tokio::select! {
        result = running => Step::Done(outcome(result)),
        (upgrade, state) = ctx.upgraded() => Step::Upgrade(upgrade.entry, state),
    }
}

/// `main` returning `v` is a normal exit; `v, err` with `err` not nil, or an error, is abnormal.
fn outcome(result: mlua::Result<MultiValue>) -> Exit {
    match result {
        Ok(values) => {
            let mut values = values.into_iter();
            let first = values.next().unwrap_or(Value::Nil);
            let second = values.next().unwrap_or(Value::Nil);
            if !second.is_nil() {
                return Exit::abnormal(ExitReason::Error, value_text(&second));
            }
            match from_lua(&first, "return value") {
                Ok(v) => Exit::normal(v),
                Err(e) => Exit::abnormal(ExitReason::Error, e.message),
            }
        }
        Err(e) => Exit::abnormal(ExitReason::Error, error_text(&e)),
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::UserData(ud) => match ud.borrow::<LuaError>() {
            Ok(e) => e.message.clone(),
            Err(_) => value.to_string().unwrap_or_else(|_| "error".into()),
        },
        other => other.to_string().unwrap_or_else(|_| format!("a {} error", other.type_name())),
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
