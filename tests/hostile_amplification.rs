//! Boundary class 8, "audit amplification": a tenant's audit volume is proportional to what it is allowed to
//! do. 10 000 monitors of one dead PID and 300 calls with a 4 MiB string used to write hundreds of megabytes;
//! now the repeats are neither decided nor recorded, and the strings are refused before any decision.

mod support;

use support::{corral, root, temp, text};

#[test]
fn audit_amplification_a_flood_of_repeats_and_huge_strings_writes_a_few_records() {
    let dir = temp("amplify");
    let audit = dir.join("audit.jsonl");
    let app = root().join("tests/apps/amplify");
    let out = corral(&["run", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the root's result");
    assert_eq!(result["exits"], 1, "one noproc EXIT for 10 000 monitors of one dead PID");
    assert_eq!(result["refusals"], serde_json::json!(["INVALID/INVALID/INVALID"]), "every long string refused");
    let log = std::fs::read_to_string(&audit).expect("the log");
    let monitors = log.lines().filter(|l| l.contains(r#""action":"process.monitor""#)).count();
    assert_eq!(monitors, 1, "one monitor decision, not 10 000");
    assert!(!log.contains("aaaaaaaa"), "no record carries the 4 MiB string");
    assert!(log.len() < 64 * 1024, "the whole log is small: {} bytes", log.len());
}
