//! Monitors, links, terminate and cancel.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Runtime;
use super::exit::unix_now;
use super::spawn::{add_link, add_monitor};
use crate::audit::rfc3339;
use crate::error::{Error, Result};
use crate::gate::{Caller, Decider, OpKind, Operation, SubjectRef, Target};
use crate::lock;
use crate::mailbox::{Event, EventKind};
use crate::pid::Pid;
use crate::process::{Exit, ExitReason, Process};

impl Runtime {
    /// `process.monitor`: `from` gets EXIT when `dest` exits. Idempotent. A PID that already exited is
    /// allowed and gets an EXIT with error `noproc` at once. Errors: `NotFound` for an unknown name or a stale
    /// PID, `PermissionDenied`.
    ///
    /// Repeating a monitor changes nothing and is neither decided again nor recorded again (issue 9, class 8):
    /// a process already monitoring `dest`, or already told `noproc` about it, gets `Ok` at once.
    pub fn monitor(&self, from: &Process, dest: &str) -> Result<()> {
        let target = match self.resolve(dest) {
            Ok(target) => target.target(),
            Err(Error::NoSuchProcess { .. }) if dest.starts_with('{') => {
                Target { pid: Pid::parse(dest)?, entry: "".into(), actor: "".into() }
            }
            Err(e) => return Err(e),
        };
        {
            let state = lock(&self.inner.state);
            let watching = state.watching.get(from.pid()).is_some_and(|set| set.contains(&target.pid));
            if watching || from.told_noproc(&target.pid) {
                return Ok(());
            }
        }
        let permit = self.gate().check(&from.caller(), Operation::Monitor(&target))?;
        permit.redeem(OpKind::Monitor, SubjectRef::Process(&target.pid))?;
        let alive = {
            let mut state = lock(&self.inner.state);
            let alive = state.procs.contains_key(&target.pid);
            if alive {
                add_monitor(&mut state, from.pid(), &target.pid);
            }
            alive
        };
        if !alive {
            from.remember_noproc(&target.pid);
            let event = Event::new(EventKind::Exit, target.pid.clone(), unix_now(), Some(Err("noproc".into())), None);
            from.mailbox().push_event(event, 16);
        }
        self.audit_relation("proc.monitor", from, &target.pid, true);
        Ok(())
    }

    /// `process.unmonitor`. Errors: `NotFound`, `PermissionDenied`.
    pub fn unmonitor(&self, from: &Process, dest: &str) -> Result<()> {
        let target = self.resolve(dest)?.target();
        let permit = self.gate().check(&from.caller(), Operation::Unmonitor(&target))?;
        permit.redeem(OpKind::Unmonitor, SubjectRef::Process(&target.pid))?;
        let mut state = lock(&self.inner.state);
        if let Some(set) = state.watchers.get_mut(&target.pid) {
            set.remove(from.pid());
        }
        if let Some(set) = state.watching.get_mut(from.pid()) {
            set.remove(&target.pid);
        }
        drop(state);
        self.audit_relation("proc.monitor", from, &target.pid, false);
        Ok(())
    }

    /// `process.link`: both get LINK_DOWN when the other exits abnormally. Idempotent.
    /// Errors: `NotFound` for a process that is not alive, `PermissionDenied`, `Invalid` for a self-link.
    pub fn link(&self, from: &Process, dest: &str) -> Result<()> {
        let target = self.resolve(dest)?.target();
        if &target.pid == from.pid() {
            return Err(Error::Invalid("a process cannot link to itself".into()));
        }
        // Repeating a link changes nothing: it is neither decided nor recorded again (issue 9, class 8).
        if lock(&self.inner.state).links.get(from.pid()).is_some_and(|set| set.contains(&target.pid)) {
            return Ok(());
        }
        let permit = self.gate().check(&from.caller(), Operation::Link(&target))?;
        permit.redeem(OpKind::Link, SubjectRef::Process(&target.pid))?;
        {
            let mut state = lock(&self.inner.state);
            if !state.procs.contains_key(&target.pid) {
                return Err(Error::NoSuchProcess { dest: dest.into() });
            }
            add_link(&mut state, from.pid(), &target.pid);
        }
        self.audit_relation("proc.link", from, &target.pid, true);
        Ok(())
    }

    /// `process.unlink`. Errors: `NotFound`, `PermissionDenied`.
    pub fn unlink(&self, from: &Process, dest: &str) -> Result<()> {
        let target = self.resolve(dest)?.target();
        let permit = self.gate().check(&from.caller(), Operation::Unlink(&target))?;
        permit.redeem(OpKind::Unlink, SubjectRef::Process(&target.pid))?;
        let mut state = lock(&self.inner.state);
        if let Some(set) = state.links.get_mut(from.pid()) {
            set.remove(&target.pid);
        }
        if let Some(set) = state.links.get_mut(&target.pid) {
            set.remove(from.pid());
        }
        drop(state);
        self.audit_relation("proc.link", from, &target.pid, false);
        Ok(())
    }

    /// `process.terminate`: stops `dest` at once; its exit is abnormal with error `terminated`.
    /// Errors: `NotFound`, `PermissionDenied`.
    pub fn terminate(&self, from: &Process, dest: &str) -> Result<()> {
        self.terminate_as(Decider::own(self.gate()), &from.caller(), Some(from.pid()), dest)
    }

    /// `process.terminate` as `caller` (the process `from`, or the API when `None`), decided by `decider`.
    pub(super) fn terminate_as(
        &self,
        decider: Decider<'_>,
        caller: &Caller,
        from: Option<&Pid>,
        dest: &str,
    ) -> Result<()> {
        let target = self.resolve(dest)?;
        let permit = decider.check(caller, Operation::Terminate(&target.target()))?;
        permit.redeem(OpKind::Terminate, SubjectRef::Process(target.pid()))?;
        self.audit_signal("terminate", from, caller, &target, None);
        target.kill(Exit::abnormal(ExitReason::Terminated, "terminated"));
        Ok(())
    }

    /// `process.cancel`: delivers CANCEL to `dest`'s events; if it has not exited when `deadline` passes
    /// (default: its host's `cancel_deadline`) it is terminated with reason `cancelled`. The deadline task
    /// belongs to the target (aborted when it exits), and a target has at most one: a later cancel keeps the
    /// earlier of the two deadlines, which the CANCEL event and the audit record name.
    /// Errors: `NotFound`, `PermissionDenied`.
    pub fn cancel(&self, from: &Process, dest: &str, deadline: Option<Duration>) -> Result<()> {
        self.cancel_as(Decider::own(self.gate()), &from.caller(), Some(from.pid()), dest, deadline)
    }

    /// `process.cancel` as `caller` (the process `from`, or the API when `None`: the CANCEL event then names
    /// [`Runtime::api_pid`]), decided by `decider`.
    pub(super) fn cancel_as(
        &self,
        decider: Decider<'_>,
        caller: &Caller,
        from: Option<&Pid>,
        dest: &str,
        deadline: Option<Duration>,
    ) -> Result<()> {
        let target = self.resolve(dest)?;
        let permit = decider.check(caller, Operation::Cancel(&target.target()))?;
        permit.redeem(OpKind::Cancel, SubjectRef::Process(target.pid()))?;
        let wait = deadline.unwrap_or(target.host().spec.cancel_deadline);
        let at = self.cancel_deadline(&target, wait)?;
        self.audit_signal("cancel", from, caller, &target, Some(&at));
        let bytes = at.len();
        let sender = from.cloned().unwrap_or_else(|| self.api_pid());
        target.mailbox().push_event(Event::new(EventKind::Cancel, sender, unix_now(), None, Some(at)), bytes);
        Ok(())
    }

    /// Makes `wait` from now the target's cancel deadline unless an earlier one is pending; the effective
    /// deadline as RFC 3339. A deadline past what a clock can hold never fires. Errors: `NotFound` when the
    /// target has exited.
    pub(super) fn cancel_deadline(&self, target: &Arc<Process>, wait: Duration) -> Result<String> {
        // The sandbox bounds a tenant's deadline (100 years); the host's own is checked too, never added blind.
        let (Some(when), Some(at)) =
            (tokio::time::Instant::now().checked_add(wait), SystemTime::now().checked_add(wait))
        else {
            return Ok(target
                .pending_cancel()
                .map_or_else(|| "9999-12-31T23:59:59.999999999Z".into(), |(_, at)| rfc3339(at)));
        };
        if let Some((pending, pending_at)) = target.pending_cancel()
            && pending <= when
        {
            return Ok(rfc3339(pending_at));
        }
        let weak = Arc::downgrade(target);
        let task = self.own(
            target,
            async move {
                tokio::time::sleep_until(when).await;
                if let Some(target) = weak.upgrade().filter(|t| t.is_alive()) {
                    target.kill(Exit::abnormal(ExitReason::Cancelled, "cancelled: the deadline passed"));
                }
            },
            None,
        )?;
        if let Some(loser) = target.set_cancel(when, at, task.id()) {
            target.abort_owned(loser);
        }
        Ok(target.pending_cancel().map_or_else(|| rfc3339(at), |(_, at)| rfc3339(at)))
    }

    fn audit_relation(&self, kind: &str, from: &Process, target: &Pid, on: bool) {
        self.audit_event(
            kind,
            [("pid", from.pid().to_string().into()), ("target", target.to_string().into()), ("on", on.into())],
        );
    }

    /// `proc.signal`: `pid` is the sending process, `null` for the API (then `actor` says who asked).
    fn audit_signal(
        &self,
        signal: &str,
        from: Option<&Pid>,
        caller: &Caller,
        target: &Process,
        deadline: Option<&str>,
    ) {
        let pid = from.map_or(serde_json::Value::Null, |p| p.to_string().into());
        let actor = caller.actor.as_ref().map_or(serde_json::Value::Null, |a| a.id.clone().into());
        self.audit_event(
            "proc.signal",
            [
                ("signal", signal.into()),
                ("pid", pid),
                ("actor", actor),
                ("target", target.pid().to_string().into()),
                ("deadline", deadline.map(serde_json::Value::from).unwrap_or(serde_json::Value::Null)),
            ],
        );
    }
}
