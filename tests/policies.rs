//! The example policy sets in `policies/`: each loads, its decision table passes, and the tables cover every
//! action of the policy model, with an allow and a deny for each across the sets.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use corral_policy::PolicySet;
use corral_policy::testing::load_tests;
use support::{copy_app, corral, temp};

/// The actions of `policy-model.md` (the last three those of the reference dialect).
const ACTIONS: [&str; 21] = [
    "process.spawn",
    "process.spawn.monitored",
    "process.spawn.linked",
    "process.host",
    "process.exec",
    "process.send",
    "process.terminate",
    "process.cancel",
    "process.monitor",
    "process.unmonitor",
    "process.link",
    "process.unlink",
    "process.context",
    "process.security",
    "process.registry.register",
    "process.registry.unregister",
    "process.upgrade",
    "process.call",
    "funcs.call",
    "events.send",
    "events.subscribe",
];

fn sets() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut sets: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("policies/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    sets
}

#[test]
fn every_example_set_passes_its_decision_table() {
    let sets = sets();
    let names: Vec<String> = sets.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into()).collect();
    assert_eq!(names, ["base", "observer", "operator", "tenant-isolation"]);
    // action -> the answers seen for it across all sets
    let mut seen: BTreeMap<&str, BTreeSet<bool>> = BTreeMap::new();
    for dir in &sets {
        let set = PolicySet::load_dir(dir).unwrap_or_else(|e| panic!("{} does not load: {e}", dir.display()));
        let tests = load_tests(dir).unwrap_or_else(|e| panic!("the tests of {} do not load: {e}", dir.display()));
        let mut actions = BTreeSet::new();
        for test in &tests {
            let outcome = test.run(&set);
            assert!(outcome.failure.is_none(), "{}: {outcome}", dir.display());
            let action = ACTIONS.iter().find(|a| **a == test.action).copied();
            let action = action.unwrap_or_else(|| panic!("{}: unknown action in {}", dir.display(), test.name));
            actions.insert(action);
            seen.entry(action).or_default().insert(test.expect_allow);
        }
        let missing: Vec<&str> = ACTIONS.iter().copied().filter(|a| !actions.contains(a)).collect();
        assert!(missing.is_empty(), "{}'s table has no case for {missing:?}", dir.display());
        assert!(tests.iter().any(|t| t.expect_allow) && tests.iter().any(|t| !t.expect_allow));
    }
    for action in ACTIONS {
        assert_eq!(seen.get(action), Some(&BTreeSet::from([false, true])), "{action}: an allow and a deny");
    }
}

#[test]
fn a_wrong_expectation_fails_with_the_file_line_and_decision() {
    let dir = temp("policy-test");
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    std::fs::write(
        dir.join("p.cedar"),
        "@id(\"ctx\") permit (principal, action == Action::\"process.context\", resource);",
    )
    .expect("write");
    std::fs::write(
        dir.join("tests/t.yaml"),
        "- {name: allowed, principal: a, action: process.context, resource: {capability: context}, expect: allow}\n\
         - {name: wrong, principal: a, action: process.context, resource: {capability: context}, expect: deny}\n\
         - {name: wrong ids, principal: a, action: process.context, resource: {capability: context}, expect: allow, policies: [x]}\n",
    )
    .expect("write");
    let out = corral(&["policy", "test", "--policies", dir.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "ok   allowed");
    assert!(lines[1].starts_with("FAIL wrong (") && lines[1].contains("t.yaml:2)"), "{}", lines[1]);
    assert!(lines[1].contains("expected deny, got allow (policies [\"ctx\"]"), "{}", lines[1]);
    assert!(lines[2].contains("allow as expected, but by policies [\"ctx\"], not [\"x\"]"), "{}", lines[2]);
    assert_eq!(lines[3], "1 passed, 2 failed");

    // A malformed case names its file and line, and exits 2.
    std::fs::write(
        dir.join("tests/t.yaml"),
        "- {name: bad, principal: a, action: process.context, resource: {}, expect: allow}\n",
    )
    .expect("write");
    let out = corral(&["policy", "test", "--policies", dir.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("t.yaml:1") && stderr.contains("a resource is"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_reports_scopes_no_process_selects_and_failing_policy_tests_together() {
    let app = copy_app("examples/echo", "policies-check");
    std::fs::write(
        app.join("policies/typo.cedar"),
        "@id(\"typo\")\n@scope(\"tenant_acm\")\npermit (principal, action == Action::\"process.context\", resource);\n",
    )
    .expect("write");
    std::fs::create_dir_all(app.join("policies/tests")).expect("mkdir");
    std::fs::write(
        app.join("policies/tests/t.yaml"),
        "- {name: operator reads context, principal: user:operator, action: process.context, resource: {capability: context}, expect: allow}\n",
    )
    .expect("write");
    let out = corral(&["check", "--app", app.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("typo.cedar:1: policy `typo`: no process can select @scope(\"tenant_acm\")"), "{stdout}");
    assert!(stdout.contains("FAIL operator reads context") && stdout.contains("t.yaml:1"), "{stdout}");
    assert!(stdout.contains("2 problem(s)"), "{stdout}");
    let _ = std::fs::remove_dir_all(&app);
}

#[test]
fn debug_logs_name_the_deciding_policies() {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/echo");
    let audit = std::env::temp_dir().join(format!("corral-policies-{}-debug.jsonl", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "--no-watch", "--app", app.to_str().expect("utf-8"), "--audit", audit.to_str().expect("utf-8")])
        .arg("app:main")
        .env("RUST_LOG", "corral=debug")
        .output()
        .expect("corral runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let decisions: Vec<&str> = stderr.lines().filter(|l| l.contains("decision")).collect();
    assert!(decisions.iter().any(|l| l.contains("process.spawn") && l.contains("echo.spawn")), "{stderr}");
    assert!(decisions.iter().any(|l| l.contains("process.send") && l.contains("echo.send")), "{stderr}");
    let _ = std::fs::remove_file(&audit);
}
