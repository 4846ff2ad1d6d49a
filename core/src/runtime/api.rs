//! The node's API (`corral serve`): process actions of API callers, decided by the node's gate, and
//! read-only snapshots of live processes.
//!
//! An API caller ([`ApiCaller`]) is no process. Each action here decides exactly the Cedar requests the
//! Lua-side function decides (the same [`Operation`], so the same actions, resources and context), but at the
//! gate it is given (the node's, over the node's policy set) and with the caller's actor and scopes; the
//! effect happens in this runtime, the app's, and every decision is recorded in the (shared) audit log with
//! `pid: null`, `via: "api"` and the actor as principal.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;

use super::Runtime;
use super::spawn::{SpawnSpec, check_topic};
use crate::error::{Error, Result};
use crate::gate::{ApiCaller, Decider, Gate, OpKind, Operation, SubjectRef};
use crate::lock;
use crate::mailbox::Message;
use crate::pid::Pid;
use crate::process::{Exit, Process};
use crate::value::Value;

/// The host part of [`Runtime::api_pid`]: no host of an app can have this id (`corral:` is the runtime's).
pub const API_HOST: &str = "corral:api";

/// A live process as the API shows it (`GET /v1/processes`): a copy, never the process itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// Its PID, as text.
    pub pid: String,
    /// The id of the entry it runs.
    pub entry: String,
    /// The id of its host.
    pub host: String,
    /// Its actor's id; `None` for a process without an actor.
    pub actor: Option<String>,
    /// The registry names bound to it, sorted.
    pub names: Vec<String>,
    /// `running`; `cancelling` once a CANCEL is pending (its deadline not yet passed); `exiting` once it was
    /// asked to stop (terminate, a passed deadline, LINK_DOWN, shutdown) and has not finished.
    pub status: &'static str,
    /// Messages and events held in its mailbox now, not yet received.
    pub mailbox: usize,
    /// Bytes charged to its memory account now: its Lua heap as last measured plus what the host holds for
    /// it (queued messages, listeners, ...), against its `memory` limit.
    pub memory: u64,
    /// Compute units (Luau instruction-count units of its `compute` limit) its runner reported; the sandbox
    /// reports them when the code stops, so a running process may show 0.
    pub compute: u64,
    /// When it started, RFC 3339 UTC with nanoseconds.
    pub started_at: String,
}

impl Runtime {
    /// Spawns `spec` for the API caller `caller`, decided by `node_gate` exactly as a Lua spawn is
    /// (`process.spawn` on the entry, `process.host` on the host, and for the spec's actor, scopes, context,
    /// name and messages `process.security`, `process.context`, `process.registry.register` and
    /// `process.send`). The process runs as the caller's actor and scopes unless `spec.actor` / `spec.scopes`
    /// say otherwise (like the root of `corral run`), has no parent, and its arguments are bounded by its
    /// host's message bounds. Returns its PID and a receiver of its exit.
    /// Errors: those of [`Runtime::spawn`]; `Invalid` for a monitored or linked spec (the API is no process
    /// to be told or linked) and for builder grants.
    pub fn api_spawn(
        &self,
        node_gate: &Gate,
        caller: &ApiCaller,
        spec: SpawnSpec,
    ) -> Result<(Pid, oneshot::Receiver<Exit>)> {
        if spec.monitored || spec.linked {
            return Err(Error::Invalid("an API caller cannot monitor or link to a process it spawns".into()));
        }
        if !spec.grants.is_empty() {
            return Err(Error::Invalid("an API spawn carries no builder grants".into()));
        }
        let (tx, rx) = oneshot::channel();
        let pid = self.spawn_with(Decider::api(node_gate), caller.caller(), None, spec, Some((OpKind::Spawn, tx)))?;
        Ok((pid, rx))
    }

    /// Sends `payload` on `topic` to `dest` (a PID or a registered name) for the API caller, decided by
    /// `node_gate` as `process.send` on the target with `context.topic`. The message has no sender PID
    /// (`msg:from()` is nil) and carries the caller's actor (`msg:from_actor()`). The payload is bounded by the
    /// target's host (size and depth). A full mailbox is refused: no host fallback stands in for the API.
    /// Errors: `Invalid` for a reserved or empty topic; `NotFound`; `PermissionDenied` naming `process.send`;
    /// `LimitExceeded` for a payload over the bounds or a full mailbox ([`Error::MailboxFull`], the payload
    /// handed back). On error nothing was delivered.
    pub fn api_send(
        &self,
        node_gate: &Gate,
        caller: &ApiCaller,
        dest: &str,
        topic: &str,
        payload: Vec<Value>,
    ) -> Result<()> {
        check_topic(topic)?;
        let target = self.resolve(dest)?;
        let bytes = super::messaging::check_values(&target.host().spec, &payload)?;
        let send = Operation::Send { target: &target.target(), topic, bytes };
        let permit = Decider::api(node_gate).check(&caller.caller(), send)?;
        permit.redeem(OpKind::Send, SubjectRef::Message { to: target.pid(), topic })?;
        let actor: std::sync::Arc<str> = caller.actor.id.as_str().into();
        let message = Message::new(None, topic.into(), payload.into()).with_actor(Some(actor));
        match target.mailbox().deliver(message, bytes) {
            Ok(_) => {
                target.messages_in.fetch_add(1, Ordering::Relaxed);
                self.inner.counters.message();
                Ok(())
            }
            Err(refused) => {
                self.audit_overflow(&target, "api".into(), topic);
                Err(Error::MailboxFull {
                    pid: target.pid().to_string(),
                    capacity: target.limits().mailbox,
                    payload: refused.payload.to_vec(),
                })
            }
        }
    }

    /// `process.call` of `dest` for the API caller (`POST /v1/processes/{pid-or-name}/call`), decided by
    /// `node_gate` as `process.send` plus `process.call` on the target, exactly as a process's call is: the
    /// message has no sender PID and carries the caller's actor, the payload is bounded by the target's host,
    /// and the call counts against the node-wide bound of pending calls that are no process's
    /// (`MAX_PENDING_NODE_CALLS`). Waits at most `timeout` for the reply.
    /// Errors: those of [`Runtime::api_send`]; `Timeout` when no reply came in time (a late reply is dropped
    /// and counted); `Unavailable` when the target exited before it replied.
    pub async fn api_call(
        &self,
        node_gate: &Gate,
        caller: &ApiCaller,
        dest: &str,
        topic: &str,
        payload: Vec<Value>,
        timeout: std::time::Duration,
    ) -> Result<Value> {
        let pending = self.call_decided_by(Decider::api(node_gate), &caller.caller(), dest, topic, payload)?;
        pending.wait(timeout).await
    }

    /// `process.cancel` of `dest` for the API caller, decided by `node_gate`: as [`Runtime::cancel`], the
    /// CANCEL event naming [`Runtime::api_pid`] as its sender and the `proc.signal` record `pid: null` with
    /// the caller's actor. Errors: `NotFound`, `PermissionDenied` naming `process.cancel`.
    pub fn api_cancel(
        &self,
        node_gate: &Gate,
        caller: &ApiCaller,
        dest: &str,
        deadline: Option<Duration>,
    ) -> Result<()> {
        self.cancel_as(Decider::api(node_gate), &caller.caller(), None, dest, deadline)
    }

    /// `process.terminate` of `dest` for the API caller, decided by `node_gate`. Errors: `NotFound`,
    /// `PermissionDenied` naming `process.terminate`.
    pub fn api_terminate(&self, node_gate: &Gate, caller: &ApiCaller, dest: &str) -> Result<()> {
        self.terminate_as(Decider::api(node_gate), &caller.caller(), None, dest)
    }

    /// The PID events from the API name as their sender (a CANCEL's `from`): `{<node>@<incarnation>|corral:api|0}`.
    /// No process has it (sequence numbers start at 1 and no app host is `corral:api`), so a message to it is
    /// `NOT_FOUND`.
    pub fn api_pid(&self) -> Pid {
        Pid::new(self.inner.node.clone(), self.inner.incarnation, API_HOST.into(), 0)
    }

    /// A snapshot of every live process, sorted by PID (host, then sequence). Read-only: copies, taken
    /// under the process table's lock for the list and without it for each process's counters. Decide
    /// `node.inspect` on the app before showing it to an API caller.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        let mut procs: Vec<(std::sync::Arc<Process>, Vec<String>)> = {
            let state = lock(&self.inner.state);
            state
                .procs
                .values()
                .map(|p| (p.clone(), state.names_of.get(p.pid()).cloned().unwrap_or_default()))
                .collect()
        };
        procs.sort_by(|a, b| a.0.pid().cmp(b.0.pid()));
        procs.into_iter().map(|(p, names)| info(&p, names)).collect()
    }

    /// A snapshot of the live process `dest` names (a PID or a registered name). Errors: those of
    /// resolving: `NotFound`, `Invalid`.
    pub fn process_info(&self, dest: &str) -> Result<ProcessInfo> {
        let process = self.resolve(dest)?;
        let names = lock(&self.inner.state).names_of.get(process.pid()).cloned().unwrap_or_default();
        Ok(info(&process, names))
    }
}

fn info(process: &Process, mut names: Vec<String>) -> ProcessInfo {
    names.sort();
    let status = if process.is_exiting() {
        "exiting"
    } else if process.pending_cancel().is_some() {
        "cancelling"
    } else {
        "running"
    };
    ProcessInfo {
        pid: process.pid().to_string(),
        entry: process.entry().id.clone(),
        host: process.host().spec.id.clone(),
        actor: process.actor().map(|a| a.id.clone()),
        names,
        status,
        mailbox: process.mailbox().held(),
        memory: process.account().held(),
        compute: process.usage().compute(),
        started_at: crate::audit::rfc3339(process.started_at),
    }
}
