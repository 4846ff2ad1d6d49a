//! Boundary class 7, "audit fails open": no effect whose record cannot reach the disk. A log that cannot be
//! written at boot stops the node before the root runs; a log that fills part way denies every later
//! decision (and says so) while every effect already allowed keeps its records; one log, one node.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use support::{copy_app, corral, root, temp, text};

fn app() -> String {
    root().join("tests/apps/spawn_many").to_str().unwrap().to_string()
}

#[test]
fn audit_fails_closed_on_dev_full_before_the_root_runs() {
    let out = corral(&["run", "--app", &app(), "--audit", "/dev/full", "app:main"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("/dev/full"), "the error names the file: {stderr}");
    assert!(stderr.contains("no process was started"), "{stderr}");
    assert!(!stderr.contains("ran"), "no child ran: {stderr}");
    assert!(out.stdout.is_empty(), "the root returned nothing: {}", text(&out.stdout));
}

#[test]
fn audit_fails_closed_for_corral_test_on_dev_full() {
    let out = corral(&["test", "--app", &app(), "--audit", "/dev/full"]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("ok"), "no test ran: {}", text(&out.stdout));
}

/// The log reaches the process's file size limit part way through 50 spawns (`ulimit -f`, with SIGXFSZ
/// ignored so a write past it would fail with EFBIG rather than kill the node).
#[test]
fn audit_fails_closed_when_the_log_fills_mid_run() {
    let dir = temp("audit-fills");
    let audit = dir.join("audit.jsonl");
    let limit_kib = 80;
    let script = format!("trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" run --app \"$1\" --audit \"$2\" app:main",);
    let out = Command::new("bash")
        .args(["-c", &script, env!("CARGO_BIN_EXE_corral"), &app(), audit.to_str().unwrap()])
        .output()
        .expect("bash runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "the root itself finishes: {stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the root's result");
    let spawned = result["spawned"].as_u64().unwrap();
    assert!(spawned > 0 && result["denied"].as_u64().unwrap() > 0, "the log fills part way: {result}");
    assert_eq!(spawned + result["denied"].as_u64().unwrap(), 50);
    assert_eq!(stderr.matches("every decision is now denied").count(), 1, "said once: {stderr}");
    assert!(stderr.contains("ulimit -f"), "{stderr}");

    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.len() as u64 <= limit_kib * 1024, "the log stays within the limit: {}", log.len());
    let records: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ran: Vec<&str> = stderr.lines().filter_map(|l| l.split("ran\t").nth(1)?.split(' ').next()).collect();
    assert_eq!(ran.len() as u64, spawned, "every allowed child ran: {stderr}");
    let spawns: Vec<&serde_json::Value> = records.iter().filter(|r| r["kind"] == "proc.spawn").collect();
    for pid in &ran {
        assert!(spawns.iter().any(|r| r["pid"] == *pid), "child {pid} ran without its proc.spawn record");
    }
    // A spawn takes two allowed decisions (`process.spawn` on the entry, `process.host` on the host), each
    // written alone or counted into an `authz.summary`; the one whose second decision met the full log was
    // denied and spawned nothing.
    let allowed = |action: &str| {
        let alone = records
            .iter()
            .filter(|r| r["kind"] == "authz.decision" && r["action"] == action && r["decision"] == "allow")
            .count();
        let counted: u64 = records
            .iter()
            .filter(|r| r["kind"] == "authz.summary" && r["action"] == action)
            .map(|r| r["count"].as_u64().unwrap())
            .sum();
        alone + counted as usize
    };
    for action in ["process.spawn", "process.host"] {
        assert!(allowed(action) >= spawns.len(), "every spawn has its allowed `{action}` decision");
    }
    assert!(allowed("process.spawn") <= spawns.len() + 1, "at most one spawn stopped between its two decisions");
    assert_eq!(records.last().unwrap()["kind"], "runtime.stop");
    let verify = corral(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

#[test]
fn audit_fails_closed_when_a_second_node_shares_the_log() {
    let dir = temp("audit-two-nodes");
    let audit = dir.join("audit.jsonl");
    let mut first = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "--app", &app(), "--audit", audit.to_str().unwrap(), "--no-watch", "app:wait"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("corral runs");
    let mut lines = BufReader::new(first.stderr.take().unwrap()).lines();
    // The first node is up once its root says so (a blocking read, not a wait).
    assert!(lines.any(|l| l.unwrap().contains("ready")), "the first node starts");
    let before = std::fs::read_to_string(&audit).unwrap();

    let second = corral(&["run", "--app", &app(), "--audit", audit.to_str().unwrap(), "app:main"]);
    first.kill().unwrap();
    first.wait().unwrap();
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(&format!("audit log `{}` is in use by another node", audit.display())), "{stderr}");
    assert!(!stderr.contains("ran"), "the second node ran nothing: {stderr}");
    let after = std::fs::read_to_string(&audit).unwrap();
    assert!(after.starts_with(&before), "the second node wrote nothing");
    let verify = corral(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

#[test]
fn corral_test_keeps_its_own_log_apart_from_corral_run() {
    let dir = copy_app("tests/apps/spawn_many", "audit-test-file");
    let out = corral(&["test", "--app", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 passed, 0 failed"), "{}", text(&out.stdout));
    assert!(dir.join("audit.test.jsonl").is_file(), "corral test writes <app>/audit.test.jsonl");
    assert!(!dir.join("audit.jsonl").exists(), "and not corral run's log");
}
