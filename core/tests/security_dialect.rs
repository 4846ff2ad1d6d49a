//! The runtime side of the reference dialect's security calls, without Lua: re-registering a name its
//! holder already has is `Ok` and still decided; `scope_policies` is decided as `process.security` for the
//! scopes and lists only their policies; `can_with` passes meta as context and keeps `pid` the runtime's.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use corral_core::audit::MemoryAudit;
use corral_core::{ErrorKind, Runtime};
use corral_policy::{AttrValue, Resource};

#[path = "support/holding.rs"]
mod holding;
use holding::{Holding, settle};

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

fn node() -> (Runtime, Arc<Holding>, Arc<MemoryAudit>) {
    let entries = [("a", "process.lua"), ("b", "process.lua")];
    holding::node("secdialect", &entries, POLICIES, &["app:a", "app:b"])
}

fn decisions(audit: &MemoryAudit, action: &str) -> usize {
    audit.records().iter().filter(|r| r["kind"] == "authz.decision" && r["action"] == action).count()
}

#[tokio::test(start_paused = true)]
async fn registering_a_held_name_again_is_ok_and_decided() {
    let (runtime, holding, audit) = node();
    settle().await;
    let a = holding.process("app:a");
    let b = holding.process("app:b");
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
    let a = holding.process("app:a");
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
    let a = holding.process("app:a");
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
