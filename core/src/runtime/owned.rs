//! Tasks a process owns: its timers, tickers and pending cancel deadline (`docs/security.md`, "Boundary
//! classes", 4). Nothing a process starts outlives it: [`Runtime::finish`] aborts every task its process
//! owns, and a process holds at most [`MAX_OWNED_TASKS`] timers and tickers at once.
//!
//! This is the runtime's own spawner: besides the process task itself (`spawn.rs`), the only place that may
//! call `tokio::spawn` (`clippy.toml` fences it everywhere else).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use tokio::task::AbortHandle;

use super::Runtime;
use crate::error::{Error, Result};
use crate::process::Process;

/// The most timers and tickers (`time.after`, `time.ticker`) one process holds at once; over it is
/// `LIMIT_EXCEEDED`. A pending cancel deadline (at most one per process) does not count.
pub const MAX_OWNED_TASKS: usize = 1024;

/// A task a process owns (see [`Runtime::spawn_owned`]). Dropping the handle does not stop the task; the
/// task stops when it finishes, when [`OwnedTask::abort`] is called, or when its owner exits.
#[derive(Debug)]
pub struct OwnedTask {
    id: u64,
    owner: Weak<Process>,
    handle: AbortHandle,
}

impl OwnedTask {
    /// Stops the task (idempotent) and releases its place in the owner's bound at once.
    pub fn abort(&self) {
        self.handle.abort();
        if let Some(owner) = self.owner.upgrade() {
            owner.forget_owned(self.id);
        }
    }

    /// Its id among its owner's tasks.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether the task has ended (finished or aborted and dropped).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// Held inside an owned task's future: when the future is dropped (it finished, or was aborted), the owner
/// forgets the task and the runtime's count of live owned tasks goes down.
struct Ownership {
    id: u64,
    owner: Weak<Process>,
    live: Arc<AtomicUsize>,
}

impl Drop for Ownership {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::AcqRel);
        if let Some(owner) = self.owner.upgrade() {
            owner.forget_owned(self.id);
        }
    }
}

impl Runtime {
    /// Spawns `task` as a task `owner` owns (a timer, a ticker): it is aborted when `owner` exits, and
    /// counts against its [`MAX_OWNED_TASKS`] while it runs. Errors: `LimitExceeded` when `owner` already
    /// holds that many; `NotFound` when `owner` has exited.
    pub fn spawn_owned<F>(&self, owner: &Arc<Process>, task: F) -> Result<OwnedTask>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.own(owner, task, Some(MAX_OWNED_TASKS))
    }

    /// Live owned tasks of every process of this runtime: spawned and not yet dropped (a task aborted by an
    /// exit is dropped at the next turn of the scheduler).
    pub fn owned_tasks(&self) -> usize {
        self.inner.owned_live.load(Ordering::Acquire)
    }

    /// [`Runtime::spawn_owned`] with `bound` (`None`: uncounted, for the one cancel deadline).
    pub(crate) fn own<F>(&self, owner: &Arc<Process>, task: F, bound: Option<usize>) -> Result<OwnedTask>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let id = owner.reserve_owned(bound)?;
        let live = self.inner.owned_live.clone();
        live.fetch_add(1, Ordering::AcqRel);
        let ownership = Ownership { id, owner: Arc::downgrade(owner), live };
        #[allow(clippy::disallowed_methods, reason = "the runtime's own spawner: the task belongs to its process")]
        let handle = tokio::spawn(async move {
            let _ownership = ownership;
            task.await;
        })
        .abort_handle();
        owner.fill_owned(id, handle.clone());
        Ok(OwnedTask { id, owner: Arc::downgrade(owner), handle })
    }
}

/// The error of a task that cannot be owned any more.
pub(crate) fn exited(process: &Process) -> Error {
    Error::NoSuchProcess { dest: process.pid().to_string() }
}
