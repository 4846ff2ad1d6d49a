//! Issue 9, class 2: a panic anywhere in a process's task ends that process with reason `internal` (its exit
//! is delivered and audited like any other) and the node keeps serving and can shut down.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use corral_core::app::App;
use corral_core::audit::MemoryAudit;
use corral_core::gate::Gate;
use corral_core::process::{Exit, ExitReason, Process};
use corral_core::runtime::{Config, Launcher, RootSpec};
use corral_core::{Runtime, Value};
use corral_policy::{Actor, PolicySet};
use futures_util::future::BoxFuture;

/// Panics in `launch` for `app:boom_now`, inside the future for `app:boom_later`, and runs `app:fine` normally.
struct Panicky;

impl Launcher for Panicky {
    fn launch(&self, _: &Runtime, process: Arc<Process>, _: Vec<Value>) -> BoxFuture<'static, Exit> {
        match process.entry().id.as_str() {
            "app:boom_now" => panic!("injected: launch"),
            "app:boom_later" => Box::pin(async {
                tokio::task::yield_now().await;
                panic!("injected: {}", "inside the future")
            }),
            _ => Box::pin(async { Exit::normal(Value::Num(7.0)) }),
        }
    }
}

fn app() -> PathBuf {
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("corral-task-panic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    let mut manifest =
        String::from("version: \"1.0\"\nnamespace: app\nentries:\n  - name: procs\n    kind: process.host\n");
    for name in ["boom_now", "boom_later", "fine"] {
        std::fs::write(dir.join(format!("{name}.lua")), "return { main = function() return 1 end }\n").unwrap();
        manifest.push_str(&format!("  - name: {name}\n    kind: process.lua\n    source: file://{name}.lua\n"));
    }
    std::fs::write(dir.join("_index.yaml"), manifest).unwrap();
    std::fs::write(dir.join("policies/all.cedar"), "@id(\"all\") permit (principal, action, resource);\n").unwrap();
    dir
}

fn root(entry: &str) -> RootSpec {
    RootSpec {
        entry: entry.into(),
        host: "app:procs".into(),
        args: vec![],
        actor: Some(Arc::new(Actor::new("user:root"))),
        scopes: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_process_task_ends_with_reason_internal_and_the_node_keeps_serving() {
    let dir = app();
    let audit = Arc::new(MemoryAudit::new());
    let node = Runtime::new(Config {
        node: "test".into(),
        app: Arc::new(App::load(&dir).unwrap()),
        gate: Gate::new(PolicySet::load_dir(&dir.join("policies")).unwrap(), audit.clone()),
        launcher: Arc::new(Panicky),
    });
    for (entry, why) in [("app:boom_now", "injected: launch"), ("app:boom_later", "injected: inside the future")] {
        let (_, exit) = node.start_root(root(entry)).unwrap();
        let exit = exit.await.unwrap();
        assert_eq!(exit.reason, ExitReason::Internal, "{entry}: {exit:?}");
        let text = exit.result.unwrap_err();
        assert!(text.starts_with("internal: ") && text.contains(why), "{entry}: {text}");
    }
    // The node still serves: a well-behaved process runs to its normal end.
    let (_, exit) = node.start_root(root("app:fine")).unwrap();
    assert_eq!(exit.await.unwrap(), Exit::normal(Value::Num(7.0)));
    assert_eq!(node.live(), 0, "no panicked process stays in the table");
    let exits: Vec<_> = audit.records().into_iter().filter(|r| r["kind"] == "proc.exit").collect();
    let reasons: Vec<_> = exits.iter().map(|r| r["reason"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(reasons, ["internal", "internal", "normal"], "each exit is audited");
    node.shutdown().await;
    assert!(audit.records().iter().any(|r| r["kind"] == "runtime.stop"), "the node shuts down");
}
