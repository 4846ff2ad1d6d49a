//! Reloading policies while serving: the cache is invalidated by a reload, a bad edit keeps the running set,
//! and the folder watcher swaps a new set in.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use corral_core::app::App;
use corral_core::audit::MemoryAudit;
use corral_core::gate::{Caller, Gate, Operation, Target};
use corral_core::pid::Pid;
use corral_core::process::{Exit, Process};
use corral_core::runtime::{Config, Launcher, Reload};
use corral_core::{Runtime, Value};
use corral_policy::{Actor, PolicySet};
use futures_util::future::BoxFuture;
use serde_json::Value as Json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ALLOW: &str = r#"@id("send-all") permit (principal, action == Action::"process.send", resource);"#;
const DENY: &str = r#"@id("send-none") forbid (principal, action == Action::"process.send", resource);"#;

/// A scratch folder under the system's temp dir, removed first so a rerun starts clean.
fn scratch(name: &str) -> Result<PathBuf, std::io::Error> {
    let dir = std::env::temp_dir().join(format!("corral-reload-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies"))?;
    std::fs::write(dir.join("_index.yaml"), "version: \"1.0\"\nnamespace: app\nentries: []\n")?;
    Ok(dir)
}

/// Replaces `file` in one rename, as an editor's atomic save does.
fn write(dir: &Path, file: &str, text: &str) -> Result<(), std::io::Error> {
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, dir.join(file))
}

struct NoScripts;

impl Launcher for NoScripts {
    fn launch(&self, _: &Runtime, _: Arc<Process>, _: Vec<Value>) -> BoxFuture<'static, Exit> {
        Box::pin(async { Exit::normal(Value::Nil) })
    }
}

fn node(root: &Path, audit: Arc<MemoryAudit>) -> Result<Runtime, Box<dyn std::error::Error>> {
    let policies = PolicySet::load_dir(&root.join("policies"))?;
    Ok(Runtime::new(Config {
        node: "test".into(),
        app: Arc::new(App::load(root)?),
        gate: Gate::new(policies, audit),
        launcher: Arc::new(NoScripts),
    }))
}

fn caller() -> Caller {
    Caller { pid: None, entry: None, actor: Some(Arc::new(Actor::new("user:alice"))), scopes: Arc::from(vec![]) }
}

fn target() -> Result<Target, Box<dyn std::error::Error>> {
    Ok(Target { pid: Pid::parse("{test@1|app:host|7}")?, entry: "app:worker".into(), actor: "user:bob".into() })
}

fn kinds(audit: &MemoryAudit, kind: &str) -> Vec<serde_json::Map<String, Json>> {
    audit.records().into_iter().filter(|r| r["kind"] == kind).collect()
}

#[test]
fn a_cached_allow_is_denied_right_after_a_reload_that_forbids_it() -> TestResult {
    let root = scratch("cache")?;
    write(&root.join("policies"), "p.cedar", ALLOW)?;
    let audit = Arc::new(MemoryAudit::new());
    let node = node(&root, Arc::clone(&audit))?;
    let target = target()?;
    let send = Operation::Send { target: &target, topic: "jobs", bytes: 0 };
    let _permit = node.gate().check(&caller(), send)?;
    let _permit = node.gate().check(&caller(), send)?;
    let decisions = kinds(&audit, "authz.decision");
    assert_eq!(decisions.iter().map(|d| d["cached"].clone()).collect::<Vec<_>>(), [false, true]);

    write(&root.join("policies"), "p.cedar", DENY)?;
    let reload = node.reload_policies(&root.join("policies"))?;
    assert!(matches!(reload, Reload::Replaced { .. }), "{reload:?}");
    let denied = node.gate().check(&caller(), send).expect_err("the new set forbids sending");
    assert!(denied.to_string().contains("process.send"), "{denied}");
    let last = kinds(&audit, "authz.decision").pop().ok_or("no decision recorded")?;
    assert_eq!(last["decision"], "deny");
    assert_eq!(last["cached"], false);
    assert_eq!(last["policies"], serde_json::json!(["send-none"]));
    assert_eq!(last["revision"], Json::from(node.gate().policies().revision()));
    Ok(())
}

#[test]
fn a_bad_edit_keeps_the_running_set_and_is_recorded() -> TestResult {
    let root = scratch("bad-edit")?;
    write(&root.join("policies"), "p.cedar", ALLOW)?;
    let audit = Arc::new(MemoryAudit::new());
    let node = node(&root, Arc::clone(&audit))?;
    let running = node.gate().policies().revision().to_owned();

    write(&root.join("policies"), "p.cedar", "permit (principal, action == Action::\"process.snd\", resource);")?;
    let error = node.reload_policies(&root.join("policies")).expect_err("the edit does not validate");
    assert!(error.to_string().contains("p.cedar"), "{error}");
    assert_eq!(node.gate().policies().revision(), running);
    let target = target()?;
    let _permit = node.gate().check(&caller(), Operation::Send { target: &target, topic: "t", bytes: 0 })?;
    let rejects = kinds(&audit, "policy.reject");
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["revision"], Json::from(running));
    assert!(rejects[0]["problems"].to_string().contains("p.cedar"), "{:?}", rejects[0]);
    assert!(kinds(&audit, "policy.reload").is_empty());
    Ok(())
}

#[test]
fn a_reload_that_fails_the_folders_own_policy_tests_is_rejected_like_a_bad_edit() -> TestResult {
    let root = scratch("tests")?;
    let policies = root.join("policies");
    write(&policies, "p.cedar", ALLOW)?;
    std::fs::create_dir_all(policies.join("tests"))?;
    let table = "- {name: alice sends, principal: user:alice, action: process.send, expect: allow,\n   \
                 resource: {process: \"{n@1|app:procs|2}\", entry: \"app:w\", host: \"app:procs\", actor: user:bob}}\n";
    write(&policies.join("tests"), "decisions.yaml", table)?;
    let audit = Arc::new(MemoryAudit::new());
    let node = node(&root, Arc::clone(&audit))?;
    let running = node.gate().policies().revision().to_owned();
    // A valid edit that breaks the folder's decision table: not swapped in.
    write(&policies, "p.cedar", DENY)?;
    let error = node.reload_policies(&policies).expect_err("the decision table fails");
    let text = error.to_string();
    assert!(text.contains("decisions.yaml:1") && text.contains("alice sends"), "names the test: {text}");
    assert_eq!(node.gate().policies().revision(), running, "the running set stays");
    assert_eq!(kinds(&audit, "policy.reject").len(), 1);
    // Fixing the table too makes the same edit go through.
    write(&policies.join("tests"), "decisions.yaml", &table.replace("expect: allow", "expect: deny"))?;
    assert!(matches!(node.reload_policies(&policies)?, Reload::Replaced { .. }));
    Ok(())
}

#[test]
fn reloading_the_same_files_changes_nothing() -> TestResult {
    let root = scratch("same")?;
    write(&root.join("policies"), "p.cedar", ALLOW)?;
    let audit = Arc::new(MemoryAudit::new());
    let node = node(&root, Arc::clone(&audit))?;
    let reload = node.reload_policies(&root.join("policies"))?;
    assert_eq!(reload, Reload::Unchanged { revision: node.gate().policies().revision().to_owned() });
    assert!(kinds(&audit, "policy.reload").is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_swaps_in_an_edited_folder() -> TestResult {
    let root = scratch("watch")?;
    let dir = root.join("policies");
    write(&dir, "p.cedar", ALLOW)?;
    let audit = Arc::new(MemoryAudit::new());
    let node = node(&root, Arc::clone(&audit))?;
    let before = node.gate().policies().revision().to_owned();
    let _watcher = node.watch_policies(&dir, Duration::from_millis(20))?;
    write(&dir, "p.cedar", DENY)?;
    // The file system tells the watcher; wait for the record it writes (bounded, so a lost event fails).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while kinds(&audit, "policy.reload").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no reload within 20 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reload = &kinds(&audit, "policy.reload")[0];
    assert_eq!(reload["previous"], Json::from(before));
    assert_eq!(reload["revision"], Json::from(node.gate().policies().revision()));
    assert_eq!(node.gate().policies().policy_ids(), ["send-none"]);
    Ok(())
}
