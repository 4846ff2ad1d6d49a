//! Spawning: `process.spawn*`, `process.exec`, the SpawnBuilder's extras, and the root process.

use std::collections::BTreeMap;
use std::sync::Arc;

use corral_policy::Actor;
use tokio::sync::oneshot;

use super::registry::Grant;
use super::{Runtime, State};
use crate::app::EntryKind;
use crate::error::{Error, Result};
use crate::gate::{Caller, Child, Decider, OpKind, Operation, Permit, SubjectRef};
use crate::limits::LimitRequest;
use crate::lock;
use crate::mailbox::Message;
use crate::pid::Pid;
use crate::process::{Exit, Identity, Process};
use crate::value::Value;

/// A spawn request: the module-level `spawn*` functions and the SpawnBuilder's `:spawn*`.
#[derive(Clone, Debug, Default)]
pub struct SpawnSpec {
    /// Entry id `namespace:name` of a process (or function) entry.
    pub entry: String,
    /// Host id.
    pub host: String,
    /// Arguments for the child's `main(...)`.
    pub args: Vec<Value>,
    /// The caller gets EXIT when the child exits.
    pub monitored: bool,
    /// The caller and the child are linked.
    pub linked: bool,
    /// `:with_actor`: the child's actor instead of the caller's (needs `process.security`).
    pub actor: Option<Arc<Actor>>,
    /// `:with_scope`: the child's scopes instead of the caller's (needs `process.security`).
    pub scopes: Option<Arc<[String]>>,
    /// `:with_context`: merged over the caller's context values (needs `process.context`).
    pub context: BTreeMap<String, Value>,
    /// `:with_name`: registered to the child before it runs (needs `process.registry.register`).
    pub name: Option<String>,
    /// `:with_message`: queued in the child's mailbox before it runs (needs `process.send` on the child).
    pub messages: Vec<(String, Vec<Value>)>,
    /// `:with_limits`: narrows the host's per-process limits; above the host's maximum is `LimitExceeded`.
    pub limits: LimitRequest,
    /// The builder's grants (`process.context`, `process.security` decided when its methods were called):
    /// what they cover is not asked again.
    pub grants: Vec<Grant>,
}

/// The root process of `corral run` and of each `corral test` case.
#[derive(Clone, Debug)]
pub struct RootSpec {
    /// Entry id.
    pub entry: String,
    /// Host id.
    pub host: String,
    /// Arguments for `main(...)`.
    pub args: Vec<Value>,
    /// The root actor (`--actor` or `corral.toml`); `None` is denied.
    pub actor: Option<Arc<Actor>>,
    /// The root scopes.
    pub scopes: Vec<String>,
}

impl Runtime {
    /// Spawns a child of `parent`. Every permission the request needs (seed 003: spawn, the variant's,
    /// host; the builder's context, security, name and messages) is checked before anything happens.
    /// Errors: `NotFound` for an unknown entry or host, `Invalid` for an entry that is not a process or a bad
    /// topic, `LimitExceeded` when the host is full or the child's actor is at its quota (`corral.toml`
    /// `[quotas]`), `PermissionDenied`, `AlreadyExists` for a taken name.
    pub fn spawn(&self, parent: &Process, spec: SpawnSpec) -> Result<Pid> {
        self.spawn_with(Decider::own(self.gate()), parent.caller(), Some(parent), spec, None)
    }

    /// `process.exec`: spawns, waits for the child (yielding), returns its result.
    /// Errors: those of spawn; the child's error as `Err` inside `Ok`.
    pub async fn exec(&self, parent: &Process, entry: &str, host: &str, args: Vec<Value>) -> Result<Exit> {
        let caller = parent.caller();
        let (tx, rx) = oneshot::channel();
        let spec = SpawnSpec { entry: entry.into(), host: host.into(), args, ..SpawnSpec::default() };
        self.spawn_with(Decider::own(self.gate()), caller, Some(parent), spec, Some((OpKind::Exec, tx)))?;
        rx.await.map_err(|_| Error::Internal("exec lost its child".into()))
    }

    /// Starts the root process as the runtime itself (no parent), checked like any spawn (`process.spawn` on
    /// the entry, `process.host` on the host) with the root actor as principal. Returns its PID and a receiver
    /// for its exit.
    pub fn start_root(&self, root: RootSpec) -> Result<(Pid, oneshot::Receiver<Exit>)> {
        let caller = Caller { pid: None, entry: None, actor: root.actor.clone(), scopes: root.scopes.into() };
        *lock(&self.inner.root_caller) = Some(caller.clone());
        let (tx, rx) = oneshot::channel();
        let spec = SpawnSpec { entry: root.entry, host: root.host, args: root.args, ..SpawnSpec::default() };
        let pid = self.spawn_with(Decider::own(self.gate()), caller, None, spec, Some((OpKind::Spawn, tx)))?;
        Ok((pid, rx))
    }

    /// The fallback process of `host` (`fallback:` naming an entry of the app): the one it started if that
    /// still lives, else a new one, started by the runtime as the root caller on `host` (decided and audited
    /// like any spawn). Errors: those of spawning, and `Invalid` when no root was started yet.
    pub(super) fn host_fallback(&self, host: &Arc<crate::process::Host>, entry: &str) -> Result<Arc<Process>> {
        let mut slot = lock(&host.fallback);
        if let Some(pid) = slot.as_ref()
            && let Some(process) = self.process(pid)
        {
            return Ok(process);
        }
        let caller = lock(&self.inner.root_caller)
            .clone()
            .ok_or_else(|| Error::Invalid("no root process: nobody to start the fallback as".into()))?;
        let spec = SpawnSpec { entry: entry.into(), host: host.spec.id.clone(), ..SpawnSpec::default() };
        let pid = self.spawn_with(Decider::own(self.gate()), caller, None, spec, None)?;
        *slot = Some(pid.clone());
        self.process(&pid).ok_or_else(|| Error::NoSuchProcess { dest: pid.to_string() })
    }

    /// Spawns as `caller`, every permission decided by `decider` (the app's gate, or the node's for an API
    /// caller).
    pub(super) fn spawn_with(
        &self,
        decider: Decider<'_>,
        caller: Caller,
        parent: Option<&Process>,
        spec: SpawnSpec,
        waiter: Option<(OpKind, oneshot::Sender<Exit>)>,
    ) -> Result<Pid> {
        let entry = self
            .inner
            .app
            .load()
            .entries
            .get(&spec.entry)
            .cloned()
            .ok_or_else(|| Error::NoSuchEntry { id: spec.entry.clone() })?;
        if entry.kind == EntryKind::Library {
            return Err(Error::NotAProcess { id: spec.entry.clone() });
        }
        let host = self.host(&spec.host)?;
        // Arguments and builder messages are bounded like any message (`lua-api.md`, "Conventions"): by the
        // caller's host, or for the root by the host it starts on.
        let bounds = parent.map_or(&host.spec, |p| &p.host().spec);
        let args_bytes = super::messaging::check_values(bounds, &spec.args)?;
        let mut message_bytes = Vec::with_capacity(spec.messages.len());
        for (topic, payload) in &spec.messages {
            check_topic(topic)?;
            message_bytes.push(super::messaging::check_values(bounds, payload)?);
        }
        let limits = spec.limits.resolve(&host.spec)?;
        // Builder messages must all fit the child's mailbox: one that did not would be lost (issue 9, class 6).
        if spec.messages.len() > limits.mailbox {
            return Err(Error::Limit {
                what: format!(
                    "{} builder messages do not fit the child's mailbox of {} messages",
                    spec.messages.len(),
                    limits.mailbox
                ),
            });
        }
        if let Some(parent) = parent
            && parent.children() >= parent.host().spec.max_children
        {
            return Err(Error::Limit {
                what: format!(
                    "process `{}` runs its maximum of {} live children",
                    parent.pid(),
                    parent.host().spec.max_children
                ),
            });
        }
        let pid = self.next_pid(&host);
        let actor = spec.actor.clone().or_else(|| caller.actor.clone());
        let child = Arc::new(Process::new(Identity {
            pid: pid.clone(),
            entry,
            host: host.clone(),
            actor,
            scopes: spec.scopes.clone().unwrap_or_else(|| caller.scopes.clone()),
            context: merged_context(parent, &spec.context),
            parent: parent.map(|p| p.pid().clone()),
            parent_actor_id: parent.and_then(Process::actor_id),
            limits,
        }));
        let start = match &waiter {
            Some((kind @ (OpKind::Exec | OpKind::FuncsCall), _)) => *kind,
            _ => OpKind::Spawn,
        };
        let memo = parent.map(|parent| &parent.memo);
        let permits = self.check_spawn(decider, &caller, &spec, &message_bytes, &child, start, memo)?;
        let count = host.live.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if count >= host.spec.max_processes {
            host.live.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            return Err(Error::Limit {
                what: format!("host `{}` runs its maximum of {} processes", spec.host, host.spec.max_processes),
            });
        }
        if let Err(e) = self.reserve_quota(&child) {
            host.live.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            return Err(e);
        }
        if let Err(e) = self.install(permits, parent, &spec, &message_bytes, &child, waiter.map(|(_, tx)| tx)) {
            host.live.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            self.release_quota(&child);
            return Err(e);
        }
        if let Some(parent) = parent {
            parent.children.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        self.audit_spawn(&caller, &child, &spec, args_bytes);
        self.inner.counters.spawn();
        self.run(child, spec.args);
        Ok(pid)
    }

    /// Counts `child` against its actor's quota (`corral.toml` `[quotas]`): one process and its memory limit.
    /// Errors: `LimitExceeded` naming the actor and the quota; nothing is counted then. A process without an
    /// actor, or a node without quotas, counts nothing.
    fn reserve_quota(&self, child: &Process) -> Result<()> {
        let quotas = self.quotas();
        match child.actor() {
            Some(actor) if !quotas.is_empty() => self.inner.usage.reserve(&quotas, &actor.id, child.limits().memory),
            _ => Ok(()),
        }
    }

    /// Undoes [`Runtime::reserve_quota`] (the spawn failed after it, or the process ended).
    pub(super) fn release_quota(&self, child: &Process) {
        if let Some(actor) = child.actor()
            && !self.quotas().is_empty()
        {
            self.inner.usage.release(&actor.id, child.limits().memory);
        }
    }

    /// Every permission of the spawn, decided before any effect. `message_bytes` are the sizes of the
    /// builder's messages, in order; `memo` is the spawning process's (a repeated spawn is decided from it).
    #[allow(clippy::too_many_arguments, reason = "the inputs of one decision, each used once")]
    fn check_spawn(
        &self,
        gate: Decider<'_>,
        caller: &Caller,
        spec: &SpawnSpec,
        message_bytes: &[usize],
        child: &Process,
        start: OpKind,
        memo: Option<&crate::gate::Memo>,
    ) -> Result<SpawnPermits> {
        // What the builder's grants cover was decided when its methods were called: each permission once.
        let granted = |allows: &dyn Fn(&Grant, &Pid) -> bool| {
            caller.pid.as_ref().is_some_and(|pid| spec.grants.iter().any(|g| allows(g, pid)))
        };
        let context_needed = !spec.context.is_empty() && !granted(&|g, pid| g.allows_context(pid));
        let context = context_needed.then(|| gate.check(caller, Operation::Context)).transpose()?;
        let actor = spec.actor.as_deref().filter(|a| !granted(&|g, pid| g.allows_actor(pid, &a.id)));
        let scopes = spec.scopes.as_deref().filter(|s| !granted(&|g, pid| g.allows_scopes(pid, s)));
        let security = (actor.is_some() || scopes.is_some())
            .then(|| gate.check(caller, Operation::Security(Child { actor, scopes })))
            .transpose()?;
        let child_is = Child { actor: child.actor().map(|a| &**a), scopes: Some(child.scopes()) };
        let start_permit = if start == OpKind::Exec {
            gate.check(caller, Operation::Exec { entry: &spec.entry, host: &spec.host, child: child_is })?
        } else if start == OpKind::FuncsCall {
            gate.check(caller, Operation::FuncsCall { entry: &spec.entry, host: &spec.host, child: child_is })?
        } else {
            gate.check_spawn(
                caller,
                Operation::Spawn {
                    entry: &spec.entry,
                    host: &spec.host,
                    monitored: spec.monitored,
                    linked: spec.linked,
                    child: child_is,
                },
                memo,
            )?
        };
        let name = spec.name.as_deref().map(|name| gate.check(caller, Operation::Register(name, None))).transpose()?;
        let target = child.target();
        let mut messages = Vec::with_capacity(spec.messages.len());
        for ((topic, _), &bytes) in spec.messages.iter().zip(message_bytes) {
            messages.push(gate.check(caller, Operation::Send { target: &target, topic, bytes })?);
        }
        Ok(SpawnPermits { kind: start, context, security, start: start_permit, name, messages })
    }

    /// Puts the child in the table with its monitor, link, name, messages and waiter, all before it runs.
    fn install(
        &self,
        permits: SpawnPermits,
        parent: Option<&Process>,
        spec: &SpawnSpec,
        message_bytes: &[usize],
        child: &Arc<Process>,
        waiter: Option<oneshot::Sender<Exit>>,
    ) -> Result<()> {
        let pid = child.pid().clone();
        let mut state = lock(&self.inner.state);
        if let Some(name) = &spec.name
            && let Some(holder) = state.names.get(name)
        {
            return Err(Error::NameTaken { name: name.clone(), holder: holder.to_string() });
        }
        permits.redeem(spec, child.pid())?;
        state.procs.insert(pid.clone(), child.clone());
        if let Some(name) = &spec.name {
            super::registry::bind_name(&mut state, name, &pid, &pid);
        }
        if let Some(parent) = parent {
            if spec.monitored {
                add_monitor(&mut state, parent.pid(), &pid);
            }
            if spec.linked {
                add_link(&mut state, parent.pid(), &pid);
            }
        }
        if let Some(tx) = waiter {
            state.waiters.entry(pid.clone()).or_default().push(tx);
        }
        drop(state);
        let from_actor = parent.and_then(Process::actor_id);
        for ((topic, payload), &bytes) in spec.messages.iter().zip(message_bytes) {
            let message = Message::new(parent.map(|p| p.pid().clone()), topic.as_str().into(), payload.clone().into())
                .with_actor(from_actor.clone());
            // INVARIANT: the count was checked against the child's mailbox before the child existed, and nothing
            // else can reach its mailbox before it runs.
            if child.mailbox().deliver(message, bytes).is_err() {
                tracing::error!(%pid, topic, "a builder message did not fit the new mailbox");
            }
        }
        Ok(())
    }

    fn audit_spawn(&self, caller: &Caller, child: &Process, spec: &SpawnSpec, args_bytes: usize) {
        let limits = child.limits();
        let grants: Vec<u64> = spec.grants.iter().map(Grant::op_id).collect();
        let record = crate::audit::records::SpawnRecord {
            pid: child.pid().as_str(),
            parent: caller.pid.as_ref().map(Pid::as_str),
            entry: &child.entry().id,
            host: &spec.host,
            actor: child.actor().map(|a| a.id.as_str()),
            scopes: child.scopes(),
            monitored: spec.monitored,
            linked: spec.linked,
            args_bytes,
            grants: &grants,
            limits: crate::audit::records::SpawnLimits {
                mailbox: limits.mailbox,
                memory: limits.memory,
                compute: limits.compute,
            },
            node: self.node(),
            incarnation: self.incarnation(),
        };
        self.audit_lifecycle("proc.spawn", &record);
    }

    /// Runs the child's code on the launcher until it returns or is killed, then ends it. A panic anywhere in
    /// the launcher or the process's future is caught at this boundary: the process ends with reason
    /// `internal` (monitors, links, names and quotas as for any exit, and `proc.exit` records it) and the node
    /// keeps serving (issue 9, class 2).
    fn run(&self, child: Arc<Process>, args: Vec<Value>) {
        use futures_util::FutureExt;
        use std::panic::AssertUnwindSafe;
        let runtime = self.clone();
        let launched =
            std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.launcher.launch_on(self, child.clone(), args)));
        let (launched, executor) = match launched {
            Ok((code, executor)) => (Ok(code), executor),
            Err(panic) => (Err(panic), None),
        };
        let task: futures_util::future::BoxFuture<'static, ()> = Box::pin(async move {
            let exit = match launched {
                Ok(code) => {
                    let guarded = AssertUnwindSafe(async {
                        tokio::select! {
                            biased;
                            exit = child.killed() => exit,
                            exit = code => exit,
                        }
                    })
                    .catch_unwind();
                    match guarded.await {
                        Ok(exit) => exit,
                        Err(panic) => panicked(&child, panic.as_ref()),
                    }
                }
                Err(panic) => panicked(&child, panic.as_ref()),
            };
            runtime.finish(&child, exit);
        });
        match executor {
            Some(executor) => executor.run(task),
            None => {
                #[allow(clippy::disallowed_methods, reason = "the runtime's own spawner: the process task itself")]
                tokio::spawn(task);
            }
        }
    }
}

/// The exit of a process whose task panicked: reason `internal`, with the panic's message (logged too).
fn panicked(child: &Process, panic: &(dyn std::any::Any + Send)) -> Exit {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    tracing::error!(pid = %child.pid(), "the host failed while running the process: {what}");
    Exit::abnormal(crate::process::ExitReason::Internal, format!("internal: the host failed: {what}"))
}

/// The permits of one spawn, each for its own part of it.
struct SpawnPermits {
    /// `Spawn`, `Exec` or `FuncsCall`: what `start` allows.
    kind: OpKind,
    context: Option<Permit>,
    security: Option<Permit>,
    start: Permit,
    name: Option<Permit>,
    messages: Vec<Permit>,
}

impl SpawnPermits {
    /// Redeems every permit for what `spec` does to the child `pid`. Errors: `Internal` when one names
    /// something else.
    fn redeem(self, spec: &SpawnSpec, pid: &Pid) -> Result<()> {
        if let Some(permit) = self.context {
            permit.redeem(OpKind::Context, SubjectRef::Capability("context"))?;
        }
        if let Some(permit) = self.security {
            permit.redeem(OpKind::Security, SubjectRef::Capability("security"))?;
        }
        self.start.redeem(self.kind, SubjectRef::Start { entry: &spec.entry, host: &spec.host })?;
        if let (Some(permit), Some(name)) = (self.name, &spec.name) {
            permit.redeem(OpKind::Register, SubjectRef::Name(name))?;
        }
        for (permit, (topic, _)) in self.messages.into_iter().zip(&spec.messages) {
            permit.redeem(OpKind::Send, SubjectRef::Message { to: pid, topic })?;
        }
        Ok(())
    }
}

/// The parent's context values with `extra` over them; the parent's own map, shared, when there is no extra.
fn merged_context(parent: Option<&Process>, extra: &BTreeMap<String, Value>) -> Arc<BTreeMap<String, Value>> {
    if let (Some(parent), true) = (parent, extra.is_empty()) {
        return parent.context().clone();
    }
    let mut context = parent.map(|p| (**p.context()).clone()).unwrap_or_default();
    context.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    Arc::new(context)
}

pub(super) fn add_monitor(state: &mut State, watcher: &Pid, target: &Pid) {
    state.watchers.entry(target.clone()).or_default().insert(watcher.clone());
    state.watching.entry(watcher.clone()).or_default().insert(target.clone());
}

pub(super) fn add_link(state: &mut State, a: &Pid, b: &Pid) {
    state.links.entry(a.clone()).or_default().insert(b.clone());
    state.links.entry(b.clone()).or_default().insert(a.clone());
}

/// Topics are non-empty, at most [`crate::limits::MAX_NAME_BYTES`] long, and do not start with `@` (reserved
/// for the runtime). Errors: `Invalid`.
pub fn check_topic(topic: &str) -> Result<()> {
    crate::limits::check_bounded("topic", topic)?;
    if topic.is_empty() {
        return Err(Error::Invalid("topic must not be empty".into()));
    }
    if topic.starts_with('@') {
        return Err(Error::Invalid(format!(
            "topic `{topic}` is reserved: topics starting with `@` belong to the runtime"
        )));
    }
    Ok(())
}
