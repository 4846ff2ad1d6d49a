//! The name registry (`process.registry`), plus the checks that have no effect of their own in core:
//! `process.context`, `process.security`, `process.upgrade` and `security.can`.

use std::sync::Arc;

use corral_policy::Resource;

use super::Runtime;
use crate::app::{Entry, EntryKind};
use crate::error::{Error, Result};
use crate::gate::{OpKind, Operation, Permit, Subject};
use crate::lock;
use crate::pid::Pid;
use crate::process::Process;

/// What the SpawnBuilder asks for when it is built or extended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// `process.with_context` and `:with_context`: `process.context` on `Capability::"context"`.
    Context,
    /// `:with_actor` and `:with_scope`: `process.security` on `Capability::"security"`.
    Security,
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
    /// `process.registry.register`: `name` now resolves to `pid` (default: `from`). Errors: `Invalid` for an
    /// empty name or one that looks like a PID, `AlreadyExists` naming the holder, `NotFound` for a `pid` that
    /// is not alive, `PermissionDenied`.
    pub fn register(&self, from: &Process, name: &str, pid: Option<&str>) -> Result<()> {
        check_name(name)?;
        let owner = match pid {
            Some(pid) => self.resolve(pid)?.pid().clone(),
            None => from.pid().clone(),
        };
        let permit = self.gate().check(&from.caller(), Operation::Register(name))?;
        self.bind(permit, name, &owner)
    }

    fn bind(&self, permit: Permit, name: &str, owner: &Pid) -> Result<()> {
        permit.redeem(OpKind::Register, &Subject::Name(name.into()))?;
        let mut state = lock(&self.inner.state);
        if let Some(holder) = state.names.get(name) {
            return Err(Error::NameTaken { name: name.into(), holder: holder.to_string() });
        }
        let Some(process) = state.procs.get(owner) else {
            return Err(Error::NoSuchProcess { dest: owner.to_string() });
        };
        let max = process.host().spec.max_names;
        if state.names_of.get(owner).is_some_and(|names| names.len() >= max) {
            return Err(Error::Limit { what: format!("process `{owner}` holds its maximum of {max} names") });
        }
        state.names.insert(name.into(), owner.clone());
        state.names_of.entry(owner.clone()).or_default().push(name.into());
        Ok(())
    }

    /// `process.registry.lookup`. Errors: `NotFound` naming the name.
    pub fn lookup(&self, name: &str) -> Result<Pid> {
        check_name(name)?;
        lock(&self.inner.state).names.get(name).cloned().ok_or_else(|| Error::NameNotFound { name: name.into() })
    }

    /// `process.registry.unregister`: true when the name was registered. Errors: `PermissionDenied`.
    pub fn unregister(&self, from: &Process, name: &str) -> Result<bool> {
        check_name(name)?;
        let permit = self.gate().check(&from.caller(), Operation::Unregister(name))?;
        permit.redeem(OpKind::Unregister, &Subject::Name(name.into()))?;
        let mut state = lock(&self.inner.state);
        let Some(owner) = state.names.remove(name) else { return Ok(false) };
        if let Some(names) = state.names_of.get_mut(&owner) {
            names.retain(|n| n != name);
        }
        Ok(true)
    }

    /// Asks for a SpawnBuilder capability. Errors: `PermissionDenied`.
    pub fn check_capability(&self, from: &Process, capability: Capability) -> Result<()> {
        let operation = match capability {
            Capability::Context => Operation::Context,
            Capability::Security => Operation::Security,
        };
        let (kind, subject) = (operation.kind(), operation.subject());
        self.gate().check(&from.caller(), operation)?.redeem(kind, &subject)
    }

    /// `process.upgrade`: permission for `from` to run `entry` (default: its own) in place.
    /// Errors: `NotFound`, `Invalid` for a library entry, `PermissionDenied`.
    pub fn upgrade(&self, from: &Process, entry: Option<&str>) -> Result<Upgrade> {
        let id = entry.unwrap_or(&from.entry().id);
        let entry = self.inner.app.entries.get(id).ok_or_else(|| Error::NoSuchEntry { id: id.into() })?;
        if entry.kind == EntryKind::Library {
            return Err(Error::NotAProcess { id: id.into() });
        }
        self.gate().check(&from.caller(), Operation::Upgrade(id))?.redeem(OpKind::Upgrade, &Subject::Entry(id.into()))?;
        self.audit_event("proc.upgrade", [("pid", from.pid().to_string().into()), ("entry", id.into())]);
        Ok(Upgrade { entry: Arc::new(entry.clone()) })
    }

    /// `security.can(action, resource)`: the decision for `from`'s actor and scopes, recorded like any other.
    /// Errors: the audit log could not record it.
    pub fn can(&self, from: &Process, action: &str, resource: &Resource) -> Result<bool> {
        crate::limits::check_bounded("action", action)?;
        self.gate().ask(&from.caller(), action, resource)
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
