//! What the sandbox's integration tests share: a node over an app written to a temp folder, every action
//! allowed, records dropped.
#![allow(dead_code, clippy::unwrap_used, reason = "each test crate uses a part; a broken fixture should stop the test")]

use std::path::Path;
use std::sync::Arc;

use corral_core::Runtime;
use corral_core::app::App;
use corral_core::audit::NullAudit;
use corral_core::gate::Gate;
use corral_core::runtime::{Config, Launcher};
use corral_policy::PolicySet;
use corral_sandbox::Sandbox;

/// A node named `name` over an app of `manifest` (`_index.yaml`) and `files` (name, text), in a fresh temp
/// folder, run by `launcher` (the sandbox when `None`) under a policy that allows everything.
pub fn node(name: &str, manifest: &str, files: &[(&str, &str)], launcher: Option<Arc<dyn Launcher>>) -> Runtime {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("_index.yaml"), manifest).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    let app = Arc::new(App::load(&dir).unwrap());
    let policies = PolicySet::from_files(&[("all.cedar".into(), "permit (principal, action, resource);".into())]);
    Runtime::new(Config {
        node: name.into(),
        app,
        gate: Gate::new(policies.unwrap(), Arc::new(NullAudit)),
        launcher: launcher.unwrap_or_else(|| Arc::new(Sandbox::new(false))),
    })
}

/// Runs `entry` on `host` as a root process of `actor` with no arguments and gives what it returned.
/// Panics when it does not return a value (the test's failure).
pub async fn run_root(runtime: &Runtime, entry: &str, host: &str, actor: &str) -> corral_core::value::Value {
    let root = corral_core::runtime::RootSpec {
        entry: entry.into(),
        host: host.into(),
        args: Vec::new(),
        actor: Some(Arc::new(corral_policy::Actor::new(actor))),
        scopes: Vec::new(),
    };
    let (_, exit) = runtime.start_root(root).unwrap();
    exit.await.unwrap().result.unwrap_or_else(|e| panic!("{entry} returns nothing: {e}"))
}
