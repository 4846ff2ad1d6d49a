//! The name registry (`process.registry`), plus the checks that have no effect of their own in core:
//! `process.context`, `process.security`, `process.upgrade` and `security.can`.

use std::sync::Arc;

use corral_policy::{Actor, Resource};

use super::{Runtime, State};
use crate::app::{Entry, EntryKind};
use crate::error::{Error, Result};
use crate::gate::{Child, OpKind, Operation, Owner, Permit, SubjectRef};
use crate::lock;
use crate::pid::Pid;
use crate::process::Process;

/// What the SpawnBuilder asks for when it is built or extended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// `process.with_context` and `:with_context`: `process.context` on `Capability::"context"`.
    Context,
    /// `:with_actor` and `:with_scope`: `process.security` on `Capability::"security"`, for the actor or the
    /// scopes asked for (the request carries them, see [`crate::gate::Child`]).
    Security {
        /// The actor the child would run as (`:with_actor`).
        actor: Option<Arc<Actor>>,
        /// The scopes the child would have (`:with_scope`).
        scopes: Option<Arc<[String]>>,
    },
}

/// Proof that one process was allowed a SpawnBuilder capability, made only by [`Runtime::check_capability`]
/// after the gate decided and recorded it. A builder keeps its grants, and a spawn from that builder by the
/// same process uses them instead of asking again, so each permission of a builder spawn is asked once
/// (issue 9). A grant names the process and what it covers: it does not move to another process, actor or
/// scope set.
#[derive(Clone, Debug)]
pub struct Grant {
    caller: Pid,
    capability: Capability,
    op_id: u64,
}

impl Grant {
    /// The operation id of the decision that made it.
    pub fn op_id(&self) -> u64 {
        self.op_id
    }

    /// Whether it lets `caller` give a child context values.
    pub(crate) fn allows_context(&self, caller: &Pid) -> bool {
        &self.caller == caller && self.capability == Capability::Context
    }

    /// Whether it lets `caller` start a child as the actor `id`.
    pub(crate) fn allows_actor(&self, caller: &Pid, id: &str) -> bool {
        &self.caller == caller
            && matches!(&self.capability, Capability::Security { actor: Some(actor), .. } if actor.id == id)
    }

    /// Whether it lets `caller` start a child with exactly `scopes`.
    pub(crate) fn allows_scopes(&self, caller: &Pid, scopes: &[String]) -> bool {
        &self.caller == caller
            && matches!(&self.capability, Capability::Security { scopes: Some(granted), .. } if **granted == *scopes)
    }
}

/// Permission to replace a process's code with `entry` while it keeps its PID (`process.upgrade`). Only
/// [`Runtime::upgrade`] makes one, after the gate's decision.
#[must_use]
pub struct Upgrade {
    entry: Arc<Entry>,
}

impl Upgrade {
    /// The entry to run.
    pub fn entry(&self) -> &Arc<Entry> {
        &self.entry
    }
}

impl Runtime {
    /// `process.registry.register`: `name` now resolves to `pid` (default: `from`). The decision carries the
    /// process the name binds to (its PID, entry and actor, and whether it is the caller: see
    /// [`crate::gate::Owner`]); a name bound to another process is paid for by `from` (its `max_names`), and is
    /// released when either exits. Errors: `Invalid` for an empty name or one that looks like a PID or is over
    /// the bound, `AlreadyExists` naming the holder (another process than the one the name is to bind to: a
    /// name bound to it already is `Ok`, once decided), `NotFound` for a `pid` that is not alive,
    /// `LimitExceeded` when `from` pays for its maximum of names, `PermissionDenied`.
    pub fn register(&self, from: &Process, name: &str, pid: Option<&str>) -> Result<()> {
        check_name(name)?;
        let owner = match pid {
            Some(pid) => self.resolve(pid)?.target(),
            None => from.target(),
        };
        let own = &owner.pid == from.pid();
        let permit =
            self.gate().check(&from.caller(), Operation::Register(name, Some(Owner { target: &owner, own })))?;
        self.bind(permit, from, name, &owner.pid)
    }

    fn bind(&self, permit: Permit, payer: &Process, name: &str, owner: &Pid) -> Result<()> {
        permit.redeem(OpKind::Register, SubjectRef::Name(name))?;
        let mut state = lock(&self.inner.state);
        if let Some(holder) = state.names.get(name) {
            // Registering a name to the process that holds it already is idempotent (decided as any other).
            if holder == owner {
                return Ok(());
            }
            return Err(Error::NameTaken { name: name.into(), holder: holder.to_string() });
        }
        if !state.procs.contains_key(owner) {
            return Err(Error::NoSuchProcess { dest: owner.to_string() });
        }
        let max = payer.host().spec.max_names;
        if state.paid.get(payer.pid()).is_some_and(|names| names.len() >= max) {
            return Err(Error::Limit { what: format!("process `{}` holds its maximum of {max} names", payer.pid()) });
        }
        bind_name(&mut state, name, owner, payer.pid());
        Ok(())
    }

    /// `process.registry.lookup`. Errors: `NotFound` naming the name.
    pub fn lookup(&self, name: &str) -> Result<Pid> {
        check_name(name)?;
        lock(&self.inner.state).names.get(name).cloned().ok_or_else(|| Error::NameNotFound { name: name.into() })
    }

    /// `process.registry.unregister`: true when the name was registered. The decision carries the process
    /// holding the name (see [`crate::gate::Owner`]), so a policy can allow a process its own names only;
    /// the example sets allow another process's name only where a policy says so. Errors: `Invalid` for a
    /// name over the bound, `PermissionDenied`.
    pub fn unregister(&self, from: &Process, name: &str) -> Result<bool> {
        check_name(name)?;
        let holder = {
            let state = lock(&self.inner.state);
            state.names.get(name).and_then(|pid| state.procs.get(pid)).map(|p| p.target())
        };
        let owner = holder.as_ref().map(|target| Owner { target, own: &target.pid == from.pid() });
        let permit = self.gate().check(&from.caller(), Operation::Unregister(name, owner))?;
        permit.redeem(OpKind::Unregister, SubjectRef::Name(name))?;
        let mut state = lock(&self.inner.state);
        Ok(release_name(&mut state, name))
    }

    /// Asks for a SpawnBuilder capability for `from` and returns the grant. Errors: `PermissionDenied`.
    pub fn check_capability(&self, from: &Process, capability: Capability) -> Result<Grant> {
        let operation = match &capability {
            Capability::Context => Operation::Context,
            Capability::Security { actor, scopes } => {
                Operation::Security(Child { actor: actor.as_deref(), scopes: scopes.as_deref() })
            }
        };
        let (kind, subject) = (operation.kind(), operation.subject());
        let permit = self.gate().check(&from.caller(), operation)?;
        let op_id = permit.op_id();
        permit.redeem(kind, subject)?;
        Ok(Grant { caller: from.pid().clone(), capability, op_id })
    }

    /// `process.upgrade`: permission for `from` to run `entry` (default: its own) in place.
    /// Errors: `NotFound`, `Invalid` for a library entry, `PermissionDenied`.
    pub fn upgrade(&self, from: &Process, entry: Option<&str>) -> Result<Upgrade> {
        let id = entry.unwrap_or(&from.entry().id);
        let app = self.inner.app.load();
        let entry = app.entries.get(id).ok_or_else(|| Error::NoSuchEntry { id: id.into() })?;
        if entry.kind == EntryKind::Library {
            return Err(Error::NotAProcess { id: id.into() });
        }
        self.gate().check(&from.caller(), Operation::Upgrade(id))?.redeem(OpKind::Upgrade, SubjectRef::Entry(id))?;
        self.audit_event("proc.upgrade", [("pid", from.pid().to_string().into()), ("entry", id.into())]);
        Ok(Upgrade { entry: entry.clone() })
    }

    /// `scope:policies()` (reference dialect): the ids of the policies whose `@scope` is one of `scopes`, in
    /// file order, after the gate allowed `from` `process.security` on `Capability::"security"` for those scopes
    /// (the request of `:with_scope`: who may take a scope may see what it holds). Unscoped policies are in
    /// no scope and are not listed. Errors: `PermissionDenied`.
    pub fn scope_policies(&self, from: &Process, scopes: &[String]) -> Result<Vec<String>> {
        let operation = Operation::Security(Child { actor: None, scopes: Some(scopes) });
        let (kind, subject) = (operation.kind(), operation.subject());
        self.gate().check(&from.caller(), operation)?.redeem(kind, subject)?;
        let policies = self.gate().policies();
        Ok(policies
            .policy_ids()
            .into_iter()
            .filter(|id| policies.policy_scope(id).is_some_and(|scope| scopes.iter().any(|s| s == scope)))
            .collect())
    }

    /// `security.can(action, resource)`: the decision for `from`'s actor and scopes, recorded like any other.
    /// Errors: the audit log could not record it.
    pub fn can(&self, from: &Process, action: &str, resource: &Resource) -> Result<bool> {
        crate::limits::check_bounded("action", action)?;
        self.gate().ask(&from.caller(), action, resource)
    }

    /// [`Runtime::can`] with `meta` as context attributes beside `pid` (`security.can(action, resource, meta)`
    /// in the reference dialect); each reaches Cedar only where the schema declares it for the action.
    /// Errors: `Invalid` for a `pid` key (the runtime's own) or a key over the name bound; as [`Runtime::can`].
    pub fn can_with(
        &self,
        from: &Process,
        action: &str,
        resource: &Resource,
        meta: std::collections::BTreeMap<String, corral_policy::AttrValue>,
    ) -> Result<bool> {
        crate::limits::check_bounded("action", action)?;
        for key in meta.keys() {
            crate::limits::check_bounded("meta key", key)?;
            if key == "pid" {
                return Err(Error::Invalid("meta key `pid` is the runtime's (the caller's PID)".into()));
            }
        }
        self.gate().ask_with(&from.caller(), action, resource, meta.into_iter().collect())
    }
}

/// Binds `name` to `owner`, paid for by `payer` (in one critical section with the checks).
pub(super) fn bind_name(state: &mut State, name: &str, owner: &Pid, payer: &Pid) {
    state.names.insert(name.into(), owner.clone());
    state.names_of.entry(owner.clone()).or_default().push(name.into());
    state.payer.insert(name.into(), payer.clone());
    state.paid.entry(payer.clone()).or_default().push(name.into());
}

/// Releases `name` from its holder and its payer; false when it was not bound.
pub(super) fn release_name(state: &mut State, name: &str) -> bool {
    let Some(owner) = state.names.remove(name) else { return false };
    if let Some(names) = state.names_of.get_mut(&owner) {
        names.retain(|n| n != name);
    }
    if let Some(payer) = state.payer.remove(name)
        && let Some(names) = state.paid.get_mut(&payer)
    {
        names.retain(|n| n != name);
    }
    true
}

/// Releases every name `pid` holds or pays for (it is exiting).
pub(super) fn release_names_of(state: &mut State, pid: &Pid) {
    let held = state.names_of.remove(pid).unwrap_or_default();
    let paid = state.paid.remove(pid).unwrap_or_default();
    for name in held.iter().chain(&paid) {
        release_name(state, name);
    }
}

fn check_name(name: &str) -> Result<()> {
    crate::limits::check_bounded("name", name)?;
    if name.is_empty() {
        return Err(Error::Invalid("name must not be empty".into()));
    }
    if name.starts_with('{') {
        return Err(Error::Invalid(format!("name `{name}` looks like a pid")));
    }
    Ok(())
}
