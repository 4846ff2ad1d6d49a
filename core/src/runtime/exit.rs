//! How a process ends: names first, then monitors, links and waiters (`lua-api.md`, "Events and exits").

use std::sync::Arc;

use super::Runtime;
use crate::lock;
use crate::mailbox::{Event, EventKind};
use crate::process::{Exit, ExitReason, Process};

/// The longest error text an audit record keeps, in bytes.
const AUDIT_ERROR_MAX: usize = 1024;

impl Runtime {
    /// Ends `process` with `exit`. Its names are released before any EXIT or LINK_DOWN is delivered; monitors
    /// get EXIT on every exit; links get LINK_DOWN only on an abnormal exit, and a linked process that does
    /// not trap links is killed in turn (the cascade). Waiters (exec, the root) get the exit.
    pub(crate) fn finish(&self, process: &Arc<Process>, exit: Exit) {
        let pid = process.pid().clone();
        let (watchers, linked, waiters, functions) = {
            let mut state = lock(&self.inner.state);
            state.procs.remove(&pid);
            process.mark_dead();
            if let Some(parent) = process.parent().and_then(|p| state.procs.get(p)) {
                parent.children.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            }
            super::registry::release_names_of(&mut state, &pid);
            for target in state.watching.remove(&pid).unwrap_or_default() {
                if let Some(set) = state.watchers.get_mut(&target) {
                    set.remove(&pid);
                }
            }
            let watchers = state.watchers.remove(&pid).unwrap_or_default();
            for watcher in &watchers {
                if let Some(set) = state.watching.get_mut(watcher) {
                    set.remove(&pid);
                }
            }
            let linked = state.links.remove(&pid).unwrap_or_default();
            for other in &linked {
                if let Some(set) = state.links.get_mut(other) {
                    set.remove(&pid);
                }
            }
            let watchers: Vec<Arc<Process>> = watchers.iter().filter_map(|w| state.procs.get(w).cloned()).collect();
            let linked: Vec<Arc<Process>> = linked.iter().filter_map(|l| state.procs.get(l).cloned()).collect();
            super::funcs::forget_function(&mut state, process);
            let functions = super::funcs::functions_of(&mut state, &pid);
            (watchers, linked, state.waiters.remove(&pid).unwrap_or_default(), functions)
        };
        // The function calls it made end with it: nothing a process starts outlives it.
        for function in functions {
            function.kill(Exit::abnormal(ExitReason::Cancelled, "cancelled: the caller of the function call exited"));
        }
        // Calls it waits for end with it; calls to it end with UNAVAILABLE naming the exit.
        self.end_calls_of(process, &exit);
        // Its event subscriptions end with it (their channels close).
        self.end_subscriptions_of(&pid);
        process.mailbox().close();
        // Nothing it started outlives it: its timers, tickers and pending cancel deadline stop now.
        process.abort_all_owned();
        process.host().live.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.release_quota(process);
        self.inner.counters.exit(exit.reason);
        self.audit_exit(process, &exit);
        let at = unix_now();
        let bytes = result_bytes(&exit);
        for watcher in watchers {
            let event = Event::new(EventKind::Exit, pid.clone(), at, Some(exit.result.clone()), None);
            watcher.mailbox().push_event(event, bytes);
        }
        if exit.is_abnormal() {
            for other in linked {
                self.link_down(&other, process, &exit, at);
            }
        }
        for waiter in waiters {
            // A waiter that went away (its own process ended) no longer needs the result.
            let _ = waiter.send(exit.clone());
        }
        if self.live() == 0 {
            self.inner.idle.notify_waiters();
        }
    }

    fn link_down(&self, receiver: &Process, dead: &Process, exit: &Exit, at: f64) {
        if receiver.trap_links() {
            let event = Event::new(EventKind::LinkDown, dead.pid().clone(), at, Some(exit.result.clone()), None);
            receiver.mailbox().push_event(event, result_bytes(exit));
        } else {
            let why = exit.result.as_ref().err().map(String::as_str).unwrap_or("");
            receiver.kill(Exit::abnormal(ExitReason::LinkDown, format!("link down: {} exited: {why}", dead.pid())));
        }
    }

    fn audit_exit(&self, process: &Process, exit: &Exit) {
        let ordering = std::sync::atomic::Ordering::Relaxed;
        let usage = process.usage();
        // Overflows held back by the summariser happened before the exit, so their record comes first, and
        // so do the open summaries of the process as caller or target.
        self.flush_overflow(process);
        self.flush_ao(process);
        if let Err(e) = self.inner.gate.audit().flush_summaries(Some(process.pid().as_str())) {
            tracing::error!(kind = crate::audit::SUMMARY, "{e}");
        }
        let error = exit.result.as_ref().err().map(|message| crate::limits::cut(message, AUDIT_ERROR_MAX));
        let record = crate::audit::records::ExitRecord {
            pid: process.pid().as_str(),
            entry: &process.entry().id,
            actor: process.actor().map(|a| a.id.as_str()),
            reason: exit.reason.as_str(),
            error: error.as_deref(),
            counters: crate::audit::records::ExitCounters {
                messages_in: process.messages_in.load(ordering),
                messages_out: process.messages_out.load(ordering),
                peak_memory_bytes: usage.peak_memory(),
                instructions: usage.compute(),
                wall_us: u64::try_from(process.started.elapsed().as_micros()).unwrap_or(u64::MAX),
            },
            node: self.node(),
            incarnation: self.incarnation(),
        };
        self.audit_lifecycle("proc.exit", &record);
    }
}

/// The bytes an exit's result occupies in an event (charged to each receiver).
fn result_bytes(exit: &Exit) -> usize {
    match &exit.result {
        Ok(value) => value.size(),
        Err(message) => message.len(),
    }
}

/// Unix time in seconds with fractions, for event `at` fields.
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use crate::limits::cut as truncate;

    #[test]
    fn a_long_error_is_cut_to_the_bound_on_a_character_boundary() {
        let long = "é".repeat(1000);
        let cut = truncate(&long, 1024);
        assert!(cut.len() <= 1024, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", 1024), "short");
    }
}
