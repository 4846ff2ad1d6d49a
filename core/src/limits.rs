//! Per-process limits and usage (issue "a sandbox that holds against hostile tenants").
//!
//! A host entry sets the maxima (`memory_limit`, `compute_limit`, `mailbox_size`); a spawn may narrow them
//! (`SpawnBuilder:with_limits`, the AO seed's `Memory-Limit` / `Compute-Limit`), never widen them.
//!
//! Above the processes, [`Quotas`] bound what one actor holds across every host of the node (`corral.toml`
//! `[quotas]`), so that one tenant cannot fill the node.

use std::collections::BTreeMap;

use hashbrown::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::app::HostSpec;
use crate::error::{Error, Result};

/// The limits one process runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of Lua memory the process may hold (`limit.memory` beyond).
    pub memory: u64,
    /// Compute units (Luau safepoints: loop iterations and calls) it may spend (`limit.compute` beyond).
    pub compute: u64,
    /// Messages its mailbox holds (a send beyond is `LIMIT_EXCEEDED` or goes to the fallback).
    pub mailbox: usize,
}

impl Limits {
    /// The host's maxima, which a process gets unless its spawn narrows them.
    pub fn of_host(spec: &HostSpec) -> Limits {
        Limits { memory: spec.memory_limit, compute: spec.compute_limit, mailbox: spec.mailbox_size }
    }
}

/// What a spawn asks for (`:with_limits{memory = "64MiB", compute = 1e9, mailbox = 1024}`); `None` keeps the
/// host's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitRequest {
    /// Bytes.
    pub memory: Option<u64>,
    /// Compute units.
    pub compute: Option<u64>,
    /// Messages.
    pub mailbox: Option<usize>,
}

impl LimitRequest {
    /// The limits for a process of `host`. Errors: `LimitExceeded` when a value is above the host's maximum
    /// (naming the limit, the value and the maximum), `Invalid` for zero.
    pub fn resolve(&self, host: &HostSpec) -> Result<Limits> {
        let max = Limits::of_host(host);
        Ok(Limits {
            memory: narrow("memory", self.memory, max.memory, &host.id)?,
            compute: narrow("compute", self.compute, max.compute, &host.id)?,
            mailbox: narrow("mailbox", self.mailbox.map(|m| m as u64), max.mailbox as u64, &host.id)? as usize,
        })
    }
}

fn narrow(what: &str, asked: Option<u64>, max: u64, host: &str) -> Result<u64> {
    match asked {
        None => Ok(max),
        Some(0) => Err(Error::Invalid(format!("limit `{what}` must be at least 1"))),
        Some(n) if n > max => {
            Err(Error::Limit { what: format!("limit `{what}` of {n} is over host `{host}`'s maximum of {max}") })
        }
        Some(n) => Ok(n),
    }
}

/// What one actor may hold at once across all hosts: live processes, and the sum of their memory limits (each
/// process counts its own `memory` limit, the bytes it may hold, whatever it holds now). `None` is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Live processes.
    pub processes: Option<usize>,
    /// Bytes: the sum of the memory limits of its live processes.
    pub memory: Option<u64>,
}

/// Per-actor quotas (`corral.toml` `[quotas]`): a default for every actor and overrides by actor id. An
/// override's missing field falls back to the default's. No `[quotas]` means no quota (the hosts' own limits
/// still hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quotas {
    /// `[quotas] default`: every actor without an override.
    pub default: Quota,
    /// `[quotas.actors]`: actor id (`user:alice`) -> its quota.
    pub actors: BTreeMap<String, Quota>,
}

impl Quotas {
    /// The quota of `actor`: its override over the default.
    pub fn of(&self, actor: &str) -> Quota {
        match self.actors.get(actor) {
            Some(own) => Quota {
                processes: own.processes.or(self.default.processes),
                memory: own.memory.or(self.default.memory),
            },
            None => self.default,
        }
    }

    /// Whether any quota is set (otherwise nothing is counted).
    pub fn is_empty(&self) -> bool {
        self == &Quotas::default()
    }
}

/// What each actor holds now: live processes and the sum of their memory limits. Kept by the runtime; a
/// spawn reserves before its child is installed and the exit releases. The runtimes of a node share one
/// ([`crate::runtime::Shared`]), so an actor's quota holds across apps. Only core reserves and releases.
#[derive(Debug, Default)]
pub struct ActorUsage(Mutex<HashMap<String, Held>>);

#[derive(Clone, Copy, Debug, Default)]
struct Held {
    processes: usize,
    memory: u64,
}

impl ActorUsage {
    /// Nothing held.
    pub fn new() -> ActorUsage {
        ActorUsage::default()
    }

    /// What `actor` holds now: `(live processes, bytes of their memory limits)`; `(0, 0)` for an actor
    /// holding nothing.
    pub fn held(&self, actor: &str) -> (usize, u64) {
        let all = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        all.get(actor).map_or((0, 0), |h| (h.processes, h.memory))
    }

    /// Counts one more process of `actor` with a memory limit of `memory` bytes. Errors: `LimitExceeded`
    /// naming the actor, the quota and `corral.toml`, when the process would take the actor over its quota;
    /// then nothing is counted.
    pub(crate) fn reserve(&self, quotas: &Quotas, actor: &str, memory: u64) -> Result<()> {
        let quota = quotas.of(actor);
        let mut all = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = all.entry(actor.to_string()).or_default();
        if let Some(max) = quota.processes
            && held.processes >= max
        {
            return Err(Error::Limit {
                what: format!("actor `{actor}` runs its quota of {max} processes (corral.toml [quotas])"),
            });
        }
        let memory_after = held.memory.saturating_add(memory);
        if let Some(max) = quota.memory
            && memory_after > max
        {
            return Err(Error::Limit {
                what: format!(
                    "actor `{actor}` would hold {memory_after} bytes of memory limits, over its quota of {max} \
                     (corral.toml [quotas]); it holds {} in {} processes",
                    held.memory, held.processes
                ),
            });
        }
        held.processes += 1;
        held.memory = memory_after;
        Ok(())
    }

    /// Undoes one [`ActorUsage::reserve`] of `actor` with `memory` bytes.
    pub(crate) fn release(&self, actor: &str, memory: u64) {
        let mut all = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(held) = all.get_mut(actor) {
            held.processes = held.processes.saturating_sub(1);
            held.memory = held.memory.saturating_sub(memory);
            if held.processes == 0 {
                all.remove(actor);
            }
        }
    }
}

/// The longest name, topic, actor id, scope name, policy action or destination a script may pass, in bytes.
/// Longer is `INVALID`, so one call's audit records and error texts stay small whatever the script sends
/// (issue 9, class 8: audit amplification).
pub const MAX_NAME_BYTES: usize = 256;

/// The most scope names one scope value may hold (`security.new_scope`); more is `INVALID`.
pub const MAX_SCOPE_NAMES: usize = 64;

/// Bytes charged for one queued message or event beyond its payload: the record the host keeps for it.
pub const QUEUED_OVERHEAD: u64 = 128;

/// Bytes charged for one `listen` topic: the route and its channel.
pub const LISTENER_BYTES: u64 = 256;

/// `text` (what a script passed as `what`) within [`MAX_NAME_BYTES`]. Errors: `Invalid` naming `what` and the
/// bound; the text itself is not repeated.
pub fn check_bounded(what: &str, text: &str) -> Result<()> {
    if text.len() > MAX_NAME_BYTES {
        return Err(Error::Invalid(format!(
            "{what} of {} bytes is over the bound of {MAX_NAME_BYTES} bytes",
            text.len()
        )));
    }
    Ok(())
}

/// `text` cut to at most `max` bytes on a character boundary, ending in `…` when it was cut (exit errors in
/// records and events, which are bounded).
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    let mut out = text.get(..end).unwrap_or_default().to_string();
    out.push('…');
    out
}

/// The memory account of one process: the bytes of its Lua heap (as the sandbox last measured them) plus the
/// bytes the host keeps on its behalf outside that heap (messages and events queued for it, its listeners,
/// and what its Lua objects hold in Rust: error texts, scopes, builders, channel items). Both count against
/// its `memory` limit (issue 9, class 3: "every byte the host keeps for a process is charged to it").
///
/// The host side is charged through [`Charge`]s, released when what they pay for is dropped. A refusable
/// charge ([`Account::try_charge`]: a message delivery, a new listener) is refused when it would take the
/// total over the limit; a forced one ([`Account::charge`]: an event, which is never refused) may go over,
/// and the sandbox then ends the process with `limit.memory` at its next check.
#[derive(Debug)]
pub struct Account {
    limit: u64,
    host: AtomicU64,
    lua: AtomicU64,
}

impl Account {
    /// An empty account with a limit of `limit` bytes.
    pub fn new(limit: u64) -> Account {
        Account { limit, host: AtomicU64::new(0), lua: AtomicU64::new(0) }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes the host holds for the process now.
    pub fn host_bytes(&self) -> u64 {
        self.host.load(Ordering::Relaxed)
    }

    /// Records the bytes of the process's Lua heap (the sandbox calls it at each metering check).
    pub fn set_lua_bytes(&self, bytes: u64) {
        self.lua.store(bytes, Ordering::Relaxed);
    }

    /// Lua heap plus host bytes.
    pub fn held(&self) -> u64 {
        self.lua.load(Ordering::Relaxed).saturating_add(self.host_bytes())
    }

    /// Charges `bytes` unless that takes the total over the limit. Errors: `LimitExceeded` naming the bytes,
    /// what is held and the limit; nothing is charged then.
    pub fn try_charge(self: &Arc<Self>, bytes: u64) -> Result<Charge> {
        let mut host = self.host.load(Ordering::Relaxed);
        loop {
            let total = self.lua.load(Ordering::Relaxed).saturating_add(host).saturating_add(bytes);
            if total > self.limit {
                return Err(Error::Limit {
                    what: format!(
                        "{bytes} more bytes would take the process to {total} bytes, over its memory limit of {}",
                        self.limit
                    ),
                });
            }
            match self.host.compare_exchange_weak(host, host.saturating_add(bytes), Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(Charge { account: Some(self.clone()), bytes }),
                Err(now) => host = now,
            }
        }
    }

    /// Charges `bytes` whatever the total (for what cannot be refused, such as an event); over the limit the
    /// sandbox ends the process with `limit.memory`.
    pub fn charge(self: &Arc<Self>, bytes: u64) -> Charge {
        let _ = self.host.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |h| Some(h.saturating_add(bytes)));
        Charge { account: Some(self.clone()), bytes }
    }
}

/// Bytes charged to an [`Account`], released when dropped.
#[derive(Debug, Default)]
pub struct Charge {
    account: Option<Arc<Account>>,
    bytes: u64,
}

impl Charge {
    /// The bytes it holds.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if let Some(account) = self.account.take() {
            let bytes = self.bytes;
            let _ = account.host.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |h| Some(h.saturating_sub(bytes)));
        }
    }
}

/// What a process used, filled by the sandbox when its code stops (for the `proc.exit` record).
#[derive(Debug, Default)]
pub struct Usage {
    peak_memory: AtomicU64,
    compute: AtomicU64,
}

impl Usage {
    /// Records the highest memory held (bytes) and the compute units spent.
    pub fn record(&self, peak_memory: u64, compute: u64) {
        self.peak_memory.fetch_max(peak_memory, Ordering::Relaxed);
        self.compute.store(compute, Ordering::Relaxed);
    }

    /// The highest memory the process held, in bytes (0 until the sandbox recorded it).
    pub fn peak_memory(&self) -> u64 {
        self.peak_memory.load(Ordering::Relaxed)
    }

    /// Compute units spent (0 until the sandbox recorded it).
    pub fn compute(&self) -> u64 {
        self.compute.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_refuses_what_would_take_it_over_and_releases_on_drop() {
        let account = Arc::new(Account::new(1000));
        account.set_lua_bytes(600);
        let a = account.try_charge(300).ok();
        assert_eq!(account.host_bytes(), 300);
        let refused = account.try_charge(101).err().map(|e| (e.kind(), e.to_string()));
        assert_eq!(refused.as_ref().map(|e| e.0), Some(crate::ErrorKind::LimitExceeded));
        assert!(refused.is_some_and(|e| e.1.contains("1001 bytes") && e.1.contains("limit of 1000")));
        assert_eq!(account.host_bytes(), 300, "a refused charge holds nothing");
        let forced = account.charge(500);
        assert_eq!(account.held(), 1400, "a forced charge may go over");
        drop((a, forced));
        assert_eq!(account.host_bytes(), 0);
        assert!(check_bounded("topic", &"x".repeat(MAX_NAME_BYTES)).is_ok());
        let long = check_bounded("topic", &"x".repeat(MAX_NAME_BYTES + 1)).err().map(|e| e.to_string());
        assert!(long.is_some_and(|e| e.contains("topic of 257 bytes") && !e.contains("xxx")));
    }

    #[test]
    fn a_spawn_narrows_but_never_widens() {
        let host = HostSpec::with_defaults("app:h");
        let narrowed = LimitRequest { memory: Some(1 << 20), compute: None, mailbox: Some(8) }.resolve(&host);
        assert_eq!(narrowed.ok(), Some(Limits { memory: 1 << 20, compute: host.compute_limit, mailbox: 8 }));
        let wider = LimitRequest { compute: Some(host.compute_limit + 1), ..LimitRequest::default() }.resolve(&host);
        let err = wider.err().map(|e| (e.kind(), e.to_string()));
        assert_eq!(err.as_ref().map(|e| e.0), Some(crate::ErrorKind::LimitExceeded));
        assert!(err.is_some_and(|e| e.1.contains("compute") && e.1.contains("app:h")));
        let zero = LimitRequest { mailbox: Some(0), ..LimitRequest::default() }.resolve(&host);
        assert_eq!(zero.err().map(|e| e.kind()), Some(crate::ErrorKind::Invalid));
    }

    fn quotas() -> Quotas {
        let mut actors = BTreeMap::new();
        actors.insert("user:big".to_string(), Quota { processes: Some(3), memory: None });
        Quotas { default: Quota { processes: Some(2), memory: Some(100) }, actors }
    }

    #[test]
    fn an_override_falls_back_to_the_default_per_field() {
        let q = quotas();
        assert_eq!(q.of("user:big"), Quota { processes: Some(3), memory: Some(100) });
        assert_eq!(q.of("user:other"), Quota { processes: Some(2), memory: Some(100) });
        assert!(Quotas::default().is_empty() && !q.is_empty());
    }

    #[test]
    fn an_actor_over_its_quota_is_refused_and_a_release_makes_room() {
        let (q, usage) = (quotas(), ActorUsage::default());
        assert!(usage.reserve(&q, "user:a", 40).is_ok());
        assert!(usage.reserve(&q, "user:a", 40).is_ok());
        let third = usage.reserve(&q, "user:a", 1).err().map(|e| (e.kind(), e.to_string()));
        assert_eq!(third.as_ref().map(|e| e.0), Some(crate::ErrorKind::LimitExceeded));
        assert!(third.is_some_and(|e| e.1.contains("user:a") && e.1.contains("quota of 2 processes")));
        // another actor is not affected
        assert!(usage.reserve(&q, "user:b", 100).is_ok());
        usage.release("user:nobody", 0); // releasing what was never reserved changes nothing
        usage.release("user:a", 40);
        // memory: 40 held + 61 > 100, refused whole; 60 fits
        let over = usage.reserve(&q, "user:a", 61).err().map(|e| e.to_string());
        assert!(over.is_some_and(|e| e.contains("101 bytes") && e.contains("quota of 100")));
        assert!(usage.reserve(&q, "user:a", 60).is_ok());
        assert!(usage.reserve(&q, "user:a", 0).is_err());
    }
}
