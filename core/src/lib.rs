//! Corral's process runtime: PIDs, hosts, mailboxes, links, monitors, the name registry, exits, and the gate.
//!
//! Scripts run as processes; this crate holds everything about them that is not Lua. The principal types:
//! - [`Runtime`]: one node. It owns the process table, the registry and the [`gate::Gate`]; every effectful
//!   call (spawn, send, link, terminate, ...) is decided at the gate and audited before it acts.
//! - [`Process`]: a live process with its [`Pid`], [`mailbox::Mailbox`], actor, scopes and context.
//! - [`app::App`]: an app folder's manifests (entries and hosts).
//! - [`runtime::Launcher`]: what runs a process's code (the `corral-sandbox` crate implements it).
//!
//! ```
//! use std::sync::Arc;
//! use corral_core::{audit::MemoryAudit, chan::{Chan, Item}, value::Value};
//!
//! // The channel type every mailbox delivers into.
//! let ch = Chan::new(1);
//! assert!(ch.try_send(Item::Payload(vec![Value::Num(1.0)].into())).is_ok());
//! assert!(ch.try_recv().is_some());
//! let _audit = Arc::new(MemoryAudit::new());
//! ```

pub mod app;
pub mod audit;
pub mod chan;
pub mod error;
pub mod gate;
pub mod limits;
pub mod mailbox;
pub mod metrics;
pub mod pid;
pub mod process;
pub mod restart;
pub mod runtime;
pub mod service;
pub mod value;

pub use error::{Error, ErrorKind, Result};
pub use pid::Pid;
pub use process::{Exit, ExitReason, Process};
pub use runtime::{Launcher, Runtime};
pub use value::Value;

/// Locks a mutex, recovering the data when another thread panicked while holding it: state behind our
/// mutexes is kept consistent by every critical section, so a poisoned lock is still usable.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
