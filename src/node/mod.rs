//! `corral serve`: one long-running node holding many tenants' apps, with an HTTP API (`spec/node.md`).
//!
//! - [`config`]: `[node]` settings and flags; [`store`]: the data folder, its lock and what a restart keeps;
//! - [`archive`]: unpacking a deployed tar or gzipped tar under bounds; [`tokens`]: bearer tokens by digest;
//! - [`apps`]: checking, activating, replacing and removing apps; [`http`]: the routes; [`metrics`]: the
//!   Prometheus text of `GET /metrics`.
//!
//! The node holds one [`corral_core::Runtime`] per app, named after the app (so a PID
//! `{shop@18c2f0a1b2|shop:processes|5}` says which app it belongs to), all writing one audit log,
//! `<data>/audit/audit.jsonl`. API callers are decided by the node's own policy set, held by a control
//! runtime that runs no process: its gate decides node actions and API process actions, and its
//! `runtime.start` / `runtime.stop` bracket the node's life in the log.

pub mod apps;
pub mod archive;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod processes;
pub mod store;
pub mod tokens;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use corral_core::Runtime;
use corral_core::audit::JsonlAudit;

use crate::node::apps::AppSlot;
use crate::node::config::Settings;
use crate::node::store::Store;
use crate::node::tokens::Tokens;

/// The node name of the control runtime: not a valid app name (apps start with a letter or digit), so no
/// app's PIDs can be taken for it.
pub const CONTROL: &str = "_node";

/// One running node: its settings, data folder, audit log, callers, node policies and apps.
pub struct Node {
    /// The resolved settings.
    pub settings: Settings,
    /// The locked data folder.
    pub store: Store,
    /// The audit log every runtime of the node writes.
    pub audit: Arc<JsonlAudit>,
    /// Known bearer tokens.
    pub tokens: Tokens,
    /// The control runtime: its gate holds the node policies; it runs no process.
    pub control: Runtime,
    /// The Prometheus registry.
    pub metrics: metrics::Metrics,
    /// What every runtime of the node shares: actor usage, the node's `[quotas]`, the counters.
    pub shared: corral_core::runtime::Shared,
    apps: RwLock<BTreeMap<String, Arc<AppSlot>>>,
    /// One activation (deploy, replace, remove) at a time, so namespace checks and swaps do not interleave.
    activating: tokio::sync::Mutex<()>,
    draining: AtomicBool,
}

impl Node {
    /// A node over an open store and audit log, with no app yet. `control` must be built on `audit`.
    pub fn new(
        settings: Settings,
        store: Store,
        audit: Arc<JsonlAudit>,
        tokens: Tokens,
        control: Runtime,
        shared: corral_core::runtime::Shared,
    ) -> Node {
        Node {
            shared,
            settings,
            store,
            audit,
            tokens,
            control,
            metrics: metrics::Metrics::new(),
            apps: RwLock::default(),
            activating: tokio::sync::Mutex::new(()),
            draining: AtomicBool::new(false),
        }
    }

    /// The deployed apps, by name (a snapshot).
    pub fn apps(&self) -> BTreeMap<String, Arc<AppSlot>> {
        self.apps.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// One deployed app.
    pub fn app(&self, name: &str) -> Option<Arc<AppSlot>> {
        self.apps.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(name).cloned()
    }

    fn put_app(&self, slot: Option<Arc<AppSlot>>, name: &str) -> Option<Arc<AppSlot>> {
        let mut apps = self.apps.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match slot {
            Some(slot) => apps.insert(name.to_string(), slot),
            None => apps.remove(name),
        }
    }

    /// Whether the node is draining (every request but health is `503`, health too).
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Drains: from now on every request is `503`; each app's processes are stopped (`runtime.shutdown`),
    /// then the control runtime writes and syncs `runtime.stop`.
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::Release);
        let _one = self.activating.lock().await;
        for (name, slot) in self.apps() {
            tracing::info!(app = %name, "stopping");
            slot.stop().await;
        }
        self.control.shutdown().await;
    }
}

/// Locks a mutex, recovering the data when another thread panicked while holding it (every critical section
/// leaves its state consistent).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
