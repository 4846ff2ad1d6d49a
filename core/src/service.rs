//! Supervision of an app's services (`spec/node.md`, "Services"; the seeds' supervisors, Ergo 002).
//!
//! [`Services::start`] starts every `process.service` of the runtime's app that has `auto_start` (and every
//! service one of them `requires`), each after the services it requires are running. One task per service
//! (the node's, not a process's) runs it:
//!
//! 1. waits, at most `start_timeout`, for each of `requires` to be running (a timeout counts as a failed
//!    start);
//! 2. starts the process as `lifecycle.security.actor` (else the deployer's actor) with its scopes, decided
//!    by the app's own policies like any spawn ([`Runtime::start_service`]);
//! 3. waits for its exit. A normal exit ends the service (`exited`). An abnormal exit, or a refused start,
//!    is a failure: after `restart.initial_delay * backoff_factor^(n-1)` (at most `max_delay`, moved by
//!    `jitter`) it starts again. A run of at least `stable_threshold` resets `n` to 1. When `max_attempts`
//!    (not 0) failures come in a row, the service is given up (`failed`). These decisions are the one restart
//!    engine's, [`crate::restart::Restarts`], which the `supervisor` module's children share.
//!
//! Every start, exit, restart and give-up is an audit record (`service.start`, `service.exit`,
//! `service.restart`, `service.give_up`; a refused start is `service.fail`) and counted in
//! [`ServiceStatus::restarts`]. [`Services::stop`] cancels every service's process with its `stop_timeout`
//! (then it is terminated) and waits for the tasks to end. The services of one app never wait on another
//! app's: each app has its own [`Services`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_policy::Actor;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{App, ServiceSpec, start_order};
use crate::lock;
use crate::pid::Pid;
use crate::process::ExitReason;
use crate::restart::{Restarts, Verdict};
use crate::runtime::{DEFAULT_HOST, RootSpec, Runtime};
use crate::value::Value;

/// Where a service is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for the services it requires.
    Starting,
    /// Its process is alive.
    Running,
    /// Its process failed; it starts again after the backoff.
    Backoff,
    /// Its process exited normally; it is not restarted.
    Exited,
    /// Given up after `max_attempts` failures in a row.
    Failed,
    /// Stopped by the node (a stop, a redeploy, a removal).
    Stopped,
}

/// What one service is doing, for `GET /v1/apps` and the metrics.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceStatus {
    /// Its entry id.
    pub id: String,
    /// Its state.
    pub state: State,
    /// Its process while it has one.
    pub pid: Option<String>,
    /// How many times it was restarted after a failure (`corral_service_restarts_total`).
    pub restarts: u64,
    /// Failures in a row now (reset by a stable run).
    pub failures: u64,
}

/// The supervised services of one app's runtime.
pub struct Services {
    shared: Arc<Shared>,
}

struct Shared {
    runtime: Runtime,
    deployer: Option<Arc<Actor>>,
    slots: Mutex<BTreeMap<String, Slot>>,
}

struct Slot {
    spec: ServiceSpec,
    /// The source of its process entry when it was started: a redeploy restarts the service when it changed.
    source: Option<Arc<str>>,
    state: watch::Sender<State>,
    pid: Option<Pid>,
    restarts: u64,
    failures: u64,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Services {
    /// Starts the auto-start services of `runtime`'s app (and what they require) in `requires` order, each
    /// supervised by a task of its own. `deployer` is the actor a service without `lifecycle.security.actor`
    /// runs as (`None`: its start is denied, fail closed). Call inside the node's tokio runtime.
    pub fn start(runtime: &Runtime, deployer: Option<Arc<Actor>>) -> Services {
        let services =
            Services { shared: Arc::new(Shared { runtime: runtime.clone(), deployer, slots: Mutex::default() }) };
        services.start_wanted(&runtime.app());
        services
    }

    /// What every service is doing, by id.
    pub fn status(&self) -> Vec<ServiceStatus> {
        lock(&self.shared.slots)
            .values()
            .map(|slot| ServiceStatus {
                id: slot.spec.id.clone(),
                state: *slot.state.borrow(),
                pid: slot.pid.as_ref().map(ToString::to_string),
                restarts: slot.restarts,
                failures: slot.failures,
            })
            .collect()
    }

    /// After [`Runtime::replace_app`]: stops the services that left the app or whose spec or process source
    /// changed, then starts the wanted ones that are not running (new or changed ones). The others keep
    /// running. Returns the ids that were restarted or started.
    pub async fn redeploy(&self) -> Vec<String> {
        let app = self.shared.runtime.app();
        let changed: Vec<String> = lock(&self.shared.slots)
            .iter()
            .filter(|(id, slot)| match app.services.get(*id) {
                None => true,
                Some(spec) => *spec != slot.spec || source_of(&app, spec).as_deref() != slot.source.as_deref(),
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &changed {
            self.stop_one(id).await;
        }
        lock(&self.shared.slots).retain(|id, _| !changed.contains(id));
        self.start_wanted(&app)
    }

    /// Stops every service: CANCEL with its `stop_timeout`, then terminated, and waits until every
    /// supervising task has ended.
    pub async fn stop(&self) {
        let ids: Vec<String> = lock(&self.shared.slots).keys().cloned().collect();
        let stops: Vec<_> = ids.iter().map(|id| self.stop_one(id)).collect();
        futures_util::future::join_all(stops).await;
    }

    async fn stop_one(&self, id: &str) {
        let task = {
            let mut slots = lock(&self.shared.slots);
            let Some(slot) = slots.get_mut(id) else { return };
            let _ = slot.stop.send(true);
            slot.task.take()
        };
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Starts the services of `app` that are wanted (auto-start, or required by a wanted one) and have no
    /// slot yet, in start order.
    fn start_wanted(&self, app: &Arc<App>) -> Vec<String> {
        let Ok(order) = start_order(&app.services) else {
            // `App::load` refuses a cycle; a runtime built from an unchecked app starts nothing.
            return Vec::new();
        };
        let mut wanted: Vec<&str> = app.services.values().filter(|s| s.lifecycle.auto_start).map(|s| &*s.id).collect();
        let mut i = 0;
        while i < wanted.len() {
            if let Some(spec) = app.services.get(wanted[i]) {
                for required in &spec.lifecycle.requires {
                    if !wanted.contains(&required.as_str()) {
                        wanted.push(required);
                    }
                }
            }
            i += 1;
        }
        let mut started = Vec::new();
        let mut slots = lock(&self.shared.slots);
        for id in order.iter().filter(|id| wanted.contains(&id.as_str())) {
            let Some(spec) = app.services.get(id) else { continue };
            if slots.contains_key(id) {
                continue;
            }
            let (state, _) = watch::channel(State::Starting);
            let (stop, stop_rx) = watch::channel(false);
            let required: Vec<watch::Receiver<State>> =
                spec.lifecycle.requires.iter().filter_map(|r| slots.get(r).map(|s| s.state.subscribe())).collect();
            let slot = Slot {
                spec: spec.clone(),
                source: source_of(app, spec),
                state,
                pid: None,
                restarts: 0,
                failures: 0,
                stop,
                task: None,
            };
            slots.insert(id.clone(), slot);
            let shared = self.shared.clone();
            let spec = spec.clone();
            #[allow(clippy::disallowed_methods, reason = "a service's supervisor belongs to the node, not a process")]
            let task = tokio::spawn(supervise(shared, spec, required, stop_rx));
            if let Some(slot) = slots.get_mut(id) {
                slot.task = Some(task);
            }
            started.push(id.clone());
        }
        started
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for slot in lock(&self.shared.slots).values_mut() {
            let _ = slot.stop.send(true);
            if let Some(task) = slot.task.take() {
                task.abort();
            }
        }
    }
}

fn source_of(app: &App, spec: &ServiceSpec) -> Option<Arc<str>> {
    app.entries.get(&spec.process).map(|e| e.source.clone())
}

impl Shared {
    fn update(&self, id: &str, f: impl FnOnce(&mut Slot)) {
        if let Some(slot) = lock(&self.slots).get_mut(id) {
            f(slot);
        }
    }

    fn set_state(&self, id: &str, state: State) {
        self.update(id, |slot| {
            slot.state.send_replace(state);
            if state != State::Running {
                slot.pid = None;
            }
        });
    }

    fn root_spec(&self, spec: &ServiceSpec) -> RootSpec {
        let app = self.runtime.app();
        let host = match &spec.host {
            Some(host) => host.clone(),
            None if app.hosts.len() == 1 => app.hosts.keys().next().cloned().unwrap_or_default(),
            None => DEFAULT_HOST.to_string(),
        };
        let actor = match &spec.lifecycle.actor {
            Some(actor) => Some(Arc::new(Actor::new(actor.clone()))),
            None => self.deployer.clone(),
        };
        RootSpec {
            entry: spec.process.clone(),
            host,
            args: spec.input.iter().map(Value::from_json).collect(),
            actor,
            scopes: spec.lifecycle.scopes.clone(),
        }
    }
}

/// Waits until every receiver shows `Running`; `false` if `timeout` passes first or a requirement ended for
/// good (exited, failed, stopped).
async fn required_running(required: &mut [watch::Receiver<State>], timeout: Duration) -> bool {
    let all = async {
        for rx in required.iter_mut() {
            let ready = rx
                .wait_for(|s| matches!(s, State::Running | State::Exited | State::Failed | State::Stopped))
                .await
                .map(|s| *s == State::Running);
            if !matches!(ready, Ok(true)) {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(timeout, all).await.unwrap_or(false)
}

/// Runs one service until it exits normally, is given up, or is stopped.
async fn supervise(
    shared: Arc<Shared>,
    spec: ServiceSpec,
    mut required: Vec<watch::Receiver<State>>,
    mut stop: watch::Receiver<bool>,
) {
    let runtime = shared.runtime.clone();
    let id = spec.id.clone();
    // The one restart engine (`crate::restart`): backoff and `max_attempts`, as `lifecycle.restart` says.
    let mut restarts = Restarts::with_backoff(spec.lifecycle.restart.clone());
    loop {
        let ready = tokio::select! {
            ready = required_running(&mut required, spec.lifecycle.start_timeout) => ready,
            _ = stop.wait_for(|s| *s) => return shared.set_state(&id, State::Stopped),
        };
        let started = if ready {
            runtime.start_service(shared.root_spec(&spec)).map_err(|e| e.to_string())
        } else {
            Err(format!("the services it requires were not running within {:?}", spec.lifecycle.start_timeout))
        };
        let stable_run = match started {
            Ok((pid, exit)) => {
                shared.update(&id, |slot| slot.pid = Some(pid.clone()));
                shared.set_state(&id, State::Running);
                runtime.audit_event(
                    "service.start",
                    [
                        ("service", id.clone().into()),
                        ("pid", pid.to_string().into()),
                        ("attempt", restarts.failures().saturating_add(1).into()),
                    ],
                );
                let began = tokio::time::Instant::now();
                let mut receiver = exit;
                let (exit, stopped) = tokio::select! {
                    exit = &mut receiver => (exit.ok(), false),
                    _ = stop.wait_for(|s| *s) => (None, true),
                };
                let exit = if stopped {
                    // The node stops it: CANCEL, terminated after `stop_timeout`; its exit still comes here.
                    runtime.stop_service(&pid, spec.lifecycle.stop_timeout);
                    receiver.await.ok()
                } else {
                    exit
                };
                let ran = began.elapsed();
                let reason = exit.as_ref().map_or("lost", |e| e.reason.as_str());
                runtime.audit_event(
                    "service.exit",
                    [
                        ("service", id.clone().into()),
                        ("pid", pid.to_string().into()),
                        ("reason", reason.into()),
                        ("ran_ms", u64::try_from(ran.as_millis()).unwrap_or(u64::MAX).into()),
                    ],
                );
                if stopped || *stop.borrow() {
                    return shared.set_state(&id, State::Stopped);
                }
                match exit {
                    Some(e) if e.reason == ExitReason::Normal => return shared.set_state(&id, State::Exited),
                    _ => ran >= spec.lifecycle.stable_threshold,
                }
            }
            Err(error) => {
                runtime.audit_event("service.fail", [("service", id.clone().into()), ("error", error.into())]);
                false
            }
        };
        // A stable run resets the backoff; this failure is then the first of a new series.
        let verdict = restarts.failed(stable_run, tokio::time::Instant::now(), fastrand::f64());
        let failures = restarts.failures();
        shared.update(&id, |slot| slot.failures = failures);
        let delay = match verdict {
            Verdict::Restart { delay, .. } => delay,
            Verdict::GiveUp(why) => {
                runtime.audit_event("service.give_up", [("service", id.clone().into()), ("failures", failures.into())]);
                tracing::error!(service = %id, failures, "service given up: {why}");
                return shared.set_state(&id, State::Failed);
            }
        };
        shared.set_state(&id, State::Backoff);
        runtime.audit_event(
            "service.restart",
            [
                ("service", id.clone().into()),
                ("attempt", failures.saturating_add(1).into()),
                ("delay_ms", u64::try_from(delay.as_millis()).unwrap_or(u64::MAX).into()),
            ],
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|s| *s) => return shared.set_state(&id, State::Stopped),
        }
        shared.update(&id, |slot| slot.restarts = slot.restarts.saturating_add(1));
        shared.set_state(&id, State::Starting);
    }
}
