//! The node's core API (`corral serve`, issue 11): API callers decided by the node's gate, snapshots of live
//! processes, node actions, per-actor quotas shared by the runtimes of a node, and the metrics counters.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use corral_core::app::App;
use corral_core::audit::MemoryAudit;
use corral_core::gate::{ApiCaller, Gate, NodeAction};
use corral_core::limits::{Quota, Quotas};
use corral_core::process::{Exit, Process};
use corral_core::runtime::{Config, Launcher, Shared, SpawnSpec};
use corral_core::{ErrorKind, Runtime, Value};
use corral_policy::{Actor, PolicySet};
use futures_util::future::BoxFuture;
use serde_json::Value as Json;

/// Runs no Lua: `app:idle` waits until it is killed, anything else returns 1 at once.
struct Idle;

impl Launcher for Idle {
    fn launch(&self, _: &Runtime, process: Arc<Process>, _: Vec<Value>) -> BoxFuture<'static, Exit> {
        match process.entry().id.as_str() {
            "app:idle" => Box::pin(std::future::pending()),
            _ => Box::pin(async { Exit::normal(Value::Num(1.0)) }),
        }
    }
}

/// An app folder `name` with hosts `app:procs` (mailbox of 2) and entries `app:idle`, `app:quick`; its own
/// policies permit only `user:app-only`, so a decision by the app's gate would deny an API caller.
fn app(name: &str) -> PathBuf {
    // One folder per call: the tests of this file run in parallel and several build an app of the same name.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("corral-node-api-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    let mut manifest = String::from(
        "version: \"1.0\"\nnamespace: app\nentries:\n  - name: procs\n    kind: process.host\n    mailbox_size: 2\n    max_message_bytes: 64\n",
    );
    for entry in ["idle", "quick"] {
        std::fs::write(dir.join(format!("{entry}.lua")), "return { main = function() return 1 end }\n").unwrap();
        manifest.push_str(&format!("  - name: {entry}\n    kind: process.lua\n    source: file://{entry}.lua\n"));
    }
    std::fs::write(dir.join("_index.yaml"), manifest).unwrap();
    std::fs::write(
        dir.join("policies/app.cedar"),
        "@id(\"app.only\") permit (principal == Actor::\"user:app-only\", action, resource);\n",
    )
    .unwrap();
    dir
}

/// The node's policies: `node:admin` may do anything; `tenant:ops` may spawn, send and inspect app `a`'s
/// things but never terminate, and in scope `ops` also terminate.
const NODE_POLICIES: &str = r#"
@id("node.admin") permit (principal == Actor::"node:admin", action, resource);
@id("ops.work") permit (
  principal == Actor::"tenant:ops",
  action in [Action::"process.spawn", Action::"process.host", Action::"process.send", Action::"process.cancel"],
  resource
);
@id("ops.inspect") permit (principal == Actor::"tenant:ops", action == Action::"node.inspect", resource == App::"a");
@id("ops.terminate") @scope("ops") permit (principal == Actor::"tenant:ops", action == Action::"process.terminate", resource);
"#;

struct Node {
    gate: Gate,
    audit: Arc<MemoryAudit>,
    shared: Shared,
}

fn node(quotas: Option<Quotas>) -> Node {
    let audit = Arc::new(MemoryAudit::new());
    let policies = PolicySet::node_from_files(&[("node.cedar".into(), NODE_POLICIES.into())]).unwrap();
    let shared = Shared { quotas: quotas.map(Arc::new), ..Shared::default() };
    let gate = Gate::new(policies, audit.clone()).with_origin("node", 1).with_counters(shared.counters.clone());
    Node { gate, audit, shared }
}

impl Node {
    /// The runtime of app `name`, its PIDs' node part the app's name, sharing the node's audit and counters.
    fn runtime(&self, name: &str) -> Runtime {
        let dir = app(name);
        Runtime::with_shared(
            Config {
                node: name.into(),
                app: Arc::new(App::load(&dir).unwrap()),
                gate: Gate::new(PolicySet::load_dir(&dir.join("policies")).unwrap(), self.audit.clone()),
                launcher: Arc::new(Idle),
            },
            self.shared.clone(),
        )
    }
}

fn caller(actor: &str, scopes: &[&str]) -> ApiCaller {
    ApiCaller {
        actor: Arc::new(Actor::new(actor)),
        scopes: scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>().into(),
    }
}

fn idle() -> SpawnSpec {
    SpawnSpec { entry: "app:idle".into(), host: "app:procs".into(), ..SpawnSpec::default() }
}

fn decisions(audit: &MemoryAudit, action: &str) -> Vec<serde_json::Map<String, Json>> {
    audit.records().into_iter().filter(|r| r["kind"] == "authz.decision" && r["action"] == action).collect()
}

#[tokio::test]
async fn an_api_spawn_is_decided_by_the_node_gate_as_the_callers_actor_and_recorded_as_the_api() {
    let node = node(None);
    let rt = node.runtime("a");
    let (pid, _exit) = rt.api_spawn(&node.gate, &caller("tenant:ops", &[]), idle()).unwrap();
    assert_eq!(pid.node(), "a", "a PID's node part is its app");
    let info = rt.process_info(&pid.to_string()).unwrap();
    assert_eq!(info.actor.as_deref(), Some("tenant:ops"), "the process runs as the caller's actor");
    let spawns = decisions(&node.audit, "process.spawn");
    assert_eq!(spawns.len(), 1, "{spawns:?}");
    let record = &spawns[0];
    assert_eq!(record["decision"], "allow");
    assert_eq!(record["principal"], "tenant:ops");
    assert_eq!(record["pid"], Json::Null);
    assert_eq!(record["via"], "api");
    assert_eq!(record["policies"], serde_json::json!(["ops.work"]), "decided by the node's policies");
    assert_eq!(record["node"], "node");
    assert_eq!(decisions(&node.audit, "process.host").len(), 1, "process.host on the host too");
    let spawned: Vec<_> = node.audit.records().into_iter().filter(|r| r["kind"] == "proc.spawn").collect();
    assert_eq!(spawned[0]["parent"], Json::Null);

    // An actor the node's policies do not name is denied, though the app's own policies are not asked.
    let denied = rt.api_spawn(&node.gate, &caller("user:app-only", &[]), idle()).unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(denied.to_string().contains("process.spawn") && denied.to_string().contains("Entry::\"app:idle\""));
    assert!(!denied.to_string().contains("permit"), "no policy text: {denied}");
    let deny = decisions(&node.audit, "process.spawn").pop().unwrap();
    assert_eq!((deny["decision"].clone(), deny["principal"].clone()), ("deny".into(), "user:app-only".into()));
    assert_eq!(rt.live(), 1, "nothing was spawned on the deny");
    // Running the child as another actor needs process.security, which the node's policies do not grant ops.
    let disguised = SpawnSpec { actor: Some(Arc::new(Actor::new("node:admin"))), ..idle() };
    let err = rt.api_spawn(&node.gate, &caller("tenant:ops", &[]), disguised).unwrap_err();
    assert!(err.to_string().contains("process.security"), "{err}");
    assert_eq!(rt.live(), 1);
    // A monitored or linked API spawn makes no sense: there is no process to tell.
    let monitored = SpawnSpec { monitored: true, ..idle() };
    assert_eq!(rt.api_spawn(&node.gate, &caller("node:admin", &[]), monitored).unwrap_err().kind(), ErrorKind::Invalid);
    rt.shutdown().await;
}

#[tokio::test]
async fn an_api_spawn_reports_the_exit_and_its_args_are_bounded_by_the_host() {
    let node = node(None);
    let rt = node.runtime("a");
    let quick = SpawnSpec { entry: "app:quick".into(), host: "app:procs".into(), ..SpawnSpec::default() };
    let (_, exit) = rt.api_spawn(&node.gate, &caller("node:admin", &[]), quick.clone()).unwrap();
    assert_eq!(exit.await.unwrap(), Exit::normal(Value::Num(1.0)));
    let big = SpawnSpec { args: vec![Value::str(&"x".repeat(100))], ..quick };
    let err = rt.api_spawn(&node.gate, &caller("node:admin", &[]), big).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
}

#[tokio::test]
async fn an_api_send_has_no_sender_pid_and_a_full_mailbox_is_limit_exceeded() {
    let node = node(None);
    let rt = node.runtime("a");
    let (pid, _exit) = rt.api_spawn(&node.gate, &caller("node:admin", &[]), idle()).unwrap();
    let dest = pid.to_string();
    let ops = caller("tenant:ops", &[]);
    for _ in 0..2 {
        rt.api_send(&node.gate, &ops, &dest, "job", vec![Value::Num(1.0)]).unwrap();
    }
    assert_eq!(rt.process_info(&dest).unwrap().mailbox, 2);
    let full = rt.api_send(&node.gate, &ops, &dest, "job", vec![Value::Num(3.0)]).unwrap_err();
    assert_eq!(full.kind(), ErrorKind::LimitExceeded, "{full}");
    assert_eq!(rt.counters().snapshot().mailbox_overflows, 1);
    // Over the target host's size bound, and reserved topics, are refused before any decision.
    let sends = decisions(&node.audit, "process.send").len();
    let big = rt.api_send(&node.gate, &ops, &dest, "job", vec![Value::str(&"x".repeat(100))]).unwrap_err();
    assert_eq!(big.kind(), ErrorKind::LimitExceeded);
    assert_eq!(rt.api_send(&node.gate, &ops, &dest, "@exit", vec![]).unwrap_err().kind(), ErrorKind::Invalid);
    assert_eq!(decisions(&node.audit, "process.send").len(), sends);
    // A caller the node's policies do not let send is denied naming process.send.
    let denied = rt.api_send(&node.gate, &caller("user:app-only", &[]), &dest, "job", vec![]).unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(denied.to_string().contains("process.send"), "{denied}");
    // Unknown targets, and PIDs of another app, are not found: apps are separate.
    let other = node.runtime("b");
    let err = other.api_send(&node.gate, &ops, &dest, "job", vec![]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    rt.shutdown().await;
    other.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn api_cancel_and_terminate_are_decided_by_the_node_gate_with_the_tokens_scopes() {
    let node = node(None);
    let rt = node.runtime("a");
    let admin = caller("node:admin", &[]);
    let (first, first_exit) = rt.api_spawn(&node.gate, &admin, idle()).unwrap();
    let (second, second_exit) = rt.api_spawn(&node.gate, &admin, idle()).unwrap();
    // Without scope `ops`, tenant:ops may not terminate.
    let denied = rt.api_terminate(&node.gate, &caller("tenant:ops", &[]), &first.to_string()).unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(denied.to_string().contains("process.terminate"), "{denied}");
    rt.api_terminate(&node.gate, &caller("tenant:ops", &["ops"]), &first.to_string()).unwrap();
    assert_eq!(first_exit.await.unwrap().reason, corral_core::ExitReason::Terminated);
    let signal = node.audit.records().into_iter().find(|r| r["kind"] == "proc.signal").unwrap();
    assert_eq!((signal["pid"].clone(), signal["actor"].clone()), (Json::Null, "tenant:ops".into()));
    // Cancel: the CANCEL is pending, then the deadline ends it.
    rt.api_cancel(&node.gate, &caller("tenant:ops", &[]), &second.to_string(), Some(std::time::Duration::from_secs(1)))
        .unwrap();
    assert_eq!(rt.process_info(&second.to_string()).unwrap().status, "cancelling");
    assert_eq!(second_exit.await.unwrap().reason, corral_core::ExitReason::Cancelled);
    assert_eq!(rt.api_terminate(&node.gate, &admin, &second.to_string()).unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn snapshots_list_exactly_the_live_processes_with_their_actor_entry_and_host() {
    let node = node(None);
    let rt = node.runtime("a");
    assert!(rt.processes().is_empty());
    let (a, _ea) = rt.api_spawn(&node.gate, &caller("node:admin", &[]), idle()).unwrap();
    let named = SpawnSpec { name: Some("worker".into()), ..idle() };
    let (b, _eb) = rt.api_spawn(&node.gate, &caller("node:admin", &[]), named).unwrap();
    let quick = SpawnSpec { entry: "app:quick".into(), host: "app:procs".into(), ..SpawnSpec::default() };
    let (_, quick_exit) = rt.api_spawn(&node.gate, &caller("node:admin", &[]), quick).unwrap();
    quick_exit.await.unwrap();
    let list = rt.processes();
    let pids: Vec<&str> = list.iter().map(|p| p.pid.as_str()).collect();
    assert_eq!(pids, [a.to_string(), b.to_string()], "exactly the live ones, in PID order");
    for info in &list {
        assert_eq!((info.entry.as_str(), info.host.as_str()), ("app:idle", "app:procs"));
        assert_eq!(info.actor.as_deref(), Some("node:admin"));
        assert_eq!(info.status, "running");
        assert!(info.started_at.ends_with('Z') && info.started_at.len() > 20, "{}", info.started_at);
    }
    assert_eq!(list[1].names, ["worker"]);
    let by_name = rt.process_info("worker").unwrap();
    assert_eq!(by_name, list[1]);
    rt.api_send(&node.gate, &caller("node:admin", &[]), "worker", "t", vec![Value::str("hello")]).unwrap();
    let after = rt.process_info("worker").unwrap();
    assert_eq!(after.mailbox, 1);
    assert!(after.memory > by_name.memory, "the queued message is charged: {} -> {}", by_name.memory, after.memory);
    let json = serde_json::to_value(&after).unwrap();
    for key in ["pid", "entry", "host", "actor", "status", "mailbox", "memory", "compute", "started_at"] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(rt.process_info("nobody").unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(rt.live_by_host().iter().find(|(h, _)| h == "app:procs").map(|(_, n)| *n), Some(2));
    rt.shutdown().await;
    assert!(rt.processes().is_empty());
}

#[test]
fn node_actions_are_decided_and_recorded_and_a_denial_names_the_action_and_app() {
    let node = node(None);
    let ops = caller("tenant:ops", &[]);
    node.gate.decide_node(&ops, NodeAction::Inspect, "a").unwrap();
    let denied = node.gate.decide_node(&ops, NodeAction::Inspect, "b").unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    let text = denied.to_string();
    assert!(text.contains("node.inspect") && text.contains("App::\"b\""), "{text}");
    assert!(!text.contains("ops.inspect") && !text.contains("permit"), "no policy text: {text}");
    assert_eq!(node.gate.decide_node(&ops, NodeAction::Deploy, "a").unwrap_err().kind(), ErrorKind::PermissionDenied);
    node.gate.decide_node(&caller("node:admin", &[]), NodeAction::Remove, "b").unwrap();
    let inspects = decisions(&node.audit, "node.inspect");
    assert_eq!(inspects.len(), 2);
    assert_eq!(inspects[0]["resource"], "App::\"a\"");
    assert_eq!((inspects[0]["decision"].clone(), inspects[1]["decision"].clone()), ("allow".into(), "deny".into()));
    assert_eq!(inspects[1]["via"], "api");
    assert_eq!(decisions(&node.audit, "node.deploy").len(), 1);
    assert_eq!(decisions(&node.audit, "node.remove").len(), 1);
    let long = "a".repeat(300);
    assert_eq!(node.gate.decide_node(&ops, NodeAction::Inspect, &long).unwrap_err().kind(), ErrorKind::Invalid);
}

#[tokio::test]
async fn an_actors_quota_holds_across_the_runtimes_of_a_node() {
    let quotas = Quotas { default: Quota { processes: Some(2), memory: None }, ..Quotas::default() };
    let node = node(Some(quotas));
    let (a, b) = (node.runtime("a"), node.runtime("b"));
    let admin = caller("node:admin", &[]);
    let (first, _e1) = a.api_spawn(&node.gate, &admin, idle()).unwrap();
    let (_second, _e2) = b.api_spawn(&node.gate, &admin, idle()).unwrap();
    assert_eq!(a.actor_usage().held("node:admin").0, 2, "one usage for both runtimes");
    let over = a.api_spawn(&node.gate, &admin, idle()).unwrap_err();
    assert_eq!(over.kind(), ErrorKind::LimitExceeded, "{over}");
    assert!(over.to_string().contains("node:admin"));
    assert_eq!(b.api_spawn(&node.gate, &admin, idle()).unwrap_err().kind(), ErrorKind::LimitExceeded);
    // Another actor has its own quota.
    let (_ops, _e3) = b.api_spawn(&node.gate, &caller("tenant:ops", &[]), idle()).unwrap();
    // An exit in one app makes room in the other.
    a.api_terminate(&node.gate, &admin, &first.to_string()).unwrap();
    a.wait_idle().await;
    let (_third, _e4) = b.api_spawn(&node.gate, &admin, idle()).unwrap();
    a.shutdown().await;
    b.shutdown().await;
    assert_eq!(b.actor_usage().held("node:admin"), (0, 0));
}

#[tokio::test]
async fn counters_move_with_spawns_exits_messages_decisions_and_records() {
    let node = node(None);
    let (a, b) = (node.runtime("a"), node.runtime("b"));
    let before = a.counters().snapshot();
    assert_eq!(before.spawns, 0);
    let admin = caller("node:admin", &[]);
    let (pid, exit) = a.api_spawn(&node.gate, &admin, idle()).unwrap();
    let (_, _eb) = b.api_spawn(&node.gate, &admin, idle()).unwrap();
    a.api_send(&node.gate, &admin, &pid.to_string(), "t", vec![]).unwrap();
    assert!(a.api_send(&node.gate, &caller("nobody", &[]), &pid.to_string(), "t", vec![]).is_err());
    a.api_terminate(&node.gate, &admin, &pid.to_string()).unwrap();
    exit.await.unwrap();
    b.shutdown().await;
    let snap = b.counters().snapshot();
    assert_eq!(snap.spawns, 2, "both runtimes count into the node's counters");
    assert_eq!(snap.messages, 1);
    let exits = |reason: &str| snap.exits.iter().find(|(r, _)| *r == reason).map(|(_, n)| *n);
    assert_eq!((exits("terminated"), exits("shutdown"), exits("normal")), (Some(1), Some(1), Some(0)));
    let decided = |action: &str, decision: &str| {
        snap.decisions.iter().filter(|d| d.action == action && d.decision == decision).map(|d| d.count).sum::<u64>()
    };
    assert_eq!(decided("process.spawn", "allow"), 2);
    assert_eq!(decided("process.host", "allow"), 2);
    assert_eq!(decided("process.send", "allow"), 1);
    assert_eq!(decided("process.send", "deny"), 1);
    assert_eq!(decided("process.terminate", "allow"), 1);
    let all: u64 = snap.decisions.iter().map(|d| d.count).sum();
    assert_eq!(snap.decision_seconds.count, all, "every decision is in the histogram");
    // Every record written to the shared sink was counted (decisions and lifecycle events).
    assert_eq!(snap.audit_records, node.audit.records().len() as u64);
}

#[test]
fn a_node_gate_records_its_policy_load_and_reloads_its_folder_whole_or_not_at_all() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("corral-node-api-policies-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("node.cedar"), NODE_POLICIES).unwrap();
    let audit = Arc::new(MemoryAudit::new());
    let gate = Gate::new(PolicySet::load_node_dir(&dir).unwrap(), audit.clone()).with_origin("node", 7);
    gate.audit_policy_load(&dir).unwrap();
    let ops = caller("tenant:ops", &[]);
    assert!(gate.decide_node(&ops, NodeAction::Deploy, "a").is_err());
    assert!(matches!(gate.reload_node_policies(&dir), Ok(corral_core::runtime::Reload::Unchanged { .. })));
    // A bad edit is rejected and the running set stays.
    std::fs::write(dir.join("bad.cedar"), "permit (principal, action == Action::\"node.nothing\", resource);").unwrap();
    assert!(gate.reload_node_policies(&dir).is_err());
    assert!(gate.decide_node(&ops, NodeAction::Inspect, "a").is_ok());
    // A good edit replaces it.
    std::fs::write(
        dir.join("bad.cedar"),
        "@id(\"ops.deploy\") permit (principal == Actor::\"tenant:ops\", action == Action::\"node.deploy\", resource == App::\"a\");",
    )
    .unwrap();
    assert!(matches!(gate.reload_node_policies(&dir), Ok(corral_core::runtime::Reload::Replaced { .. })));
    gate.decide_node(&ops, NodeAction::Deploy, "a").unwrap();
    let kinds: Vec<String> = audit
        .records()
        .iter()
        .filter(|r| r["kind"].as_str().is_some_and(|k| k.starts_with("policy.")))
        .map(|r| format!("{}@{}", r["kind"].as_str().unwrap(), r["node"]))
        .collect();
    assert_eq!(kinds, ["policy.load@\"node\"", "policy.reject@\"node\"", "policy.reload@\"node\""]);
}

#[tokio::test(start_paused = true)]
async fn an_api_call_is_decided_as_send_and_call_by_the_node_gate_and_times_out_leaving_nothing() {
    let node = node(None);
    let runtime = node.runtime("call");
    let admin = caller("node:admin", &[]);
    let (pid, _) = runtime.api_spawn(&node.gate, &admin, idle()).unwrap();
    let dest = pid.to_string();
    // `tenant:ops` may send but the node policies give it no `process.call`.
    let err = runtime
        .api_call(&node.gate, &caller("tenant:ops", &[]), &dest, "q", vec![], Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("process.call"), "the denial names the action: {err}");
    // The admin's call reaches the process (which never answers) and times out; nothing stays pending.
    let err = runtime.api_call(&node.gate, &admin, &dest, "q", vec![], Duration::from_millis(50)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(runtime.pending_calls(), 0);
    let calls = decisions(&node.audit, "process.call");
    assert_eq!(calls.len(), 2, "one decision per call");
    assert!(calls.iter().all(|r| r["via"] == "api" && r["pid"].is_null()), "{calls:?}");
    assert_eq!(calls[0]["decision"], "deny");
    assert_eq!(calls[1]["decision"], "allow");
    runtime.shutdown().await;
}
