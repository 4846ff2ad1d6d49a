//! Function calls of the reference dialect (`funcs.call`, `funcs.async`; `docs/wippy-compat.md`, "funcs").
//!
//! A call runs a `function.lua` entry as a child of the caller on the caller's own host, like
//! `process.exec`, but decided as `funcs.call` on the entry (with the child's `host`, `entry`, actor and
//! scopes in the context); the builder parts it carries (context values, an actor, scopes) are decided as a
//! SpawnBuilder's are (`process.context`, `process.security`). A call belongs to its caller: dropping the
//! [`FunctionCall`] before the function ended (the caller exited, gave up at its timeout, or cancelled) stops
//! the function with reason `cancelled`, so nothing a call starts outlives the caller's interest in it; and
//! the caller's exit stops every function its calls still run, whoever holds the calls then.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::oneshot;

use super::{Runtime, SpawnSpec, State};
use crate::app::EntryKind;
use crate::error::{Error, Result};
use crate::gate::{Decider, OpKind};
use crate::lock;
use crate::pid::Pid;
use crate::process::{Exit, ExitReason, Process};

/// A function call under way: its child's PID and, when it ends, its exit. Dropped before the exit was taken,
/// it stops the child (reason `cancelled`).
#[derive(Debug)]
pub struct FunctionCall {
    pid: Pid,
    child: Weak<Process>,
    exit: Option<oneshot::Receiver<Exit>>,
}

impl Runtime {
    /// Starts the `function.lua` entry `spec.entry` with `spec.args` as a child of `caller` on `caller`'s host
    /// (`spec.host`, `monitored`, `linked`, `name` and `messages` are ignored), with `spec.context`,
    /// `spec.actor` and `spec.scopes` as a SpawnBuilder would give them (and its `grants`). Every permission
    /// is decided first: `funcs.call` on the entry, and `process.context` / `process.security` for what the
    /// grants do not cover. Errors: `NotFound` for an unknown entry, `Invalid` for one that is not a
    /// `function.lua` entry, `PermissionDenied`, and `LimitExceeded` as for a spawn (host full, the caller's
    /// `max_children`, the actor's quota, arguments over the caller's message bounds).
    pub fn start_function(&self, caller: &Process, spec: SpawnSpec) -> Result<FunctionCall> {
        let kind = self.inner.app.load().entries.get(&spec.entry).map(|e| e.kind.clone());
        match kind {
            None => return Err(Error::NoSuchEntry { id: spec.entry }),
            Some(EntryKind::Function) => {}
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "`{}` is a {} entry: funcs calls run function.lua entries",
                    spec.entry,
                    other.as_str()
                )));
            }
        }
        let spec = SpawnSpec {
            host: caller.host().spec.id.clone(),
            monitored: false,
            linked: false,
            name: None,
            messages: Vec::new(),
            ..spec
        };
        let (tx, rx) = oneshot::channel();
        let pid = self.spawn_with(
            Decider::own(self.gate()),
            caller.caller(),
            Some(caller),
            spec,
            Some((OpKind::FuncsCall, tx)),
        )?;
        // Filed under its caller, so the caller's exit stops it even while something still holds the call
        // (`Runtime::finish`). Both are checked under the lock `finish` takes them out under.
        let (child, caller_gone) = {
            let mut state = lock(&self.inner.state);
            let child = state.procs.get(&pid).cloned();
            let caller_alive = state.procs.get(caller.pid()).is_some_and(|p| std::ptr::eq(&**p, caller));
            if caller_alive && child.is_some() {
                state.funcs_of.entry(caller.pid().clone()).or_default().insert(pid.clone());
            }
            (child, !caller_alive)
        };
        let call = FunctionCall { pid, child: child.as_ref().map(Arc::downgrade).unwrap_or_default(), exit: Some(rx) };
        if caller_gone {
            call.cancel();
        }
        Ok(call)
    }
}

/// Takes `function` out of its caller's set when it ends.
pub(super) fn forget_function(state: &mut State, function: &Process) {
    let Some(caller) = function.parent() else { return };
    if let Some(set) = state.funcs_of.get_mut(caller) {
        set.remove(function.pid());
        if set.is_empty() {
            state.funcs_of.remove(caller);
        }
    }
}

/// The live functions `caller` runs through `funcs` calls, taken out of the table (it is ending).
pub(super) fn functions_of(state: &mut State, caller: &Pid) -> Vec<Arc<Process>> {
    let pids = state.funcs_of.remove(caller).unwrap_or_default();
    pids.iter().filter_map(|pid| state.procs.get(pid).cloned()).collect()
}

impl FunctionCall {
    /// The function's process.
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// Waits for the function's exit, at most `timeout` when given. Errors: `Timeout` naming the entry's
    /// process when it passed (the function is stopped); `Internal` when the exit was lost.
    pub async fn wait(mut self, timeout: Option<Duration>) -> Result<Exit> {
        let Some(rx) = self.exit.as_mut() else {
            return Err(Error::Internal("the function call was already waited for".into()));
        };
        let exit = match timeout {
            Some(limit) => match tokio::time::timeout(limit, rx).await {
                Ok(exit) => exit,
                Err(_) => {
                    return Err(Error::Timeout(format!(
                        "function `{}` did not return within {} ms",
                        self.pid,
                        limit.as_millis()
                    )));
                }
            },
            None => rx.await,
        };
        self.exit = None;
        exit.map_err(|_| Error::Internal("the function call lost its child".into()))
    }

    /// Stops the function with reason `cancelled` (nothing when it already ended).
    pub fn cancel(&self) {
        if let Some(child) = self.child.upgrade() {
            child.kill(Exit::abnormal(ExitReason::Cancelled, "cancelled: its caller gave up the function call"));
        }
    }
}

impl Drop for FunctionCall {
    fn drop(&mut self) {
        if self.exit.is_some() {
            self.cancel();
        }
    }
}
