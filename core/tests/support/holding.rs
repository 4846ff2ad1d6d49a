//! A node for core's tests that run processes without Lua: each process's code waits until the test ends
//! it. Shared by `call.rs`, `events_funcs.rs` and `security_dialect.rs` (through `#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use corral_core::app::App;
use corral_core::audit::MemoryAudit;
use corral_core::gate::Gate;
use corral_core::process::{Exit, ExitReason, Process};
use corral_core::runtime::{Config, Launcher, RootSpec};
use corral_core::{Runtime, Value};
use corral_policy::{Actor, PolicySet};
use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

/// Keeps each process it starts, by entry name, and ends it with the exit the test sends.
#[derive(Default)]
pub struct Holding {
    procs: Mutex<HashMap<String, Arc<Process>>>,
    ends: Mutex<HashMap<String, oneshot::Sender<Exit>>>,
}

impl Launcher for Holding {
    fn launch(&self, _: &Runtime, process: Arc<Process>, _: Vec<Value>) -> BoxFuture<'static, Exit> {
        let name = process.entry().id.clone();
        let (tx, rx) = oneshot::channel();
        self.procs.lock().unwrap().insert(name.clone(), process);
        self.ends.lock().unwrap().insert(name, tx);
        Box::pin(async move { rx.await.unwrap_or_else(|_| Exit::abnormal(ExitReason::Error, "dropped")) })
    }
}

impl Holding {
    pub fn process(&self, entry: &str) -> Arc<Process> {
        self.procs.lock().unwrap().get(entry).cloned().expect("started")
    }

    pub fn end(&self, entry: &str, exit: Exit) {
        let tx = self.ends.lock().unwrap().remove(entry).expect("running");
        tx.send(exit).unwrap();
    }
}

/// A node over an app of host `app:procs` and `entries` (name, kind), in a fresh temp folder named after `tag`
/// (one folder per node: tests run in parallel), with `policy` as its one policy file; the `roots` start as
/// `user:root` and run until ended.
pub fn node(
    tag: &str,
    entries: &[(&str, &str)],
    policy: &str,
    roots: &[&str],
) -> (Runtime, Arc<Holding>, Arc<MemoryAudit>) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("corral-core-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    let mut manifest =
        String::from("version: \"1.0\"\nnamespace: app\nentries:\n  - name: procs\n    kind: process.host\n");
    for (name, kind) in entries {
        std::fs::write(dir.join(format!("{name}.lua")), "return { main = function() return 1 end }\n").unwrap();
        manifest.push_str(&format!("  - name: {name}\n    kind: {kind}\n    source: file://{name}.lua\n"));
    }
    std::fs::write(dir.join("_index.yaml"), manifest).unwrap();
    std::fs::write(dir.join("policies/all.cedar"), policy).unwrap();
    let audit = Arc::new(MemoryAudit::new());
    let holding = Arc::new(Holding::default());
    let runtime = Runtime::new(Config {
        node: "test".into(),
        app: Arc::new(App::load(&dir).unwrap()),
        gate: Gate::new(PolicySet::load_dir(&dir.join("policies")).unwrap(), audit.clone()),
        launcher: holding.clone(),
    });
    for entry in roots {
        let spec = RootSpec {
            entry: (*entry).into(),
            host: "app:procs".into(),
            args: vec![],
            actor: Some(Arc::new(Actor::new("user:root"))),
            scopes: vec![],
        };
        runtime.start_root(spec).unwrap();
    }
    // The app and the policies are loaded: the folder is not read again, and is not left behind.
    let _ = std::fs::remove_dir_all(&dir);
    (runtime, holding, audit)
}

/// Lets the started processes' tasks run their launchers.
pub async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}
