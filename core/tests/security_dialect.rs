//! The runtime side of the reference dialect's security calls, without Lua: re-registering a name its
//! holder already has is `Ok` and still decided; `scope_policies` is decided as `process.security` for the
//! scopes and lists only their policies; `can_with` passes meta as context and keeps `pid` the runtime's.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use corral_core::app::App;
use corral_core::audit::MemoryAudit;
use corral_core::gate::Gate;
use corral_core::process::{Exit, ExitReason, Process};
use corral_core::runtime::{Config, Launcher, RootSpec};
use corral_core::{ErrorKind, Runtime, Value};
use corral_policy::{Actor, AttrValue, PolicySet, Resource};
use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

/// Keeps each process it starts, by entry name, running until the test ends.
#[derive(Default)]
struct Holding {
    procs: Mutex<HashMap<String, Arc<Process>>>,
    ends: Mutex<Vec<oneshot::Sender<Exit>>>,
}

impl Launcher for Holding {
    fn launch(&self, _: &Runtime, process: Arc<Process>, _: Vec<Value>) -> BoxFuture<'static, Exit> {
        let (tx, rx) = oneshot::channel();
        self.procs.lock().unwrap().insert(process.entry().id.clone(), process);
        self.ends.lock().unwrap().push(tx);
        Box::pin(async move { rx.await.unwrap_or_else(|_| Exit::abnormal(ExitReason::Error, "dropped")) })
    }
}

const POLICIES: &str = r#"
@id("all-but-security")
permit (principal, action, resource) unless { action == Action::"process.security" };

@id("security-not-secret")
permit (principal, action == Action::"process.security", resource)
unless { context has scopes && context.scopes.contains("secret") };

@id("no-svc-b")
forbid (principal, action == Action::"process.registry.register", resource == Name::"svc-b");

@scope("admin")
@id("admin.one")
permit (principal, action == Action::"process.send", resource);

@scope("secret")
@id("secret.one")
permit (principal, action == Action::"process.send", resource);

@scope("admin")
@id("admin.two")
permit (principal, action == Action::"process.link", resource);
"#;

fn app() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("corral-core-secdialect-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    let mut manifest =
        String::from("version: \"1.0\"\nnamespace: app\nentries:\n  - name: procs\n    kind: process.host\n");
    for name in ["a", "b"] {
        std::fs::write(dir.join(format!("{name}.lua")), "return { main = function() return 1 end }\n").unwrap();
        manifest.push_str(&format!("  - name: {name}\n    kind: process.lua\n    source: file://{name}.lua\n"));
    }
    std::fs::write(dir.join("_index.yaml"), manifest).unwrap();
    std::fs::write(dir.join("policies/all.cedar"), POLICIES).unwrap();
    dir
}

fn node() -> (Runtime, Arc<Holding>, Arc<MemoryAudit>) {
    let dir = app();
    let audit = Arc::new(MemoryAudit::new());
    let holding = Arc::new(Holding::default());
    let runtime = Runtime::new(Config {
        node: "test".into(),
        app: Arc::new(App::load(&dir).unwrap()),
        gate: Gate::new(PolicySet::load_dir(&dir.join("policies")).unwrap(), audit.clone()),
        launcher: holding.clone(),
    });
    for entry in ["app:a", "app:b"] {
        let spec = RootSpec {
            entry: entry.into(),
            host: "app:procs".into(),
            args: vec![],
            actor: Some(Arc::new(Actor::new("user:root"))),
            scopes: vec![],
        };
        runtime.start_root(spec).unwrap();
    }
    (runtime, holding, audit)
}

async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

fn decisions(audit: &MemoryAudit, action: &str) -> usize {
    audit.records().iter().filter(|r| r["kind"] == "authz.decision" && r["action"] == action).count()
}

#[tokio::test(start_paused = true)]
async fn registering_a_held_name_again_is_ok_and_decided() {
    let (runtime, holding, audit) = node();
    settle().await;
    let a = holding.procs.lock().unwrap()["app:a"].clone();
    let b = holding.procs.lock().unwrap()["app:b"].clone();
    runtime.register(&a, "svc", None).unwrap();
    let before = decisions(&audit, "process.registry.register");
    runtime.register(&a, "svc", None).unwrap();
    runtime.register(&a, "svc", Some(&a.pid().to_string())).unwrap();
    assert_eq!(decisions(&audit, "process.registry.register"), before + 2, "each register is decided");
    let taken = runtime.register(&b, "svc", None).unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists, "another process is refused");
    assert_eq!(runtime.lookup("svc").unwrap(), *a.pid());
    // The decision still comes first: a register the policies forbid is denied.
    let held = runtime.register(&a, "svc-b", None).unwrap_err();
    assert_eq!(held.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test(start_paused = true)]
async fn scope_policies_are_decided_and_list_only_the_scopes_policies() {
    let (runtime, holding, audit) = node();
    settle().await;
    let a = holding.procs.lock().unwrap()["app:a"].clone();
    let admin = runtime.scope_policies(&a, &["admin".to_string()]).unwrap();
    assert_eq!(admin, vec!["admin.one".to_string(), "admin.two".to_string()]);
    assert!(runtime.scope_policies(&a, &[]).unwrap().is_empty(), "unscoped policies are in no scope");
    let denied = runtime.scope_policies(&a, &["admin".to_string(), "secret".to_string()]).unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(denied.to_string().contains("process.security"), "{denied}");
    let records = audit.records();
    let last = records.iter().rev().find(|r| r["action"] == "process.security").expect("recorded");
    assert_eq!(last["decision"], "deny", "{last:?}");
}

#[tokio::test(start_paused = true)]
async fn can_with_keeps_pid_the_runtimes() {
    let (runtime, holding, _audit) = node();
    settle().await;
    let a = holding.procs.lock().unwrap()["app:a"].clone();
    let resource = Resource::Name { name: "x".into() };
    let mut meta = BTreeMap::new();
    meta.insert("pid".to_string(), AttrValue::Str("{forged@1|app:procs|1}".into()));
    let forged = runtime.can_with(&a, "process.registry.register", &resource, meta).unwrap_err();
    assert_eq!(forged.kind(), ErrorKind::Invalid);
    let mut long = BTreeMap::new();
    long.insert("k".repeat(300), AttrValue::Bool(true));
    assert_eq!(
        runtime.can_with(&a, "process.registry.register", &resource, long).unwrap_err().kind(),
        ErrorKind::Invalid
    );
    let mut fine = BTreeMap::new();
    fine.insert("undeclared".to_string(), AttrValue::Bool(true));
    assert!(runtime.can_with(&a, "process.registry.register", &resource, fine).unwrap(), "undeclared keys are dropped");
}
