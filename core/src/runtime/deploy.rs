//! What the node does to a runtime besides running scripts: a new revision of its app, and the start and
//! stop of its services (`spec/node.md`, "Apps" and "Services").

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use corral_policy::PolicySet;
use tokio::sync::oneshot;

use super::{RootSpec, Runtime, SpawnSpec, hosts_of};
use crate::app::App;
use crate::audit::AuditError;
use crate::error::Result;
use crate::gate::Caller;
use crate::lock;
use crate::mailbox::{Event, EventKind};
use crate::pid::Pid;
use crate::process::Exit;

/// The host part of the PID the node signs its own signals with (a service stop's CANCEL): no process has
/// it, so nothing can message or monitor it.
pub const NODE_HOST: &str = "corral:node";

impl Runtime {
    /// Makes `app` (a new revision of this runtime's app, fully validated by the caller) and its policy set
    /// the ones in force: `app.replace` is written first (with `revision`), then `policy.reload` when the
    /// policy revision changed, then the app and its hosts are swapped. New spawns use the new entries;
    /// running processes keep the code they started with until they exit. A host whose limits did not change
    /// is kept with its running processes; a changed one starts empty (see `hosts_of`).
    ///
    /// # Errors
    /// The audit log refused a record; nothing was swapped then (a change that cannot be audited is not
    /// made).
    pub fn replace_app(
        &self,
        app: Arc<App>,
        policies: PolicySet,
        policy_dir: &Path,
        revision: &str,
    ) -> std::result::Result<(), AuditError> {
        let _serialised = lock(&self.inner.reloading);
        let mut fields = serde_json::Map::new();
        fields.insert("revision".into(), revision.into());
        fields.insert("entries".into(), app.entries.len().into());
        fields.insert("services".into(), app.services.len().into());
        self.audit_record("app.replace", fields)?;
        if policies.revision() != self.gate().policies().revision() {
            self.swap_policies(policy_dir, policies)?;
        }
        let hosts = hosts_of(&app, Some(&self.inner.hosts.load()));
        self.inner.hosts.store(Arc::new(hosts));
        self.inner.app.store(app);
        Ok(())
    }

    /// Starts a service's process as `root` says: decided like any spawn by the app's own policies
    /// (`process.spawn` on the entry, `process.host` on the host) with `root.actor` as principal, and audited.
    /// Unlike [`Runtime::start_root`] it does not become the caller hosts start their fallback processes as.
    /// Returns its PID and a receiver of its exit.
    ///
    /// # Errors
    /// Those of spawning: `NotFound`, `PermissionDenied`, `LimitExceeded`...
    pub fn start_service(&self, root: RootSpec) -> Result<(Pid, oneshot::Receiver<Exit>)> {
        let caller = Caller { pid: None, entry: None, actor: root.actor.clone(), scopes: root.scopes.into() };
        let (tx, rx) = oneshot::channel();
        let spec = SpawnSpec { entry: root.entry, host: root.host, args: root.args, ..SpawnSpec::default() };
        let pid = self.spawn_with(
            crate::gate::Decider::own(self.gate()),
            caller,
            None,
            spec,
            Some((crate::gate::OpKind::Spawn, tx)),
        )?;
        Ok((pid, rx))
    }

    /// Stops a service's process `pid` as the node: CANCEL, then terminated with reason `cancelled` if it has
    /// not returned after `stop_timeout`. The node's own act, not a tenant's request, so it is not decided;
    /// it is written as `proc.signal` with signal `stop` (as `shutdown` kills without a decision). Returns
    /// `false` when `pid` is not alive.
    pub fn stop_service(&self, pid: &Pid, stop_timeout: Duration) -> bool {
        let Some(target) = self.process(pid) else { return false };
        let Ok(at) = self.cancel_deadline(&target, stop_timeout) else { return false };
        let node = self.node_pid();
        self.audit_event(
            "proc.signal",
            [
                ("signal", "stop".into()),
                ("pid", serde_json::Value::Null),
                ("target", pid.to_string().into()),
                ("deadline", at.clone().into()),
            ],
        );
        let bytes = at.len();
        target
            .mailbox()
            .push_event(Event::new(EventKind::Cancel, node, super::exit::unix_now(), None, Some(at)), bytes);
        true
    }

    /// The PID the node signs its own signals with: `{node@incarnation|corral:node|0}`, which names no
    /// process.
    pub fn node_pid(&self) -> Pid {
        Pid::new(self.inner.node.clone(), self.inner.incarnation, NODE_HOST.into(), 0)
    }
}
