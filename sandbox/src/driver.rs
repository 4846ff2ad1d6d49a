//! One executor per VM: the tasks of a VM's processes run inside one tokio task, the VM's driver.
//!
//! Processes of one VM never run Lua at the same time (the VM is one Luau state behind one lock), so running
//! them as separate tokio tasks only made them wait on each other's lock from two workers, and every
//! message between them a wake-up across workers (issue 10: ~1 context switch per round trip). The driver
//! polls its processes' tasks itself (a `FuturesUnordered`): a send that wakes a process of the same VM
//! queues it in the driver's own run queue, run next on the same worker. Tokio still moves whole drivers
//! between workers, so VMs run in parallel.
//!
//! The driver starts with the VM's first task and ends when the VM is gone and its last task has ended.

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;

/// A VM's executor: hands tasks to its driver.
#[derive(Clone)]
pub(crate) struct Driver {
    tasks: mpsc::UnboundedSender<BoxFuture<'static, ()>>,
}

impl Driver {
    /// Starts a driver on the current tokio runtime. Needs a runtime context (the runtime spawns processes
    /// from inside one).
    pub(crate) fn start() -> Driver {
        let (tasks, incoming) = mpsc::unbounded_channel();
        #[allow(clippy::disallowed_methods, reason = "a VM's driver: the tasks of the VM's processes run inside it")]
        tokio::spawn(drive(incoming));
        Driver { tasks }
    }

    /// Runs `task` on the driver. A task handed to a driver that is gone (the runtime shut down) is
    /// dropped, as the runtime's own tasks are.
    pub(crate) fn run(&self, task: BoxFuture<'static, ()>) {
        let _ = self.tasks.send(task);
    }
}

/// Polls the VM's tasks until the VM is gone (its sender dropped) and every task has ended.
async fn drive(mut incoming: mpsc::UnboundedReceiver<BoxFuture<'static, ()>>) {
    let mut running = FuturesUnordered::new();
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            task = incoming.recv(), if open => match task {
                Some(task) => running.push(task),
                None => open = false,
            },
            Some(()) = running.next(), if !running.is_empty() => {}
            else => return,
        }
    }
}
