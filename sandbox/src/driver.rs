//! One executor per VM: the tasks of a VM's processes run inside one tokio task, the VM's driver.
//!
//! Processes of one VM never run Lua at the same time (the VM is one Luau state behind one lock), so running
//! them as separate tokio tasks only made them wait on each other's lock from two workers, and every
//! message between them a wake-up across workers (issue 10: ~1 context switch per round trip). The driver
//! polls its processes' tasks itself: a send that wakes a process of the same VM queues it on the driver's
//! own run queue, run next on the same worker. Tokio still moves whole drivers between workers, so VMs run
//! in parallel.
//!
//! A wake-up that comes while the driver is running its queue is not passed on to tokio (the driver sees it
//! before it stops): waking the running tokio task would make tokio queue it again and rouse an idle worker
//! for nothing. A wake-up from elsewhere (another VM, a timer) wakes the driver's tokio task as usual. The
//! driver runs at most [`BUDGET`] tasks per turn, then lets tokio run others.
//!
//! The driver starts with the VM's first task and ends when the VM is gone and its last task has ended.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::future::BoxFuture;
use futures_util::task::AtomicWaker;
use tokio::sync::mpsc;

/// Tasks a driver runs per turn before it yields to tokio.
pub(crate) const BUDGET: usize = 256;

/// A VM's executor: hands tasks to its driver.
pub(crate) struct Driver {
    tasks: mpsc::UnboundedSender<BoxFuture<'static, ()>>,
}

impl Driver {
    /// Starts a driver on the current tokio runtime. Needs a runtime context (the runtime spawns processes
    /// from inside one).
    pub(crate) fn start() -> Driver {
        let (tasks, incoming) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let executor = Executor { shared, slots: Vec::new(), free: Vec::new(), incoming, open: true, live: 0 };
        #[allow(clippy::disallowed_methods, reason = "a VM's driver: the tasks of the VM's processes run inside it")]
        tokio::spawn(executor);
        Driver { tasks }
    }
}

impl corral_core::runtime::Executor for Driver {
    /// Runs `task` on the driver. A task handed to a driver that is gone (the runtime shut down) is
    /// dropped, as the runtime's own tasks are.
    fn run(&self, task: BoxFuture<'static, ()>) {
        let _ = self.tasks.send(task);
    }
}

/// What the driver and its tasks' wakers share.
#[derive(Default)]
struct Shared {
    /// Tasks woken and not yet polled, by slot.
    ready: Mutex<VecDeque<usize>>,
    /// Whether the driver is running its queue now (a wake-up then needs no tokio wake).
    running: AtomicBool,
    /// The driver's tokio task.
    waker: AtomicWaker,
}

impl Shared {
    fn push(&self, slot: usize) {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner).push_back(slot);
    }

    fn pop(&self) -> Option<usize> {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner).pop_front()
    }

    fn is_idle(&self) -> bool {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }
}

/// The waker of one task: queues its slot once until it is polled.
struct TaskWaker {
    slot: usize,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.push(self.slot);
        if !self.shared.running.load(Ordering::SeqCst) {
            self.shared.waker.wake();
        }
    }
}

/// A task and its waker (the `Waker` itself is made at each poll: a VM holds a slot per process, so the slot
/// is kept small).
struct Task {
    future: BoxFuture<'static, ()>,
    handle: Arc<TaskWaker>,
}

/// The driver: its tasks by slot, and the channel new ones come on.
struct Executor {
    shared: Arc<Shared>,
    slots: Vec<Option<Task>>,
    free: Vec<usize>,
    incoming: mpsc::UnboundedReceiver<BoxFuture<'static, ()>>,
    open: bool,
    live: usize,
}

impl Executor {
    fn add(&mut self, future: BoxFuture<'static, ()>) {
        let slot = self.free.pop().unwrap_or(self.slots.len());
        let handle = Arc::new(TaskWaker { slot, queued: AtomicBool::new(true), shared: self.shared.clone() });
        let task = Task { future, handle };
        match self.slots.get_mut(slot) {
            Some(cell) => *cell = Some(task),
            None => self.slots.push(Some(task)),
        }
        self.live += 1;
        self.shared.push(slot);
    }

    /// Polls the task in `slot` once (if it is still there); forgets it when it ends. A panic that escapes a
    /// task (the runtime catches those of process code inside it) ends only that task.
    fn poll_slot(&mut self, slot: usize) {
        let Some(cell) = self.slots.get_mut(slot) else { return };
        let Some(task) = cell.as_mut() else { return };
        task.handle.queued.store(false, Ordering::Release);
        let waker = Waker::from(task.handle.clone());
        let mut cx = Context::from_waker(&waker);
        let future = &mut task.future;
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
        let done = match polled {
            Ok(Poll::Ready(())) => true,
            Ok(Poll::Pending) => false,
            Err(_) => {
                tracing::error!("a process task panicked outside the runtime's guard; it is dropped");
                true
            }
        };
        if done {
            *cell = None;
            self.free.push(slot);
            self.live = self.live.saturating_sub(1);
        }
    }
}

impl Future for Executor {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.shared.waker.register(cx.waker());
        let mut budget = BUDGET;
        loop {
            this.shared.running.store(true, Ordering::SeqCst);
            while this.open {
                match this.incoming.poll_recv(cx) {
                    Poll::Ready(Some(task)) => this.add(task),
                    Poll::Ready(None) => this.open = false,
                    Poll::Pending => break,
                }
            }
            while let Some(slot) = this.shared.pop() {
                this.poll_slot(slot);
                budget = budget.saturating_sub(1);
                if budget == 0 {
                    this.shared.running.store(false, Ordering::SeqCst);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
            this.shared.running.store(false, Ordering::SeqCst);
            // A task woken after the queue ran dry but before `running` dropped did not wake tokio: look again.
            if this.shared.is_idle() {
                break;
            }
        }
        if !this.open && this.live == 0 { Poll::Ready(()) } else { Poll::Pending }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use corral_core::runtime::Executor;

    use super::*;

    /// Two tasks of one driver passing a token back and forth through tokio's Notify (what two processes of
    /// one VM do with their mailboxes): every hand-off is seen, none is lost while the driver is running.
    #[tokio::test]
    async fn tasks_of_one_driver_wake_each_other_without_losing_a_wake() {
        let driver = Driver::start();
        let (a, b) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let (a2, b2, c2) = (a.clone(), b.clone(), count.clone());
        driver.run(Box::pin(async move {
            for _ in 0..10_000 {
                b2.notified().await;
                c2.fetch_add(1, Ordering::Relaxed);
                a2.notify_one();
            }
        }));
        driver.run(Box::pin(async move {
            for _ in 0..10_000 {
                b.notify_one();
                a.notified().await;
            }
            let _ = done_tx.send(());
        }));
        done_rx.await.unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 10_000);
    }

    /// A task that panics outside the runtime's own guard ends alone; the driver keeps running the others.
    #[tokio::test]
    async fn a_panicking_task_ends_alone() {
        let driver = Driver::start();
        driver.run(Box::pin(async { panic!("a task broke") }));
        let (tx, rx) = tokio::sync::oneshot::channel();
        driver.run(Box::pin(async move {
            tokio::task::yield_now().await;
            let _ = tx.send(42);
        }));
        assert_eq!(rx.await.unwrap(), 42);
    }

    /// More ready tasks than a turn's budget all finish (the driver yields to tokio between turns).
    #[tokio::test]
    async fn more_tasks_than_a_turn_all_finish() {
        let driver = Driver::start();
        let count = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..(BUDGET * 4) {
            let (count, tx) = (count.clone(), tx.clone());
            driver.run(Box::pin(async move {
                tokio::task::yield_now().await;
                count.fetch_add(1, Ordering::Relaxed);
                let _ = tx.send(());
            }));
        }
        for _ in 0..(BUDGET * 4) {
            rx.recv().await.unwrap();
        }
        assert_eq!(count.load(Ordering::Relaxed), BUDGET * 4);
    }
}
