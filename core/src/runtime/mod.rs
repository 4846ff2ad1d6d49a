//! The runtime value: the process table, hosts, registry, links and monitors, and the gate.
//!
//! There is no global state: everything a node has belongs to one [`Runtime`], built with its app, its policy
//! set, its audit sink and the [`Launcher`] that runs scripts. Each public call that has an effect goes
//! through the gate first (see [`crate::gate`]) and hands the permit to the private function that acts.

mod ao;
mod api;
mod call;
mod deploy;
mod events;
mod exit;
mod funcs;
mod messaging;
mod owned;
mod registry;
mod relations;
mod reload;
mod spawn;

use hashbrown::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde_json::{Map, Value as Json};
use tokio::sync::{Notify, oneshot};

pub use ao::{AO_ERROR_TEXT_MAX, AO_WINDOW, AoOutcome};
pub use api::{API_HOST, ProcessInfo};
pub use call::{
    CallRef, DEFAULT_CALL_TIMEOUT, MAX_PENDING_CALLS, MAX_PENDING_NODE_CALLS, PENDING_CALL_BYTES, PendingCall,
};
pub use deploy::NODE_HOST;
pub use events::{Delivery, MAX_SUBSCRIPTIONS, QueuedEvent, SUBSCRIPTION_QUEUE, Subscription};
pub use funcs::FunctionCall;
pub use messaging::{FALLBACK_TOPIC, check_payload};
pub(crate) use owned::exited as owned_exited;
pub use owned::{MAX_OWNED_TASKS, OwnedTask};
pub use registry::{Capability, Grant, Upgrade};
pub use reload::{DEFAULT_DEBOUNCE, PolicyWatcher, Reload};
pub use spawn::{RootSpec, SpawnSpec, check_topic};

use corral_policy::{PolicySet, Problem};

use crate::app::{App, HostSpec};
use crate::audit::{AuditError, OverflowSummary, records};
use crate::error::{Error, Result};
use crate::gate::{Caller, Gate};
use crate::lock;
use crate::pid::Pid;
use crate::process::{Exit, Host, Process};
use crate::value::Value;

/// Runs a process's code. The sandbox implements it; core knows no Lua.
pub trait Launcher: Send + Sync {
    /// Starts `process` with `args` and returns a future that resolves when its code finishes. The runtime
    /// drops the future when the process is killed (terminate, cancel deadline, LINK_DOWN).
    fn launch(&self, runtime: &Runtime, process: Arc<Process>, args: Vec<Value>) -> BoxFuture<'static, Exit>;

    /// [`Launcher::launch`], with where the process's whole task (that future raced against the process's
    /// kill, then its end) is to run: `None` (the default) spawns it as a tokio task. The sandbox returns the
    /// executor of the VM the process's code runs on, so that processes of one VM wake each other without
    /// leaving their worker (issue 10).
    fn launch_on(
        &self,
        runtime: &Runtime,
        process: Arc<Process>,
        args: Vec<Value>,
    ) -> (BoxFuture<'static, Exit>, Option<Arc<dyn Executor>>) {
        (self.launch(runtime, process, args), None)
    }
}

/// Runs process tasks (a launcher's, [`Launcher::launch_on`]). A task never panics: the runtime catches a
/// panic of the code inside it.
pub trait Executor: Send + Sync {
    /// Runs `task` until it ends.
    fn run(&self, task: BoxFuture<'static, ()>);
}

/// What a runtime is built from.
pub struct Config {
    /// This node's name, part of every PID.
    pub node: String,
    /// The loaded app.
    pub app: Arc<App>,
    /// The gate: policies and audit sink.
    pub gate: Gate,
    /// What runs scripts.
    pub launcher: Arc<dyn Launcher>,
}

/// What the runtimes of one node share (`corral serve` runs one runtime per deployed app): the per-actor
/// usage, so `[quotas]` hold for an actor across all apps, and the metrics counters. `Shared::default()` is
/// a fresh pair, what [`Runtime::new`] uses. Cheap to clone: clones share.
#[derive(Clone, Debug, Default)]
pub struct Shared {
    /// What each actor holds now, counted against `[quotas]` by every runtime built with it.
    pub usage: Arc<crate::limits::ActorUsage>,
    /// The node's counters ([`crate::metrics`]).
    pub counters: Arc<crate::metrics::Counters>,
    /// The node's `[quotas]`: when set, they hold for every runtime built with this instead of its app's
    /// `corral.toml` `[quotas]` (an app's own file is tenant input, so a node does not let it set its quota).
    pub quotas: Option<Arc<crate::limits::Quotas>>,
}

/// A node's runtime. Cheap to clone: clones share the node.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    node: Arc<str>,
    incarnation: u64,
    /// The app in force: a redeploy ([`Runtime::replace_app`]) swaps it; running processes keep the entry
    /// they started with.
    app: arc_swap::ArcSwap<App>,
    /// The hosts of the app in force, swapped with it.
    hosts: arc_swap::ArcSwap<HashMap<String, Arc<Host>>>,
    gate: Gate,
    launcher: Arc<dyn Launcher>,
    next_seq: AtomicU64,
    state: Mutex<State>,
    idle: Notify,
    /// Rate-limits `mailbox.overflow` records.
    overflow: Mutex<OverflowSummary>,
    /// Rate-limits `ao.error` and `ao.unhandled` records.
    ao: Mutex<ao::AoSummary>,
    /// Held while a reload reads, validates and swaps a policy set, so reloads do not interleave.
    reloading: Mutex<()>,
    /// What each actor holds, against `corral.toml` `[quotas]` (shared by the runtimes of a node).
    usage: Arc<crate::limits::ActorUsage>,
    /// The node's metrics counters (shared by the runtimes of a node).
    counters: Arc<crate::metrics::Counters>,
    /// The `[quotas]` in force: the node's (see [`Shared::quotas`]), else the app's (swapped with it).
    quotas: arc_swap::ArcSwap<crate::limits::Quotas>,
    /// Whether `quotas` are the node's: a redeploy then leaves them alone.
    node_quotas: bool,
    /// Owned tasks (timers, tickers, cancel deadlines) not yet dropped, of every process.
    owned_live: Arc<std::sync::atomic::AtomicUsize>,
    /// The caller the last root process was started as: the runtime starts hosts' fallback processes as it.
    root_caller: Mutex<Option<Caller>>,
    /// Calls waiting for their reply (`process.call`, `runtime/call.rs`).
    calls: Mutex<call::Calls>,
    /// The reference dialect's event bus: its subscriptions (`runtime/events.rs`).
    events: Mutex<events::Bus>,
}

/// Everything that must change together: the table of live processes, the registry, monitors and links.
#[derive(Default)]
struct State {
    procs: HashMap<Pid, Arc<Process>>,
    names: HashMap<String, Pid>,
    /// holder -> the names bound to it.
    names_of: HashMap<Pid, Vec<String>>,
    /// name -> the process that pays for it (counted against its `max_names`): its holder, or the process
    /// that bound it there with `register(name, pid)`.
    payer: HashMap<String, Pid>,
    /// payer -> the names it pays for (released when it exits: a name outlives neither its holder nor its
    /// payer).
    paid: HashMap<Pid, Vec<String>>,
    /// target -> the processes monitoring it.
    watchers: HashMap<Pid, HashSet<Pid>>,
    /// watcher -> the processes it monitors (to clean up when the watcher exits).
    watching: HashMap<Pid, HashSet<Pid>>,
    /// Links are symmetric: each side lists the other.
    links: HashMap<Pid, HashSet<Pid>>,
    /// `exec` callers and the root's waiter, told the exit.
    waiters: HashMap<Pid, Vec<oneshot::Sender<Exit>>>,
    /// caller -> the functions its `funcs` calls run now (stopped when it exits, `runtime/funcs.rs`).
    funcs_of: HashMap<Pid, HashSet<Pid>>,
}

/// The hosts of `app`, plus [`DEFAULT_HOST`] unless the app declares it. A host of `previous` whose spec is
/// unchanged is kept (with its live count and fallback process); a new or changed one starts empty, and the
/// processes of the old one keep counting against it until they exit.
fn hosts_of(app: &App, previous: Option<&HashMap<String, Arc<Host>>>) -> HashMap<String, Arc<Host>> {
    let mut specs: Vec<HostSpec> = app.hosts.values().cloned().collect();
    if !app.hosts.contains_key(DEFAULT_HOST) {
        specs.push(HostSpec::with_defaults(DEFAULT_HOST));
    }
    specs
        .into_iter()
        .map(|spec| {
            let kept = previous.and_then(|p| p.get(&spec.id)).filter(|h| h.spec.same_limits(&spec)).cloned();
            (spec.id.clone(), kept.unwrap_or_else(|| Arc::new(Host::new(spec))))
        })
        .collect()
}

/// The id of the built-in host used when an app declares none (the root process of a Wippy-style test app).
pub const DEFAULT_HOST: &str = "corral:default";

impl Runtime {
    /// Builds a node: its incarnation is the start time in milliseconds, so PIDs of an earlier run are stale.
    /// Writes `runtime.start`. Its actor usage and counters are its own ([`Runtime::with_shared`] shares them).
    pub fn new(config: Config) -> Runtime {
        Runtime::with_shared(config, Shared::default())
    }

    /// [`Runtime::new`] with the actor usage and counters of `shared`: build every runtime of a node (one per
    /// app, `Config.node` = the app's name) with clones of one [`Shared`], so an actor's `[quotas]` count its
    /// processes in all apps and the metrics add up. The gate counts into `shared.counters` unless it was
    /// given counters ([`Gate::with_counters`]).
    pub fn with_shared(config: Config, shared: Shared) -> Runtime {
        let incarnation = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(1);
        let hosts = hosts_of(&config.app, None);
        let node_quotas = shared.quotas.is_some();
        let app_quotas = config.app.config.quotas.clone();
        let runtime = Runtime {
            inner: Arc::new(Inner {
                node: config.node.into(),
                incarnation,
                app: arc_swap::ArcSwap::new(config.app),
                hosts: arc_swap::ArcSwap::from_pointee(hosts),
                gate: config.gate,
                launcher: config.launcher,
                next_seq: AtomicU64::new(1),
                state: Mutex::new(State::default()),
                idle: Notify::new(),
                overflow: Mutex::new(OverflowSummary::default()),
                ao: Mutex::default(),
                reloading: Mutex::new(()),
                usage: shared.usage,
                counters: shared.counters.clone(),
                quotas: arc_swap::ArcSwap::new(shared.quotas.unwrap_or_else(|| Arc::new(app_quotas))),
                node_quotas,
                owned_live: Arc::default(),
                root_caller: Mutex::new(None),
                calls: Mutex::new(call::Calls::default()),
                events: Mutex::default(),
            }),
        };
        runtime.inner.gate.set_origin(runtime.inner.node.clone(), incarnation);
        runtime.inner.gate.set_counters(shared.counters);
        let revision = runtime.inner.gate.policies().revision().to_string();
        runtime.audit_event("runtime.start", [("revision", Json::from(revision))]);
        runtime
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// This run's incarnation.
    pub fn incarnation(&self) -> u64 {
        self.inner.incarnation
    }

    /// The app in force (the latest revision after a [`Runtime::replace_app`]).
    pub fn app(&self) -> Arc<App> {
        self.inner.app.load_full()
    }

    /// The gate.
    pub fn gate(&self) -> &Gate {
        &self.inner.gate
    }

    /// A host by id. Errors: `NotFound` naming it.
    pub fn host(&self, id: &str) -> Result<Arc<Host>> {
        self.inner.hosts.load().get(id).cloned().ok_or_else(|| Error::NoSuchHost { id: id.into() })
    }

    /// Live processes now.
    pub fn live(&self) -> usize {
        lock(&self.inner.state).procs.len()
    }

    /// Live processes per host, sorted by host id, every host of the app included (the built-in default host
    /// too): the `corral_processes` gauge. Reads each host's counter; no lock.
    pub fn live_by_host(&self) -> Vec<(String, usize)> {
        let mut hosts: Vec<(String, usize)> =
            self.inner.hosts.load().iter().map(|(id, h)| (id.clone(), h.live())).collect();
        hosts.sort();
        hosts
    }

    /// The node's counters this runtime counts into.
    pub fn counters(&self) -> &Arc<crate::metrics::Counters> {
        &self.inner.counters
    }

    /// The `[quotas]` in force: the node's (see [`Shared::quotas`]), else the app's.
    pub fn quotas(&self) -> Arc<crate::limits::Quotas> {
        self.inner.quotas.load_full()
    }

    /// The per-actor usage this runtime counts `[quotas]` against.
    pub fn actor_usage(&self) -> &Arc<crate::limits::ActorUsage> {
        &self.inner.usage
    }

    /// Resolves when no process is alive.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.live() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Terminates every live process with reason `shutdown`, waits for them, syncs the audit log and writes
    /// `runtime.stop`.
    pub async fn shutdown(&self) {
        let procs: Vec<Arc<Process>> = lock(&self.inner.state).procs.values().cloned().collect();
        for process in procs {
            process.kill(Exit::abnormal(crate::process::ExitReason::Shutdown, "shutdown"));
        }
        self.wait_idle().await;
        self.audit_event("runtime.stop", []);
        if let Err(e) = self.inner.gate.audit().sync() {
            tracing::error!("{e}");
        }
    }

    /// How many tasks (timers, tickers, a cancel deadline) the live process `pid` owns, or `None` when it is
    /// not alive. Read-only: the process itself stays inside core.
    pub fn owned_tasks_of(&self, pid: &Pid) -> Option<usize> {
        self.process(pid).map(|p| p.owned_tasks())
    }

    /// The live process `pid`, if any.
    pub(crate) fn process(&self, pid: &Pid) -> Option<Arc<Process>> {
        lock(&self.inner.state).procs.get(pid).cloned()
    }

    /// The target `dest` names (a PID or a registered name) as a policy resource, for `security.can`; the live
    /// process itself stays inside core, so nothing outside it can act on another process without the gate.
    /// Errors: those of resolving.
    pub fn target_of(&self, dest: &str) -> Result<crate::gate::Target> {
        self.resolve(dest).map(|p| p.target())
    }

    /// Resolves a destination: a PID or a registered name. Errors: `NotFound` for an unknown name, a PID that
    /// is not alive, or a stale PID of an earlier incarnation (the message says so); `Invalid` for an empty one.
    pub(crate) fn resolve(&self, dest: &str) -> Result<Arc<Process>> {
        crate::limits::check_bounded("destination", dest)?;
        if dest.is_empty() {
            return Err(Error::Invalid("destination must be a pid or a registered name".into()));
        }
        if dest.starts_with('{') {
            // A live process is found by its PID's text, with nothing parsed or made; anything else is parsed
            // to say what is wrong with it.
            if let Some(process) = lock(&self.inner.state).procs.get(dest).cloned() {
                return Ok(process);
            }
            let pid = Pid::parse(dest)?;
            if pid.node() == self.node() && pid.incarnation() != self.incarnation() {
                return Err(Error::StalePid { pid: dest.into(), node: pid.node().into() });
            }
            return self.process(&pid).ok_or_else(|| Error::NoSuchProcess { dest: dest.into() });
        }
        let state = lock(&self.inner.state);
        let pid = state.names.get(dest).ok_or_else(|| Error::NoSuchProcess { dest: dest.into() })?;
        state.procs.get(pid).cloned().ok_or_else(|| Error::NoSuchProcess { dest: dest.into() })
    }

    /// Writes a lifecycle record: `fields`, then `node` and `incarnation`, serialised straight into the sink's
    /// batch (no map). The open `authz.summary` slots of a process are written before its `proc.exit`, and all
    /// of them before `runtime.stop`, so a summary never follows the end of what it counts. A lifecycle event
    /// cannot be refused, so a failing sink is reported on stderr.
    pub(crate) fn audit_event<const N: usize>(&self, kind: &str, fields: [(&str, Json); N]) {
        let sink = self.inner.gate.audit();
        let flushed = match kind {
            "runtime.stop" => Some(sink.flush_summaries(None)),
            _ => None,
        };
        if let Some(Err(e)) = flushed {
            tracing::error!(kind = crate::audit::SUMMARY, "{e}");
        }
        let record = records::Pairs { fields: &fields, node: self.node(), incarnation: self.incarnation() };
        match sink.record_fields(kind, &record) {
            Ok(()) => self.inner.counters.audit_record(),
            Err(e) => tracing::error!(kind, "{e}"),
        }
    }

    /// Writes a lifecycle record of `kind` whose `fields` (a typed record) hold `node` and `incarnation`, and
    /// counts it; a record the sink refuses is logged (the decision before it kept [`HEADROOM`] for it).
    ///
    /// [`HEADROOM`]: crate::audit::HEADROOM
    pub(crate) fn audit_lifecycle(&self, kind: &str, fields: &dyn crate::audit::Fields) {
        match self.inner.gate.audit().record_fields(kind, fields) {
            Ok(()) => self.inner.counters.audit_record(),
            Err(e) => tracing::error!(kind, "{e}"),
        }
    }

    /// Writes a record of `kind` with `fields` to this node's audit log, adding `node` and `incarnation`
    /// (the sink adds `v`, `seq`, `ts` and `prev`). Use it for records the runtime does not write itself,
    /// e.g. `policy.reload` with the fields of [`crate::audit::records::policy_reload`]; the open
    /// `authz.summary` slots (of the set being replaced) are written before a `policy.reload`. Errors: the
    /// sink did not accept the record (or the summaries before it).
    pub(crate) fn audit_record(
        &self,
        kind: &str,
        mut fields: Map<String, Json>,
    ) -> std::result::Result<(), AuditError> {
        if kind == records::POLICY_RELOAD {
            self.inner.gate.audit().flush_summaries(None)?;
        }
        fields.insert("node".into(), self.node().into());
        fields.insert("incarnation".into(), self.incarnation().into());
        self.inner.gate.audit().record(kind, fields)?;
        self.inner.counters.audit_record();
        Ok(())
    }

    /// Writes `policy.load` for the set the gate holds, loaded from `source` (call once at startup).
    /// Errors: the sink did not accept the record.
    pub fn audit_policy_load(&self, source: &Path) -> std::result::Result<(), AuditError> {
        let set = self.inner.gate.policies();
        self.audit_record(records::POLICY_LOAD, records::policy_load(source, &set))
    }

    /// Writes `policy.reload` and then swaps `set` (loaded from `source`) into the gate; decisions under way
    /// finish on the old set. Errors: the record was not accepted, and the old set stays in force (a policy
    /// change that cannot be audited is not made).
    pub fn swap_policies(&self, source: &Path, set: PolicySet) -> std::result::Result<(), AuditError> {
        let previous = self.inner.gate.policies();
        self.audit_record(records::POLICY_RELOAD, records::policy_reload(source, &previous, &set))?;
        self.inner.gate.replace_policies(set);
        Ok(())
    }

    /// Writes `policy.reject`: the folder at `source` had `problems`, so the set in force stays.
    /// Errors: the sink did not accept the record.
    pub fn audit_policy_reject(&self, source: &Path, problems: &[Problem]) -> std::result::Result<(), AuditError> {
        let set = self.inner.gate.policies();
        self.audit_record(records::POLICY_REJECT, records::policy_reject(source, &set, problems))
    }

    /// A new PID on `host`, sharing the host's id.
    fn next_pid(&self, host: &crate::process::Host) -> Pid {
        let seq = self.inner.next_seq.fetch_add(1, Ordering::Relaxed);
        Pid::new(self.inner.node.clone(), self.inner.incarnation, host.id.clone(), seq)
    }
}
