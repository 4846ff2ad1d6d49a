//! Per-process limits and usage (issue "a sandbox that holds against hostile tenants").
//!
//! A host entry sets the maxima (`memory_limit`, `compute_limit`, `mailbox_size`); a spawn may narrow them
//! (`SpawnBuilder:with_limits`, the AO seed's `Memory-Limit` / `Compute-Limit`), never widen them.

use std::sync::atomic::{AtomicU64, Ordering};

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
}
