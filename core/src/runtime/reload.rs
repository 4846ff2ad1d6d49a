//! Reloading the policy set while the node serves (`policy-model.md`, "Files": "A reload (on change, or on
//! demand) validates the new set completely before it replaces the old one atomically; a bad edit keeps the
//! old set running and is reported").
//!
//! A reload reads and validates the whole folder off the request path, then swaps the set into the gate in
//! one atomic store. A check loads the set once and decides all its requests against it, so every decision
//! carries exactly one revision. The folder's policy tests (`tests/*.yaml`) run against the new set as at boot,
//! and a set that fails one is rejected like a folder that does not load. A folder that does not load leaves the
//! running set alone; the problems go to
//! stderr (`tracing`, target `corral::policy`) and to the audit log as `policy.reject`. A successful reload is
//! `policy.reload`. Reloads are serialised, and a reload whose files hash to the running revision changes
//! nothing and records nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use corral_policy::{LoadError, PolicySet, Problem};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::audit::{AuditError, records};
use crate::error::{Error, Result};
use crate::gate::Gate;
use crate::lock;
use crate::runtime::Runtime;

/// `set` when the folder's policy tests (`dir/tests/*.yaml`, as `corral policy test` runs them) all pass
/// against it, as at boot. Errors: the tests that do not load, or each failing test (its file, line and why):
/// a set that fails its own tests is rejected like a bad edit.
fn passes_its_tests(set: PolicySet, dir: &Path) -> std::result::Result<PolicySet, LoadError> {
    let tests = corral_policy::testing::load_tests(dir)?;
    let problems: Vec<Problem> = tests
        .iter()
        .map(|test| test.run(&set))
        .filter_map(|outcome| {
            let why = outcome.failure.as_ref()?;
            let message = format!("policy test `{}` fails: {why}", outcome.test.name);
            Some(Problem::new(&outcome.test.file, outcome.test.line, message))
        })
        .collect();
    if problems.is_empty() { Ok(set) } else { Err(LoadError { problems }) }
}

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reload {
    /// The folder's files hash to the running revision: nothing was swapped.
    Unchanged {
        /// The running revision.
        revision: String,
    },
    /// The new set replaced the old one.
    Replaced {
        /// The revision that was running.
        previous: String,
        /// The revision now running.
        revision: String,
    },
}

/// The default delay between a change in the policy folder and the reload: editors write a file in several
/// steps, and a burst of events becomes one reload.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(100);

impl Runtime {
    /// Loads the policy folder `dir` completely (every file parsed, validated against the schema, entities
    /// loaded) and swaps the new set into the gate; checks already under way finish on the old set.
    ///
    /// Blocking: it reads files and builds Cedar sets; call it from a blocking thread
    /// (`tokio::task::spawn_blocking`) or outside the node's workers.
    ///
    /// # Errors
    /// The folder does not load: every problem (file, line, policy id). The running set stays, and the
    /// rejection is written to stderr and the audit log (`policy.reject`, with the kept revision).
    pub fn reload_policies(&self, dir: &Path) -> std::result::Result<Reload, LoadError> {
        let gate = self.gate();
        let _serialised = lock(&self.inner.reloading);
        let running = gate.policies().revision().to_string();
        match PolicySet::load_dir(dir).and_then(|set| passes_its_tests(set, dir)) {
            Ok(set) if set.revision() == running => Ok(Reload::Unchanged { revision: running }),
            Ok(set) => {
                let revision = set.revision().to_string();
                // The record first: a change that cannot be audited is not made.
                if let Err(e) = self.swap_policies(dir, set) {
                    tracing::error!(target: "corral::policy", "policy reload not made: {e}");
                    let message =
                        format!("the audit log refused the policy.reload record ({e}); the running set stays");
                    return Err(LoadError { problems: vec![Problem::new(dir, None, message)] });
                }
                tracing::info!(target: "corral::policy", dir = %dir.display(), %revision, previous = %running, "policies reloaded");
                Ok(Reload::Replaced { previous: running, revision })
            }
            Err(error) => {
                for problem in &error.problems {
                    tracing::error!(target: "corral::policy", "policy reload rejected: {problem}");
                }
                tracing::warn!(target: "corral::policy", revision = %running, "the running policies stay in force");
                if let Err(e) = self.audit_policy_reject(dir, &error.problems) {
                    tracing::error!(target: "corral::policy", "{e}");
                }
                Err(error)
            }
        }
    }

    /// Watches the policy folder `dir` and reloads it (as [`Runtime::reload_policies`]) after each burst of
    /// changes, `debounce` after the last event. Must be called inside the node's tokio runtime; watching
    /// stops when the returned [`PolicyWatcher`] is dropped.
    ///
    /// # Errors
    /// `Internal` when the folder cannot be watched (it does not exist, or the OS refuses a watch).
    pub fn watch_policies(&self, dir: &Path, debounce: Duration) -> Result<PolicyWatcher> {
        let (events, mut changed) = mpsc::unbounded_channel::<()>();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Reading does not change the folder; everything else (create, write, rename, remove) may.
            if event.is_ok_and(|e| !e.kind.is_access()) {
                let _ = events.send(());
            }
        })
        .map_err(|e| Error::Internal(format!("cannot watch the policy folder `{}`: {e}", dir.display())))?;
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| Error::Internal(format!("cannot watch the policy folder `{}`: {e}", dir.display())))?;
        let runtime = self.clone();
        let dir: PathBuf = dir.to_path_buf();
        #[allow(clippy::disallowed_methods, reason = "the policy watcher's task belongs to the node, not a process")]
        let task = tokio::spawn(async move {
            while changed.recv().await.is_some() {
                tokio::time::sleep(debounce).await;
                while changed.try_recv().is_ok() {}
                let runtime = runtime.clone();
                let dir = dir.clone();
                // Problems are reported by `reload_policies` itself.
                let _ = tokio::task::spawn_blocking(move || runtime.reload_policies(&dir)).await;
            }
        });
        Ok(PolicyWatcher { _watcher: watcher, task })
    }
}

impl Gate {
    /// Writes `policy.load` for the set this gate holds, loaded from `source`, with the gate's node and
    /// incarnation ([`Gate::with_origin`]): for a node's gate, which no runtime owns (a runtime's gate is
    /// recorded by [`Runtime::audit_policy_load`]). Errors: the sink did not accept the record.
    pub fn audit_policy_load(&self, source: &Path) -> std::result::Result<(), AuditError> {
        let set = self.policies();
        self.audit_node_record(records::POLICY_LOAD, records::policy_load(source, &set))
    }

    /// Reloads a node's policy folder `dir` ([`PolicySet::load_node_dir`]) into this gate, as
    /// [`Runtime::reload_policies`] does for an app's: validated whole first, `policy.reload` written before
    /// the swap (a change that cannot be audited is not made), `policy.reject` for a folder that does not load
    /// (the running set stays), nothing for an unchanged revision. Reloads of one gate are serialised.
    /// Blocking (reads files, builds Cedar sets).
    ///
    /// # Errors
    /// The folder does not load, or the audit log refused the `policy.reload` record: every problem.
    pub fn reload_node_policies(&self, dir: &Path) -> std::result::Result<Reload, LoadError> {
        let _serialised = lock(&self.reloading);
        let previous = self.policies();
        let running = previous.revision().to_string();
        match PolicySet::load_node_dir(dir).and_then(|set| passes_its_tests(set, dir)) {
            Ok(set) if set.revision() == running => Ok(Reload::Unchanged { revision: running }),
            Ok(set) => {
                let revision = set.revision().to_string();
                let record = records::policy_reload(dir, &previous, &set);
                if let Err(e) = self
                    .audit()
                    .flush_summaries(None)
                    .and_then(|()| self.audit_node_record(records::POLICY_RELOAD, record))
                {
                    tracing::error!(target: "corral::policy", "node policy reload not made: {e}");
                    let message =
                        format!("the audit log refused the policy.reload record ({e}); the running set stays");
                    return Err(LoadError { problems: vec![Problem::new(dir, None, message)] });
                }
                self.replace_policies(set);
                tracing::info!(target: "corral::policy", dir = %dir.display(), %revision, previous = %running, "node policies reloaded");
                Ok(Reload::Replaced { previous: running, revision })
            }
            Err(error) => {
                for problem in &error.problems {
                    tracing::error!(target: "corral::policy", "node policy reload rejected: {problem}");
                }
                let record = records::policy_reject(dir, &previous, &error.problems);
                if let Err(e) = self.audit_node_record(records::POLICY_REJECT, record) {
                    tracing::error!(target: "corral::policy", "{e}");
                }
                Err(error)
            }
        }
    }
}

/// A running watch on a policy folder; dropping it stops watching.
pub struct PolicyWatcher {
    _watcher: notify::RecommendedWatcher,
    task: JoinHandle<()>,
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}
