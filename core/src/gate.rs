//! The gate: the one place where a request is decided and audited.
//!
//! Every process API call is an [`Operation`]. [`Gate::check`] turns it into the Cedar requests the seed's
//! permission table names (seed 003, "多重权限"; `policy-model.md`), decides each through `corral-policy`,
//! writes one `authz.decision` record per request to the audit sink, and only when every request is allowed
//! and recorded returns a [`Permit`]. Effectful runtime functions take the permit, so no effect can skip the
//! check; [`Operation::requests`] matches every variant without a wildcard, so an operation that is not mapped
//! to a Cedar action does not compile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::audit::records::{DecisionRecord, RequestContext};
use crate::audit::summary::SlotHint;
use crate::audit::{AuditSink, CachedAllow, Level, Levels};
use crate::error::{Error, Result};
use crate::lock;
use crate::metrics::{ActionSlot, Counters};
use crate::pid::Pid;
use arc_swap::ArcSwap;
use corral_policy::{Actor, AttrValue, Decision, PolicySet, Request, Resource};

/// The Cedar actions of the policy model (`policy-model.md`, "Actions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `process.spawn` on the entry.
    Spawn,
    /// `process.spawn.monitored` on the entry.
    SpawnMonitored,
    /// `process.spawn.linked` on the entry.
    SpawnLinked,
    /// `process.host` on the host.
    Host,
    /// `process.exec` on the entry.
    Exec,
    /// `process.send` on the target process.
    Send,
    /// `process.terminate` on the target process.
    Terminate,
    /// `process.cancel` on the target process.
    Cancel,
    /// `process.monitor` on the target process.
    Monitor,
    /// `process.unmonitor` on the target process.
    Unmonitor,
    /// `process.link` on the target process.
    Link,
    /// `process.unlink` on the target process.
    Unlink,
    /// `process.context` on `Capability::"context"`.
    Context,
    /// `process.security` on `Capability::"security"`.
    Security,
    /// `process.registry.register` on the name.
    Register,
    /// `process.registry.unregister` on the name.
    Unregister,
    /// `process.upgrade` on the entry.
    Upgrade,
    /// `process.call` on the target process (with `process.send`, for a call that waits for a reply).
    Call,
    /// `funcs.call` on the function entry (reference dialect: `funcs.call`, `funcs.async`).
    FuncsCall,
    /// `events.send` on `EventSystem::"<system>"` (reference dialect: `events.send`).
    EventsSend,
    /// `events.subscribe` on `EventSystem::"<pattern>"` (reference dialect: `events.subscribe`).
    EventsSubscribe,
}

impl Action {
    /// The Cedar action id, e.g. `process.spawn.monitored`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Spawn => "process.spawn",
            Action::SpawnMonitored => "process.spawn.monitored",
            Action::SpawnLinked => "process.spawn.linked",
            Action::Host => "process.host",
            Action::Exec => "process.exec",
            Action::Send => "process.send",
            Action::Terminate => "process.terminate",
            Action::Cancel => "process.cancel",
            Action::Monitor => "process.monitor",
            Action::Unmonitor => "process.unmonitor",
            Action::Link => "process.link",
            Action::Unlink => "process.unlink",
            Action::Context => "process.context",
            Action::Security => "process.security",
            Action::Register => "process.registry.register",
            Action::Unregister => "process.registry.unregister",
            Action::Upgrade => "process.upgrade",
            Action::Call => "process.call",
            Action::FuncsCall => "funcs.call",
            Action::EventsSend => "events.send",
            Action::EventsSubscribe => "events.subscribe",
        }
    }
}

/// Who asks: the calling process's security context. Actor and scopes travel with each process.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The caller's PID; `None` for the runtime itself (starting the root process).
    pub pid: Option<Pid>,
    /// The caller's entry id, for the audit record.
    pub entry: Option<Arc<str>>,
    /// The principal; `None` means every request is denied (fail closed).
    pub actor: Option<Arc<Actor>>,
    /// The scope names that select policies.
    pub scopes: Arc<[String]>,
}

/// Who calls over a node's API (`corral serve`): a bearer token's actor and scopes. It is no process: its
/// requests are decided by the node's policy set (a gate of its own), with the actor as principal and the
/// scopes selecting `@scope` policies, and their records carry `pid: null`, `via: "api"` and the actor as
/// principal. A request's context `pid` is `"api"`.
#[derive(Clone, Debug)]
pub struct ApiCaller {
    /// The token's actor: the principal of every decision its requests cause.
    pub actor: Arc<Actor>,
    /// The token's scope names.
    pub scopes: Arc<[String]>,
}

impl ApiCaller {
    /// The caller as the gate sees it: no PID, no entry.
    pub(crate) fn caller(&self) -> Caller {
        Caller { pid: None, entry: None, actor: Some(self.actor.clone()), scopes: self.scopes.clone() }
    }
}

/// The node actions on `App::"<name>"` (`node.md`, "Who is calling"), decided by the node's policy set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeAction {
    /// `node.deploy`: deploying a new app or a new revision of one.
    Deploy,
    /// `node.remove`: removing an app.
    Remove,
    /// `node.inspect`: listing an app and reading its processes.
    Inspect,
}

impl NodeAction {
    /// The Cedar action id, e.g. `node.deploy`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeAction::Deploy => "node.deploy",
            NodeAction::Remove => "node.remove",
            NodeAction::Inspect => "node.inspect",
        }
    }
}

/// Who decides a call: a gate, and whether the caller is the node's API (its records say `via: "api"`).
#[derive(Clone, Copy)]
pub(crate) struct Decider<'a> {
    gate: &'a Gate,
    api: bool,
}

impl<'a> Decider<'a> {
    /// A process's or the runtime's own calls, decided by `gate` (the app's).
    pub(crate) fn own(gate: &'a Gate) -> Decider<'a> {
        Decider { gate, api: false }
    }

    /// An API caller's calls, decided by `gate` (the node's).
    pub(crate) fn api(gate: &'a Gate) -> Decider<'a> {
        Decider { gate, api: true }
    }

    /// [`Gate::check`] on this decider's gate.
    pub(crate) fn check(&self, caller: &Caller, operation: Operation<'_>) -> Result<Permit> {
        self.gate.check_via(caller, operation, self.api)
    }

    /// [`Gate::check_spawn`] with a process's `memo` for a process's own spawn; [`Decider::check`] without
    /// one or for an API caller.
    pub(crate) fn check_spawn(&self, caller: &Caller, operation: Operation<'_>, memo: Option<&Memo>) -> Result<Permit> {
        match memo {
            Some(memo) if !self.api => self.gate.check_spawn(caller, operation, memo),
            _ => self.check(caller, operation),
        }
    }
}

/// A live process as a resource: `Process::"<pid>"` with its entry, host and actor.
#[derive(Clone, Debug)]
pub struct Target {
    /// The process.
    pub pid: Pid,
    /// Its entry id.
    pub entry: Arc<str>,
    /// Its actor id.
    pub actor: Arc<str>,
}

impl Target {
    /// It as a policy resource, `Process::"<pid>"` with its entry, host and actor: shared text, no copy.
    pub fn resource(&self) -> Resource {
        Resource::Process {
            pid: self.pid.text().clone(),
            entry: self.entry.clone(),
            host: self.pid.host_id().clone(),
            actor: self.actor.clone(),
        }
    }
}

/// Who a new process will be: the actor it runs as and its scopes (the caller's, unless a SpawnBuilder's
/// `:with_actor` / `:with_scope` set them). Spawn, exec and `process.security` requests carry it as
/// `context.actor`, `context.tenant` (the actor's `tenant` meta, when a string) and `context.scopes`, so a
/// policy can say "the dispatcher may start `acme:worker` only as an `acme` actor" (issue 9).
#[derive(Clone, Copy, Debug, Default)]
pub struct Child<'a> {
    /// The actor it runs as; `None` when it has none (every request it makes is then denied).
    pub actor: Option<&'a Actor>,
    /// Its scope names; `None` where they are not being set (a `process.security` check for an actor only).
    pub scopes: Option<&'a [String]>,
}

/// The process a registry name is (to be) bound to, for `process.registry.register` and `unregister`:
/// passed as `context.owner`, `context.owner_entry`, `context.owner_actor`, and `context.own` when it is the
/// caller itself.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    /// The process.
    pub target: &'a Target,
    /// Whether it is the caller.
    pub own: bool,
}

/// One process API call, as the gate sees it.
#[derive(Clone, Copy, Debug)]
pub enum Operation<'a> {
    /// `process.spawn*`: the entry, the host, which variant, and who the child will be.
    Spawn {
        /// Entry id.
        entry: &'a str,
        /// Host id.
        host: &'a str,
        /// `spawn_monitored` or `spawn_linked_monitored`.
        monitored: bool,
        /// `spawn_linked` or `spawn_linked_monitored`.
        linked: bool,
        /// The child's actor and scopes.
        child: Child<'a>,
    },
    /// `process.exec`.
    Exec {
        /// Entry id.
        entry: &'a str,
        /// Host id.
        host: &'a str,
        /// The child's actor and scopes.
        child: Child<'a>,
    },
    /// `process.send` (and SpawnBuilder `:with_message`, on the child).
    Send {
        /// The receiver.
        target: &'a Target,
        /// The topic, passed as `context.topic`.
        topic: &'a str,
        /// The payload's size in bytes ([`crate::Value::size`]): recorded at level `request`, never the
        /// payload itself.
        bytes: usize,
    },
    /// `process.terminate`.
    Terminate(&'a Target),
    /// `process.cancel`.
    Cancel(&'a Target),
    /// `process.monitor`.
    Monitor(&'a Target),
    /// `process.unmonitor`.
    Unmonitor(&'a Target),
    /// `process.link`.
    Link(&'a Target),
    /// `process.unlink`.
    Unlink(&'a Target),
    /// `process.with_context` and SpawnBuilder `:with_context`.
    Context,
    /// SpawnBuilder `:with_actor` and `:with_scope`: the actor and scopes asked for.
    Security(Child<'a>),
    /// `process.registry.register` (and SpawnBuilder `:with_name`): the name and the process it binds to
    /// (`None` for a builder's name: the child does not exist yet).
    Register(&'a str, Option<Owner<'a>>),
    /// `process.registry.unregister`: the name and the process holding it, if any.
    Unregister(&'a str, Option<Owner<'a>>),
    /// `process.upgrade`.
    Upgrade(&'a str),
    /// `process.call`: a send that waits for a reply, decided as `process.send` and `process.call` on the
    /// receiver, both with `context.topic` (`models.md`, "Call and reply").
    Call {
        /// The receiver.
        target: &'a Target,
        /// The topic, passed as `context.topic`.
        topic: &'a str,
        /// The payload's size in bytes, as for [`Operation::Send`].
        bytes: usize,
    },
    /// `funcs.call` / `funcs.async` (reference dialect): runs a `function.lua` entry as a child on the
    /// caller's host, decided as `funcs.call` on the entry with the child's `host`, `entry`, actor and scopes
    /// in the context (as for [`Operation::Exec`]).
    FuncsCall {
        /// Entry id.
        entry: &'a str,
        /// Host id (the caller's).
        host: &'a str,
        /// The child's actor and scopes.
        child: Child<'a>,
    },
    /// `events.send` (reference dialect): an event of `kind` to the bus, decided on
    /// `EventSystem::"<system>"` with `context.kind`.
    EventsSend {
        /// The event's system.
        system: &'a str,
        /// The event's kind.
        kind: &'a str,
        /// The size of the event's data in bytes, recorded at level `request`.
        bytes: usize,
    },
    /// `events.subscribe` (reference dialect): decided on `EventSystem::"<pattern>"` (the pattern as
    /// written, e.g. `orders.*`), with `context.kind` when a kind filter is given.
    EventsSubscribe {
        /// The system pattern.
        pattern: &'a str,
        /// The kind filter.
        kind: Option<&'a str>,
    },
}

/// The kind of operation a permit was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// See [`Operation::Spawn`].
    Spawn,
    /// See [`Operation::Exec`].
    Exec,
    /// See [`Operation::Send`].
    Send,
    /// See [`Operation::Terminate`].
    Terminate,
    /// See [`Operation::Cancel`].
    Cancel,
    /// See [`Operation::Monitor`].
    Monitor,
    /// See [`Operation::Unmonitor`].
    Unmonitor,
    /// See [`Operation::Link`].
    Link,
    /// See [`Operation::Unlink`].
    Unlink,
    /// See [`Operation::Context`].
    Context,
    /// See [`Operation::Security`].
    Security,
    /// See [`Operation::Register`].
    Register,
    /// See [`Operation::Unregister`].
    Unregister,
    /// See [`Operation::Upgrade`].
    Upgrade,
    /// See [`Operation::Call`].
    Call,
    /// See [`Operation::FuncsCall`].
    FuncsCall,
    /// See [`Operation::EventsSend`].
    EventsSend,
    /// See [`Operation::EventsSubscribe`].
    EventsSubscribe,
}

/// Exactly what a permit allows: its operation's target. An effect redeems the permit with the target it is
/// about to act on, and a permit for another target is refused, so a permit cannot be stretched to a
/// different process, name, entry or topic than the one decided.
#[derive(Debug)]
pub(crate) enum Subject {
    /// A spawn or exec of `entry` on `host`.
    Start {
        /// Entry id (shared with the spawner's memo).
        entry: Arc<str>,
        /// Host id (shared with the spawner's memo).
        host: Arc<str>,
    },
    /// A message to a process on a topic.
    Message {
        /// The receiver.
        to: Pid,
        /// The topic, shared with the message that is delivered.
        topic: Arc<str>,
    },
    /// A signal or relation on a process (terminate, cancel, monitor, link and their undoing).
    Process(Pid),
    /// A SpawnBuilder capability (`context`, `security`).
    Capability(&'static str),
    /// A registry name.
    Name(String),
    /// An upgrade to an entry.
    Entry(String),
    /// An event system (or pattern) of the event bus.
    System(String),
}

/// The target an effect is about to act on, borrowed, to redeem a permit with (no copy on the effect's path).
#[derive(Clone, Copy, Debug)]
pub(crate) enum SubjectRef<'a> {
    /// See [`Subject::Start`].
    Start {
        /// Entry id.
        entry: &'a str,
        /// Host id.
        host: &'a str,
    },
    /// See [`Subject::Message`].
    Message {
        /// The receiver.
        to: &'a Pid,
        /// The topic.
        topic: &'a str,
    },
    /// See [`Subject::Process`].
    Process(&'a Pid),
    /// See [`Subject::Capability`].
    Capability(&'static str),
    /// See [`Subject::Name`].
    Name(&'a str),
    /// See [`Subject::Entry`].
    Entry(&'a str),
    /// See [`Subject::System`].
    System(&'a str),
}

impl From<SubjectRef<'_>> for Subject {
    fn from(target: SubjectRef<'_>) -> Subject {
        match target {
            SubjectRef::Start { entry, host } => Subject::Start { entry: entry.into(), host: host.into() },
            SubjectRef::Message { to, topic } => Subject::Message { to: to.clone(), topic: topic.into() },
            SubjectRef::Process(pid) => Subject::Process(pid.clone()),
            SubjectRef::Capability(name) => Subject::Capability(name),
            SubjectRef::Name(name) => Subject::Name(name.into()),
            SubjectRef::Entry(entry) => Subject::Entry(entry.into()),
            SubjectRef::System(system) => Subject::System(system.into()),
        }
    }
}

impl Subject {
    /// Whether it is exactly `acted`.
    fn is(&self, acted: SubjectRef<'_>) -> bool {
        match (self, acted) {
            (Subject::Start { entry, host }, SubjectRef::Start { entry: e, host: h }) => **entry == *e && **host == *h,
            (Subject::Message { to, topic }, SubjectRef::Message { to: t, topic: p }) => to == t && **topic == *p,
            (Subject::Process(pid), SubjectRef::Process(p)) => pid == p,
            (Subject::Capability(c), SubjectRef::Capability(k)) => *c == k,
            (Subject::Name(n), SubjectRef::Name(m))
            | (Subject::Entry(n), SubjectRef::Entry(m))
            | (Subject::System(n), SubjectRef::System(m)) => n == m,
            _ => false,
        }
    }
}

/// Proof that an operation on one target was allowed and recorded. Only [`Gate::check`] makes one; it is
/// neither `Clone` nor `Copy`, and only core's effects can redeem it (`Permit::redeem` is crate-private), so
/// no code outside core can build, reuse or redirect one (`core/tests/compile_fail/`).
#[must_use = "a permit exists to be handed to the effect it allows"]
#[derive(Debug)]
pub struct Permit {
    kind: OpKind,
    subject: Subject,
    op_id: u64,
}

impl Permit {
    /// The operation id shared by the audit records of this check.
    pub fn op_id(&self) -> u64 {
        self.op_id
    }

    /// The kind of operation it allows.
    pub fn kind(&self) -> OpKind {
        self.kind
    }

    /// The topic a permit for a message names, shared (the delivered message carries the same text).
    pub(crate) fn topic(&self) -> Option<&Arc<str>> {
        match &self.subject {
            Subject::Message { topic, .. } => Some(topic),
            _ => None,
        }
    }

    /// Consumes the permit for an effect of `kind` on `subject`. Errors: `Internal` when the permit is for
    /// another kind or another target (a bug in core: the effect is not made).
    pub(crate) fn redeem(self, kind: OpKind, subject: SubjectRef<'_>) -> Result<()> {
        if self.kind == kind && self.subject.is(subject) {
            Ok(())
        } else {
            Err(Error::Internal(format!(
                "a {:?} permit for {:?} was used for {kind:?} on {subject:?}",
                self.kind, self.subject
            )))
        }
    }
}

impl<'a> Operation<'a> {
    /// The kind, for the permit.
    pub fn kind(&self) -> OpKind {
        match self {
            Operation::Spawn { .. } => OpKind::Spawn,
            Operation::Exec { .. } => OpKind::Exec,
            Operation::Send { .. } => OpKind::Send,
            Operation::Terminate(_) => OpKind::Terminate,
            Operation::Cancel(_) => OpKind::Cancel,
            Operation::Monitor(_) => OpKind::Monitor,
            Operation::Unmonitor(_) => OpKind::Unmonitor,
            Operation::Link(_) => OpKind::Link,
            Operation::Unlink(_) => OpKind::Unlink,
            Operation::Context => OpKind::Context,
            Operation::Security(_) => OpKind::Security,
            Operation::Register(..) => OpKind::Register,
            Operation::Unregister(..) => OpKind::Unregister,
            Operation::Upgrade(_) => OpKind::Upgrade,
            Operation::Call { .. } => OpKind::Call,
            Operation::FuncsCall { .. } => OpKind::FuncsCall,
            Operation::EventsSend { .. } => OpKind::EventsSend,
            Operation::EventsSubscribe { .. } => OpKind::EventsSubscribe,
        }
    }

    /// The target a permit for this operation names, borrowed.
    pub(crate) fn subject(&self) -> SubjectRef<'a> {
        match *self {
            Operation::Spawn { entry, host, .. }
            | Operation::Exec { entry, host, .. }
            | Operation::FuncsCall { entry, host, .. } => SubjectRef::Start { entry, host },
            Operation::Send { target, topic, .. } | Operation::Call { target, topic, .. } => {
                SubjectRef::Message { to: &target.pid, topic }
            }
            Operation::Terminate(t)
            | Operation::Cancel(t)
            | Operation::Monitor(t)
            | Operation::Unmonitor(t)
            | Operation::Link(t)
            | Operation::Unlink(t) => SubjectRef::Process(&t.pid),
            Operation::Context => SubjectRef::Capability("context"),
            Operation::Security(_) => SubjectRef::Capability("security"),
            Operation::Register(n, _) | Operation::Unregister(n, _) => SubjectRef::Name(n),
            Operation::Upgrade(e) => SubjectRef::Entry(e),
            Operation::EventsSend { system, .. } => SubjectRef::System(system),
            Operation::EventsSubscribe { pattern, .. } => SubjectRef::System(pattern),
        }
    }

    /// The payload size an operation carries, for the `request` level of its records.
    fn payload_bytes(&self) -> Option<usize> {
        match self {
            Operation::Send { bytes, .. } | Operation::Call { bytes, .. } | Operation::EventsSend { bytes, .. } => {
                Some(*bytes)
            }
            _ => None,
        }
    }

    /// The Cedar requests this operation needs, in the order they are checked, each with the context
    /// attributes it adds to `context.pid` (seed 003's permission table).
    pub fn requests(&self) -> Vec<CedarRequest> {
        let entry = |id: &str| Resource::Entry { id: id.to_string() };
        let host = |id: &str| Resource::Host { id: id.to_string() };
        let starting = |e: &str, h: &str, child: &Child<'_>| {
            let mut attrs = vec![("host".to_string(), AttrValue::Str(h.to_string()))];
            attrs.push(("entry".to_string(), AttrValue::Str(e.to_string())));
            attrs.extend(child_attrs(child));
            attrs
        };
        let process = Target::resource;
        let capability = |name: &str| Resource::Capability { name: name.to_string() };
        let name = |n: &str| Resource::Name { name: n.to_string() };
        match *self {
            Operation::Spawn { entry: e, host: h, monitored, linked, child } => {
                let on = starting(e, h, &child);
                let mut requests = vec![(Action::Spawn, entry(e), on.clone())];
                if monitored {
                    requests.push((Action::SpawnMonitored, entry(e), on.clone()));
                }
                if linked {
                    requests.push((Action::SpawnLinked, entry(e), on.clone()));
                }
                requests.push((Action::Host, host(h), on));
                requests
            }
            Operation::Exec { entry: e, host: h, child } => {
                let on = starting(e, h, &child);
                vec![(Action::Exec, entry(e), on.clone()), (Action::Host, host(h), on)]
            }
            Operation::Send { target, topic, .. } => {
                vec![(Action::Send, process(target), vec![("topic".into(), AttrValue::Str(topic.into()))])]
            }
            Operation::Terminate(t) => vec![(Action::Terminate, process(t), vec![])],
            Operation::Cancel(t) => vec![(Action::Cancel, process(t), vec![])],
            Operation::Monitor(t) => vec![(Action::Monitor, process(t), vec![])],
            Operation::Unmonitor(t) => vec![(Action::Unmonitor, process(t), vec![])],
            Operation::Link(t) => vec![(Action::Link, process(t), vec![])],
            Operation::Unlink(t) => vec![(Action::Unlink, process(t), vec![])],
            Operation::Context => vec![(Action::Context, capability("context"), vec![])],
            Operation::Security(child) => vec![(Action::Security, capability("security"), child_attrs(&child))],
            Operation::Register(n, owner) => vec![(Action::Register, name(n), owner_attrs(owner))],
            Operation::Unregister(n, owner) => vec![(Action::Unregister, name(n), owner_attrs(owner))],
            Operation::Upgrade(e) => vec![(Action::Upgrade, entry(e), vec![])],
            Operation::Call { target, topic, .. } => {
                let on = vec![("topic".to_string(), AttrValue::Str(topic.into()))];
                vec![(Action::Send, process(target), on.clone()), (Action::Call, process(target), on)]
            }
            Operation::FuncsCall { entry: e, host: h, child } => {
                vec![(Action::FuncsCall, entry(e), starting(e, h, &child))]
            }
            Operation::EventsSend { system, kind, .. } => {
                let on = vec![("kind".to_string(), AttrValue::Str(kind.into()))];
                vec![(Action::EventsSend, Resource::EventSystem { name: system.to_string() }, on)]
            }
            Operation::EventsSubscribe { pattern, kind } => {
                let on = kind.map(|k| ("kind".to_string(), AttrValue::Str(k.into()))).into_iter().collect();
                vec![(Action::EventsSubscribe, Resource::EventSystem { name: pattern.to_string() }, on)]
            }
        }
    }
}

/// `context.actor`, `context.tenant`, `context.actor_meta` and `context.scopes` of a child (see [`Child`]).
fn child_attrs(child: &Child<'_>) -> Vec<(String, AttrValue)> {
    let mut attrs = Vec::new();
    if let Some(actor) = child.actor {
        attrs.push(("actor".to_string(), AttrValue::Str(actor.id.clone())));
        if let Some(AttrValue::Str(tenant)) = actor.meta.get("tenant") {
            attrs.push(("tenant".to_string(), AttrValue::Str(tenant.clone())));
        }
        // The whole meta; a request passes the keys its schema declares for `actor_meta` (policy crate).
        attrs.push(("actor_meta".to_string(), AttrValue::Record(actor.meta.clone())));
    }
    if let Some(scopes) = child.scopes {
        attrs.push(("scopes".to_string(), AttrValue::Set(scopes.iter().cloned().map(AttrValue::Str).collect())));
    }
    attrs
}

/// `context.owner`, `owner_entry`, `owner_actor` and `own` of a registry call (see [`Owner`]).
fn owner_attrs(owner: Option<Owner<'_>>) -> Vec<(String, AttrValue)> {
    let Some(owner) = owner else { return Vec::new() };
    vec![
        ("owner".to_string(), AttrValue::Str(owner.target.pid.to_string())),
        ("owner_entry".to_string(), AttrValue::Str(owner.target.entry.to_string())),
        ("owner_actor".to_string(), AttrValue::Str(owner.target.actor.to_string())),
        ("own".to_string(), AttrValue::Bool(owner.own)),
    ]
}

/// One Cedar request of an operation: the action, the resource, and context attributes beyond `pid`.
pub type CedarRequest = (Action, Resource, Vec<(String, AttrValue)>);

/// Decides operations and writes their audit records.
pub struct Gate {
    policies: ArcSwap<PolicySet>,
    audit: Arc<dyn AuditSink>,
    next_op: AtomicU64,
    levels: Levels,
    /// The node and incarnation every record carries, set when the runtime is built.
    origin: OnceLock<(Arc<str>, u64)>,
    /// The node's metrics counters, set when the runtime is built (or by [`Gate::with_counters`]).
    counters: OnceLock<Arc<Counters>>,
    /// Held while a node's gate reloads its policy folder, so reloads do not interleave.
    pub(crate) reloading: std::sync::Mutex<()>,
}

/// What one decision is about, for [`Gate::decide`]: the action's id and metrics slot, the operation id, the
/// payload size, and whether the caller is the API.
#[derive(Clone, Copy)]
struct Asked<'a> {
    action: &'a str,
    slot: ActionSlot,
    op: u64,
    bytes: Option<usize>,
    api: bool,
}

impl Gate {
    /// A gate over `policies` that records to `audit`, every decision at level `metadata`.
    pub fn new(policies: PolicySet, audit: Arc<dyn AuditSink>) -> Gate {
        Gate {
            policies: ArcSwap::from_pointee(policies),
            audit,
            next_op: AtomicU64::new(1),
            levels: Levels::default(),
            origin: OnceLock::new(),
            counters: OnceLock::new(),
            reloading: std::sync::Mutex::new(()),
        }
    }

    /// Writes a record of `kind` with `fields` plus the gate's `node` and `incarnation` (when set), and
    /// counts it. Errors: the sink did not accept it.
    pub(crate) fn audit_node_record(
        &self,
        kind: &str,
        mut fields: serde_json::Map<String, serde_json::Value>,
    ) -> std::result::Result<(), crate::audit::AuditError> {
        if let Some((node, incarnation)) = self.origin.get() {
            fields.insert("node".into(), node.to_string().into());
            fields.insert("incarnation".into(), (*incarnation).into());
        }
        self.audit.record(kind, fields)?;
        if let Some(counters) = self.counters.get() {
            counters.audit_record();
        }
        Ok(())
    }

    /// The gate with `node` and `incarnation` written into its decision records. A runtime sets its own
    /// gate's; a node's gate (deciding API callers, used with many runtimes) is given the node's here.
    pub fn with_origin(self, node: impl Into<Arc<str>>, incarnation: u64) -> Gate {
        let _ = self.origin.set((node.into(), incarnation));
        self
    }

    /// The gate counting its decisions and records into `counters` (a node's gate; a runtime's gate takes
    /// the runtime's counters when it is built, unless it has some).
    pub fn with_counters(self, counters: Arc<Counters>) -> Gate {
        let _ = self.counters.set(counters);
        self
    }

    /// Gives the gate `counters` unless it has some (the runtime does it).
    pub(crate) fn set_counters(&self, counters: Arc<Counters>) {
        let _ = self.counters.set(counters);
    }

    /// The gate with `levels` deciding how much of each decision is recorded (`[[audit.rules]]`); a deny is
    /// always recorded.
    pub fn with_levels(mut self, levels: Levels) -> Gate {
        self.levels = levels;
        self
    }

    /// Sets the node and incarnation written into decision records (once; the runtime does it).
    pub(crate) fn set_origin(&self, node: Arc<str>, incarnation: u64) {
        let _ = self.origin.set((node, incarnation));
    }

    /// The policy set decisions use now.
    pub fn policies(&self) -> Arc<PolicySet> {
        self.policies.load_full()
    }

    /// Replaces the policy set atomically; decisions already under way finish on the old one.
    pub(crate) fn replace_policies(&self, policies: PolicySet) {
        self.policies.store(Arc::new(policies));
    }

    /// The audit sink: only core writes records, each through a decision or a lifecycle event.
    pub(crate) fn audit(&self) -> &Arc<dyn AuditSink> {
        &self.audit
    }

    /// Decides `operation` for `caller`: every request it needs must be allowed and recorded.
    /// Errors: [`Error::Denied`] naming the first denied action and its resource (with the reason when the
    /// audit log could not record the decision). Nothing is decided after the first deny.
    pub fn check(&self, caller: &Caller, operation: Operation<'_>) -> Result<Permit> {
        self.check_via(caller, operation, false)
    }

    /// [`Gate::check`], for an API caller when `api` (context `pid` is `"api"`, records say `via: "api"`).
    pub(crate) fn check_via(&self, caller: &Caller, operation: Operation<'_>, api: bool) -> Result<Permit> {
        let op_id = self.next_op.fetch_add(1, Ordering::Relaxed);
        let policies = self.policies.load();
        self.decide_each(&policies, caller, operation, op_id, api, |_| {})?;
        Ok(Permit { kind: operation.kind(), subject: operation.subject().into(), op_id })
    }

    /// Decides and records every request of `operation` (one op, `op_id`) in order; the first deny ends it
    /// (an [`Error::Denied`] naming its action and resource). `kept` is handed each allow with the context it
    /// was decided in, for a [`Memo`].
    fn decide_each(
        &self,
        policies: &PolicySet,
        caller: &Caller,
        operation: Operation<'_>,
        op_id: u64,
        api: bool,
        mut kept: impl FnMut(Allowed),
    ) -> Result<()> {
        let bytes = operation.payload_bytes();
        for (action, resource, extra) in operation.requests() {
            let asked = Asked { action: action.as_str(), slot: action.into(), op: op_id, bytes, api };
            let (decision, context) = match self.decide_in(policies, caller, asked, &resource, extra) {
                Ok((decision, context)) => (Ok(decision), context),
                Err(reason) => (Err(reason), Vec::new()),
            };
            let decision = allowed(action.as_str(), &resource, decision)?;
            kept(Allowed { action, resource, context, decision, hint: SlotHint::default() });
        }
        Ok(())
    }

    /// [`Gate::check`] for a send from `caller` to `target` on `topic` (`bytes` of payload), with the
    /// caller's [`Memo`]: a send like the last one the caller was allowed, under the same policy set, is not
    /// built into a Cedar request again. Its decision is the remembered one, served like any cached allow:
    /// counted in the metrics and offered to the audit sink's summary of its (caller, target, action, topic,
    /// revision), or written as its own `authz.decision` where the sink does not summarise it (`allows =
    /// "each"`). A send at level `request` is decided and recorded in full, as is every miss.
    /// Errors: as [`Gate::check`].
    pub(crate) fn check_send(
        &self,
        caller: &Caller,
        target: &Target,
        topic: &str,
        bytes: usize,
        memo: &Memo,
    ) -> Result<Permit> {
        let op_id = self.next_op.fetch_add(1, Ordering::Relaxed);
        let policies = self.policies.load();
        let started = Instant::now();
        {
            let remembered = lock(&memo.send);
            if let Some(send) = remembered.as_ref().filter(|send| send.is(&policies, caller, target, topic))
                && self.remembered(caller, op_id, std::slice::from_ref(&send.allowed), started)?
            {
                let subject = Subject::Message { to: target.pid.clone(), topic: send.topic.clone() };
                return Ok(Permit { kind: OpKind::Send, subject, op_id });
            }
        }
        let mut decided = None;
        let operation = Operation::Send { target, topic, bytes };
        self.decide_each(&policies, caller, operation, op_id, false, |allowed| decided = Some(allowed))?;
        let topic: Arc<str> = topic.into();
        if let Some(allowed) = decided.filter(|allowed| allowed.decision.errors.is_empty()) {
            *lock(&memo.send) = Some(Box::new(RememberedSend {
                asker: Asker::of(&policies, caller),
                target: target.clone(),
                topic: topic.clone(),
                allowed,
            }));
        }
        Ok(Permit { kind: OpKind::Send, subject: Subject::Message { to: target.pid.clone(), topic }, op_id })
    }

    /// [`Gate::check`] for a spawn ([`Operation::Spawn`]; any other operation is checked as usual), with the
    /// caller's [`Memo`]: a spawn like the last one the caller was allowed (the same entry, host, monitor and
    /// link, and child actor and scopes) under the same policy set is not built into Cedar requests again.
    /// Each of its decisions is served like a cached allow, as for [`Gate::check_send`]. Errors: as
    /// [`Gate::check`].
    pub(crate) fn check_spawn(&self, caller: &Caller, operation: Operation<'_>, memo: &Memo) -> Result<Permit> {
        let Operation::Spawn { entry, host, monitored, linked, child } = operation else {
            return self.check_via(caller, operation, false);
        };
        let op_id = self.next_op.fetch_add(1, Ordering::Relaxed);
        let policies = self.policies.load();
        let started = Instant::now();
        let permit = || Permit { kind: OpKind::Spawn, subject: operation.subject().into(), op_id };
        {
            let remembered = lock(&memo.spawn);
            if let Some(spawn) = remembered.as_ref().filter(|spawn| {
                spawn.asker.is(&policies, caller)
                    && *spawn.entry == *entry
                    && *spawn.host == *host
                    && (spawn.monitored, spawn.linked) == (monitored, linked)
                    && spawn.child_actor.as_ref() == child.actor
                    && spawn.child_scopes.as_deref() == child.scopes
            }) && self.remembered(caller, op_id, &spawn.allowed, started)?
            {
                let subject = Subject::Start { entry: spawn.entry.clone(), host: spawn.host.clone() };
                return Ok(Permit { kind: OpKind::Spawn, subject, op_id });
            }
        }
        let mut decided = Vec::new();
        self.decide_each(&policies, caller, operation, op_id, false, |allowed| decided.push(allowed))?;
        if decided.iter().all(|allowed| allowed.decision.errors.is_empty()) {
            *lock(&memo.spawn) = Some(Box::new(RememberedSpawn {
                asker: Asker::of(&policies, caller),
                entry: entry.into(),
                host: host.into(),
                monitored,
                linked,
                child_actor: child.actor.cloned(),
                child_scopes: child.scopes.map(<[String]>::to_vec),
                allowed: decided,
            }));
        }
        Ok(permit())
    }

    /// Counts and records remembered allows (of one operation, `op_id`) as cached decisions: each at level
    /// `metadata` in a summary's slot, or as its own `authz.decision` where the sink writes it alone, and
    /// not at level `none`. `false` (nothing done) when one of them is at level `request` (its record holds
    /// the request's context: it is decided in full) or the caller is not a process with an actor. Errors:
    /// the sink could not take a record or reserve a summary's slot (a deny, as for any decision that
    /// cannot be recorded).
    fn remembered(&self, caller: &Caller, op_id: u64, allowed: &[Allowed], started: Instant) -> Result<bool> {
        let (Some(pid), Some(actor)) = (&caller.pid, caller.actor.as_deref()) else { return Ok(false) };
        if allowed.iter().any(|a| self.levels.level(a.action.as_str(), true) == Level::Request) {
            return Ok(false);
        }
        let elapsed = started.elapsed();
        for allow in allowed {
            let action = allow.action.as_str();
            if let Some(counters) = self.counters.get() {
                let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
                counters.decision(allow.action.into(), true, true, nanos);
            }
            tracing::debug!(
                target: "corral::gate",
                action,
                resource = %allow.resource,
                allowed = true,
                cached = true,
                policies = ?allow.decision.policies,
                "decision"
            );
            if self.levels.level(action, true) != Level::Metadata {
                continue;
            }
            let unrecorded = |e: crate::audit::AuditError| Error::Denied {
                action: action.into(),
                resource: allow.resource.to_string(),
                reason: Some(e.to_string()),
            };
            let (topic, context) = summarised_context(&allow.context);
            let summary = CachedAllow {
                origin: self.origin.get().map(|(node, incarnation)| (&**node, *incarnation)),
                op: op_id,
                pid: pid.as_str(),
                entry: caller.entry.as_deref(),
                principal: &actor.id,
                action,
                resource: &allow.resource,
                topic,
                context,
                revision: &allow.decision.revision,
                policies: &allow.decision.policies,
                scopes: &caller.scopes,
                hint: Some(&allow.hint),
            };
            if !self.audit.summarise(&summary).map_err(unrecorded)? {
                // The sink writes this cached allow alone (`allows = "each"`, or a key's first within an
                // interval): its `authz.decision`, as `decide` writes one at level `metadata`.
                let request = Request {
                    principal: caller.actor.as_deref(),
                    action,
                    resource: &allow.resource,
                    context: &[],
                    scopes: &caller.scopes,
                };
                let mut decision = allow.decision.clone();
                decision.cached = true;
                let micros = elapsed.as_secs_f64() * 1e6;
                let record = self.decision_record(caller, Some(pid.as_str()), &request, &decision, op_id, micros);
                self.write_decision(&record).map_err(unrecorded)?;
            }
        }
        Ok(true)
    }

    /// `security.can(action, resource)`: decides one request for `caller` and records it, with no effect.
    /// Errors: the audit log could not record the decision (a deny).
    pub fn ask(&self, caller: &Caller, action: &str, resource: &Resource) -> Result<bool> {
        self.ask_with(caller, action, resource, Vec::new())
    }

    /// [`Gate::ask`] with more context attributes (`security.can`'s `meta` in the reference dialect); they
    /// reach Cedar only where the folder's schema declares them for the action, like every context
    /// attribute. The caller keeps `pid` out of `extra`. Errors: as [`Gate::ask`].
    pub fn ask_with(
        &self,
        caller: &Caller,
        action: &str,
        resource: &Resource,
        extra: Vec<(String, AttrValue)>,
    ) -> Result<bool> {
        let op_id = self.next_op.fetch_add(1, Ordering::Relaxed);
        let policies = self.policies.load();
        let asked = Asked { action, slot: ActionSlot::of_name(action), op: op_id, bytes: None, api: false };
        self.decide(&policies, caller, asked, resource, extra).map(|d| d.allowed).map_err(|reason| Error::Denied {
            action: action.into(),
            resource: resource.to_string(),
            reason: Some(reason),
        })
    }

    /// Decides a node action (`node.deploy`, `node.remove`, `node.inspect`) on `App::"<app>"` for an API
    /// caller, and records it like every decision (`pid: null`, `via: "api"`, the caller's actor as
    /// principal). Use it on the node's gate, over the node's policy set ([`PolicySet::load_node_dir`]).
    /// Errors: [`Error::Denied`] naming the action and `App::"<app>"` (never policy text; with the reason when
    /// the audit log could not record the decision); `Invalid` for an app name over
    /// [`crate::limits::MAX_NAME_BYTES`].
    pub fn decide_node(&self, caller: &ApiCaller, action: NodeAction, app: &str) -> Result<()> {
        crate::limits::check_bounded("app name", app)?;
        let op_id = self.next_op.fetch_add(1, Ordering::Relaxed);
        let policies = self.policies.load();
        let resource = Resource::App { name: app.to_string() };
        let asked = Asked { action: action.as_str(), slot: action.into(), op: op_id, bytes: None, api: true };
        allowed(action.as_str(), &resource, self.decide(&policies, &caller.caller(), asked, &resource, Vec::new()))?;
        Ok(())
    }

    /// Decides one request and records it at the level the rules give (a deny always). `op` is the
    /// operation id and the payload size. A repeated allow served from the cache, at level `metadata`, by a
    /// process, is offered to the sink to be counted into an `authz.summary` with its context instead
    /// ([`AuditSink::summarise`], [`summarised_context`]). Errors: the record (or the summary's slot) was not
    /// accepted (the reason, for a deny).
    fn decide(
        &self,
        policies: &PolicySet,
        caller: &Caller,
        asked: Asked<'_>,
        resource: &Resource,
        extra: Vec<(String, AttrValue)>,
    ) -> std::result::Result<Decision, String> {
        self.decide_in(policies, caller, asked, resource, extra).map(|(decision, _)| decision)
    }

    /// [`Gate::decide`], with the context the request was decided in (`pid` first, then `extra`).
    fn decide_in(
        &self,
        policies: &PolicySet,
        caller: &Caller,
        asked: Asked<'_>,
        resource: &Resource,
        extra: Vec<(String, AttrValue)>,
    ) -> std::result::Result<(Decision, Vec<(String, AttrValue)>), String> {
        let Asked { action, op: op_id, bytes, api, .. } = asked;
        // The PID's text is made once with the PID; only the context's copy is a new string.
        let pid = caller.pid.as_ref().map(Pid::as_str);
        let context_pid = match pid {
            Some(pid) => pid.to_string(),
            None if api => "api".into(),
            None => "runtime".into(),
        };
        let mut context = vec![("pid".to_string(), AttrValue::Str(context_pid))];
        context.extend(extra);
        let request =
            Request { principal: caller.actor.as_deref(), action, resource, context: &context, scopes: &caller.scopes };
        let started = Instant::now();
        let decision = policies.decide(&request);
        let elapsed = started.elapsed();
        let micros = elapsed.as_secs_f64() * 1e6;
        let counters = self.counters.get();
        if let Some(counters) = counters {
            let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
            counters.decision(asked.slot, decision.allowed, decision.cached, nanos);
        }
        tracing::debug!(
            target: "corral::gate",
            action,
            %resource,
            allowed = decision.allowed,
            cached = decision.cached,
            policies = ?decision.policies,
            "decision"
        );
        let level = self.levels.level(action, decision.allowed);
        if level == Level::None {
            return Ok((decision, context));
        }
        if level == Level::Metadata
            && decision.allowed
            && decision.cached
            && let (Some(pid), Some(actor)) = (pid, caller.actor.as_deref())
        {
            let (topic, rest) = summarised_context(&context);
            let allow = CachedAllow {
                origin: self.origin.get().map(|(node, incarnation)| (&**node, *incarnation)),
                op: op_id,
                pid,
                entry: caller.entry.as_deref(),
                principal: &actor.id,
                action,
                resource,
                topic,
                context: rest,
                revision: &decision.revision,
                policies: &decision.policies,
                scopes: &caller.scopes,
                hint: None,
            };
            if self.audit.summarise(&allow).map_err(|e| e.to_string())? {
                return Ok((decision, context));
            }
        }
        let mut record = self.decision_record(caller, pid, &request, &decision, op_id, micros);
        record.level = level.as_str();
        record.via = api.then_some("api");
        if level == Level::Request {
            record.context = Some(RequestContext { attrs: request.context, payload_bytes: bytes });
        }
        self.write_decision(&record).map_err(|e| e.to_string())?;
        Ok((decision, context))
    }

    /// Writes an `authz.decision` record and counts it. Errors: the sink did not accept it.
    fn write_decision(&self, record: &DecisionRecord<'_>) -> std::result::Result<(), crate::audit::AuditError> {
        self.audit.record_fields("authz.decision", record)?;
        if let Some(counters) = self.counters.get() {
            counters.audit_record();
        }
        Ok(())
    }

    /// The `metadata` fields of an `authz.decision` record (`docs/audit-log.md`), borrowed.
    fn decision_record<'a>(
        &'a self,
        caller: &'a Caller,
        pid: Option<&'a str>,
        request: &'a Request<'a>,
        decision: &'a Decision,
        op_id: u64,
        micros: f64,
    ) -> DecisionRecord<'a> {
        let (target_entry, target_actor) = match request.resource {
            Resource::Process { entry, actor, .. } => (Some(&**entry), Some(&**actor)),
            _ => (None, None),
        };
        let origin = self.origin.get();
        DecisionRecord {
            node: origin.map(|(node, _)| &**node),
            incarnation: origin.map(|(_, incarnation)| *incarnation),
            op: op_id,
            principal: caller.actor.as_ref().map(|a| a.id.as_str()),
            action: request.action,
            resource: request.resource,
            target_entry,
            target_actor,
            decision: if decision.allowed { "allow" } else { "deny" },
            basis: basis(decision),
            policies: &decision.policies,
            errors: &decision.errors,
            revision: &decision.revision,
            cached: decision.cached,
            pid,
            entry: caller.entry.as_deref(),
            scopes: &caller.scopes,
            eval_us: (micros * 10.0).round() / 10.0,
            level: Level::Metadata.as_str(),
            via: None,
            context: None,
        }
    }
}

/// What a process remembers of its last allowed send and its last allowed spawn (issue 10): a repeated one
/// is decided from it without building its Cedar requests again ([`Gate::check_send`],
/// [`Gate::check_spawn`]). Each holds exactly what decides it: the policy set (by identity: a reload makes a
/// new set, and the weak reference keeps its address from being reused), the caller's PID, actor and scopes,
/// and the operation's own inputs (a send's target and topic; a spawn's entry, host, monitor and link flags
/// and child actor and scopes). Only allows without errors are remembered, so a hit is the answer the set
/// gives those same requests. One entry each, dropped with the process; boxed, so a process that never sends
/// or spawns holds two pointers.
#[derive(Default)]
pub(crate) struct Memo {
    send: std::sync::Mutex<Option<Box<RememberedSend>>>,
    spawn: std::sync::Mutex<Option<Box<RememberedSpawn>>>,
}

/// Who asked, under which policy set.
struct Asker {
    policies: std::sync::Weak<PolicySet>,
    caller: Option<Pid>,
    actor: Option<Arc<Actor>>,
    scopes: Arc<[String]>,
}

impl Asker {
    fn of(policies: &Arc<PolicySet>, caller: &Caller) -> Asker {
        Asker {
            policies: Arc::downgrade(policies),
            caller: caller.pid.clone(),
            actor: caller.actor.clone(),
            scopes: caller.scopes.clone(),
        }
    }

    /// Whether `caller` under `policies` is this asker. Identities are compared where the memo holds the
    /// value (so its address cannot be reused).
    fn is(&self, policies: &Arc<PolicySet>, caller: &Caller) -> bool {
        std::ptr::eq(self.policies.as_ptr(), Arc::as_ptr(policies))
            && same(&self.caller, &caller.pid, |a, b| a == b)
            && same(&self.actor, &caller.actor, Arc::ptr_eq)
            && Arc::ptr_eq(&self.scopes, &caller.scopes)
    }
}

/// One remembered allow: its action, resource, the context it was decided in (`pid` first) and decision.
struct Allowed {
    action: Action,
    resource: Resource,
    context: Vec<(String, AttrValue)>,
    decision: Decision,
    /// Where the sink counted this decision's repeats last: only repeats of this very decision carry it.
    hint: SlotHint,
}

struct RememberedSend {
    asker: Asker,
    target: Target,
    topic: Arc<str>,
    allowed: Allowed,
}

impl RememberedSend {
    /// Whether a send by `caller` to `target` on `topic` under `policies` is this one.
    fn is(&self, policies: &Arc<PolicySet>, caller: &Caller, target: &Target, topic: &str) -> bool {
        self.asker.is(policies, caller)
            && self.target.pid == target.pid
            && Arc::ptr_eq(&self.target.entry, &target.entry)
            && Arc::ptr_eq(&self.target.actor, &target.actor)
            && *self.topic == *topic
    }
}

struct RememberedSpawn {
    asker: Asker,
    entry: Arc<str>,
    host: Arc<str>,
    monitored: bool,
    linked: bool,
    child_actor: Option<Actor>,
    child_scopes: Option<Vec<String>>,
    /// The spawn's decisions, in the order they are checked.
    allowed: Vec<Allowed>,
}

/// Whether two options are both `None`, or both `Some` and `eq`.
fn same<T>(a: &Option<T>, b: &Option<T>, eq: impl Fn(&T, &T) -> bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => eq(a, b),
        _ => false,
    }
}

/// The decision of `action` on `resource`, when it allows; otherwise the [`Error::Denied`] naming them, with
/// the errors of the decision or the reason it could not be recorded.
fn allowed(action: &str, resource: &Resource, decision: std::result::Result<Decision, String>) -> Result<Decision> {
    let denied = |reason| Error::Denied { action: action.into(), resource: resource.to_string(), reason };
    match decision {
        Ok(decision) if decision.allowed => Ok(decision),
        Ok(decision) => Err(denied((!decision.errors.is_empty()).then(|| decision.errors.join("; ")))),
        Err(reason) => Err(denied(Some(reason))),
    }
}

/// A request's context as a summary holds it: the `topic` (a send, a call) or event `kind` (`events.send`,
/// `events.subscribe`: the summary's `topic` is then the kind) when that is all it has beyond the caller's
/// `pid`, and otherwise everything beyond `pid` (a spawn's host, entry and child actor and scopes, a registry
/// call's owner), which the summary writes as its `context`. Either way the summary says exactly what was
/// asked, and requests that differ in any of it are counted apart.
fn summarised_context(context: &[(String, AttrValue)]) -> (Option<&str>, &[(String, AttrValue)]) {
    let rest = match context {
        [(pid, _), rest @ ..] if pid == "pid" => rest,
        all => all,
    };
    match rest {
        [(key, AttrValue::Str(t))] if key == "topic" || key == "kind" => (Some(t), &[]),
        rest => (None, rest),
    }
}

/// Why a decision came out as it did: `permit` (the listed permits allowed), `forbid` (the listed forbids
/// denied), `error` (building or evaluating the request failed: see `errors`), `default_deny` (no permit
/// matched, so no policy decided).
fn basis(decision: &Decision) -> &'static str {
    if decision.allowed {
        "permit"
    } else if !decision.errors.is_empty() {
        "error"
    } else if !decision.policies.is_empty() {
        "forbid"
    } else {
        "default_deny"
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use corral_policy::Actor;
    use serde_json::{Map, Value as Json};

    use super::*;
    use crate::audit::{AuditError, Fields, MemoryAudit, Rule};

    /// Counts what the gate offers as summarised (the ops) and keeps every record it writes.
    #[derive(Default)]
    struct Counting {
        records: MemoryAudit,
        offered: Mutex<Vec<(String, u64, Option<String>)>>,
        /// The context names of each offered allow beyond `pid` and `topic`.
        contexts: Mutex<Vec<Vec<String>>>,
    }

    impl AuditSink for Counting {
        fn record(&self, kind: &str, fields: Map<String, Json>) -> std::result::Result<(), AuditError> {
            self.records.record(kind, fields)
        }

        fn record_fields(&self, kind: &str, fields: &dyn Fields) -> std::result::Result<(), AuditError> {
            let mut out = Vec::new();
            fields.write_object(&mut out).map_err(|e| AuditError(e.to_string()))?;
            match serde_json::from_slice(&out) {
                Ok(Json::Object(map)) => self.records.record(kind, map),
                _ => Err(AuditError("not an object".into())),
            }
        }

        fn summarise(&self, allow: &CachedAllow<'_>) -> std::result::Result<bool, AuditError> {
            let topic = allow.topic.map(str::to_string);
            crate::lock(&self.offered).push((allow.action.to_string(), allow.op, topic));
            crate::lock(&self.contexts).push(allow.context.iter().map(|(name, _)| name.clone()).collect());
            Ok(true)
        }
    }

    fn policies() -> std::result::Result<PolicySet, String> {
        let text = r#"
            @id("alice.all") permit (principal == Actor::"user:alice", action, resource);
            @id("no.link") forbid (principal, action == Action::"process.link", resource);
        "#;
        PolicySet::from_files(&[("p.cedar".into(), text.into())]).map_err(|e| e.to_string())
    }

    fn alice() -> Caller {
        Caller {
            pid: Some(Pid::new("test".into(), 1, "app:h".into(), 1)),
            entry: Some("app:main".into()),
            actor: Some(Arc::new(Actor::new("user:alice"))),
            scopes: Arc::from(Vec::new()),
        }
    }

    /// Repeated cached allows at level `metadata` are offered for summary, with the context that is more than
    /// a topic (a spawn's host, entry, actor and scopes); the first, evaluated allow, every deny and every
    /// decision of a `request`-level action are written alone.
    #[test]
    fn only_repeated_cached_allows_are_offered_for_summary() -> std::result::Result<(), String> {
        let sink = Arc::new(Counting::default());
        let levels = Levels::new(vec![Rule { actions: vec!["process.monitor".into()], level: Level::Request }]);
        let gate = Gate::new(policies()?, sink.clone()).with_levels(levels);
        let target = Target {
            pid: Pid::new("test".into(), 1, "app:h".into(), 2),
            entry: "app:w".into(),
            actor: "user:bob".into(),
        };
        let send = Operation::Send { target: &target, topic: "t", bytes: 1 };
        let spawn = Operation::Spawn {
            entry: "app:w",
            host: "app:h",
            monitored: false,
            linked: false,
            child: Child::default(),
        };
        for _ in 0..3 {
            let _permit = gate.check(&alice(), send).map_err(|e| e.to_string())?;
            assert!(gate.check(&alice(), Operation::Link(&target)).is_err());
            let _permit = gate.check(&alice(), Operation::Monitor(&target)).map_err(|e| e.to_string())?;
            let _permit = gate.check(&alice(), spawn).map_err(|e| e.to_string())?;
            let _permit = gate.check(&alice(), Operation::Terminate(&target)).map_err(|e| e.to_string())?;
        }
        let offered = crate::lock(&sink.offered).clone();
        // The second and third send, spawn and terminate: cached, level metadata.
        let actions: Vec<(&str, Option<&str>)> = offered.iter().map(|(a, _, t)| (a.as_str(), t.as_deref())).collect();
        let round =
            [("process.send", Some("t")), ("process.spawn", None), ("process.host", None), ("process.terminate", None)];
        assert_eq!(actions, [round, round].concat());
        let contexts = crate::lock(&sink.contexts).clone();
        assert_eq!(contexts[0], Vec::<String>::new(), "a send's context is its topic");
        assert_eq!(contexts[1], ["host", "entry"], "a spawn's is the rest");
        let records = sink.records.records();
        let count = |action: &str| records.iter().filter(|r| r["action"] == action).count();
        assert_eq!(count("process.send"), 1, "the first, evaluated allow is written");
        assert_eq!(count("process.terminate"), 1);
        assert_eq!(count("process.link"), 3, "every deny is written");
        assert_eq!(count("process.monitor"), 3, "level request is written each time");
        assert_eq!(count("process.spawn"), 1, "a summary holds a spawn's context too");
        assert_eq!(
            records.iter().find(|r| r["action"] == "process.send").map(|r| r["cached"].clone()),
            Some(false.into())
        );
        Ok(())
    }

    /// A remembered send is served only for the very same send under the same policy set: another topic,
    /// target or actor, or a reload, is decided anew, and a deny is never remembered. What the memo serves is
    /// offered for summary like any cached allow, each with its own op.
    #[test]
    fn a_remembered_send_is_the_same_send_under_the_same_policies() -> std::result::Result<(), String> {
        let text = r#"
            @id("t") permit (principal == Actor::"user:alice", action == Action::"process.send", resource)
            when { context has topic && context.topic == "t" };
            @id("not.carol") forbid (principal, action, resource is Process)
            when { resource.actor == Actor::"user:carol" };
        "#;
        let set = |text: &str| PolicySet::from_files(&[("p.cedar".into(), text.into())]).map_err(|e| e.to_string());
        let sink = Arc::new(Counting::default());
        let gate = Gate::new(set(text)?, sink.clone());
        let target = |seq, actor: &str| Target {
            pid: Pid::new("test".into(), 1, "app:h".into(), seq),
            entry: "app:w".into(),
            actor: actor.into(),
        };
        let (bob, carol) = (target(2, "user:bob"), target(3, "user:carol"));
        let memo = Memo::default();
        let alice = alice();
        let mallory = Caller { actor: Some(Arc::new(Actor::new("user:mallory"))), ..alice.clone() };
        let send = |caller: &Caller, to: &Target, topic: &str| gate.check_send(caller, to, topic, 1, &memo);
        let denied = |result: Result<Permit>, what: &str| match result {
            Err(Error::Denied { action, .. }) if action == "process.send" => Ok(()),
            other => Err(format!("{what}: {other:?}")),
        };
        for _ in 0..3 {
            let permit = send(&alice, &bob, "t").map_err(|e| e.to_string())?;
            assert_eq!(permit.topic().map(|t| &**t), Some("t"));
            permit.redeem(OpKind::Send, SubjectRef::Message { to: &bob.pid, topic: "t" }).map_err(|e| e.to_string())?;
        }
        let offered = crate::lock(&sink.offered).clone();
        assert_eq!(offered.len(), 2, "the repeats are offered for summary: {offered:?}");
        assert!(offered[0].1 < offered[1].1, "each with its own op: {offered:?}");
        denied(send(&alice, &bob, "u"), "another topic")?;
        denied(send(&alice, &carol, "t"), "another target")?;
        denied(send(&mallory, &bob, "t"), "another actor")?;
        let _permit = send(&alice, &bob, "t").map_err(|e| e.to_string())?;
        gate.replace_policies(set(r#"@id("none") forbid (principal, action, resource);"#)?);
        denied(send(&alice, &bob, "t"), "after a reload")?;
        denied(send(&alice, &bob, "t"), "after a reload, again")?;
        let records = sink.records.records();
        let denies = records.iter().filter(|r| r["decision"] == "deny").count();
        assert_eq!(denies, 5, "every deny is decided and written");
        Ok(())
    }

    /// A remembered spawn is served only for the very same spawn (entry, host, monitor flag, child actor)
    /// under the same policy set; each of its decisions is offered for summary with the spawn's context.
    #[test]
    fn a_remembered_spawn_is_the_same_spawn_under_the_same_policies() -> std::result::Result<(), String> {
        let text = r#"
            @id("w") permit (principal == Actor::"user:alice", action, resource)
            when { context has entry && context.entry == "app:w" && context has actor && context.actor == "user:alice" };
        "#;
        let set = |text: &str| PolicySet::from_files(&[("p.cedar".into(), text.into())]).map_err(|e| e.to_string());
        let sink = Arc::new(Counting::default());
        let gate = Gate::new(set(text)?, sink.clone());
        let memo = Memo::default();
        let (as_alice, as_mallory) = (Actor::new("user:alice"), Actor::new("user:mallory"));
        let scopes: Vec<String> = Vec::new();
        let spawn = |entry, monitored, actor| Operation::Spawn {
            entry,
            host: "app:h",
            monitored,
            linked: false,
            child: Child { actor: Some(actor), scopes: Some(&scopes) },
        };
        let caller = alice();
        let check = |operation| gate.check_spawn(&caller, operation, &memo);
        let denied = |result: Result<Permit>, what: &str| match result {
            Err(Error::Denied { .. }) => Ok(()),
            other => Err(format!("{what}: {other:?}")),
        };
        for _ in 0..3 {
            let permit = check(spawn("app:w", true, &as_alice)).map_err(|e| e.to_string())?;
            permit
                .redeem(OpKind::Spawn, SubjectRef::Start { entry: "app:w", host: "app:h" })
                .map_err(|e| e.to_string())?;
        }
        let offered: Vec<String> = crate::lock(&sink.offered).iter().map(|(a, _, _)| a.clone()).collect();
        let round = ["process.spawn", "process.spawn.monitored", "process.host"];
        assert_eq!(offered, [round, round].concat(), "each decision of a repeat is offered");
        let contexts = crate::lock(&sink.contexts).clone();
        assert!(contexts.iter().all(|c| c.contains(&"entry".to_string()) && c.contains(&"actor".to_string())));
        denied(check(spawn("app:x", true, &as_alice)), "another entry")?;
        denied(check(spawn("app:w", true, &as_mallory)), "another child actor")?;
        let _permit = check(spawn("app:w", false, &as_alice)).map_err(|e| e.to_string())?;
        gate.replace_policies(set(r#"@id("none") forbid (principal, action, resource);"#)?);
        denied(check(spawn("app:w", false, &as_alice)), "after a reload")?;
        let records = sink.records.records();
        assert_eq!(records.iter().filter(|r| r["decision"] == "deny").count(), 3, "every deny is written");
        Ok(())
    }

    /// A sink that does not summarise (`allows = "each"`) gets a record for every send, remembered or not.
    #[test]
    fn a_remembered_send_is_written_alone_where_the_sink_does_not_summarise() -> std::result::Result<(), String> {
        let sink = Arc::new(MemoryAudit::new());
        let gate = Gate::new(policies()?, sink.clone());
        let bob =
            Target { pid: Pid::new("test".into(), 1, "app:h".into(), 2), entry: "app:w".into(), actor: "u".into() };
        let memo = Memo::default();
        for _ in 0..4 {
            let _permit = gate.check_send(&alice(), &bob, "t", 1, &memo).map_err(|e| e.to_string())?;
        }
        let records = sink.records();
        let cached: Vec<&Json> =
            records.iter().filter(|r| r["action"] == "process.send").map(|r| &r["cached"]).collect();
        assert_eq!(cached, [&Json::from(false), &Json::from(true), &Json::from(true), &Json::from(true)]);
        Ok(())
    }
}
