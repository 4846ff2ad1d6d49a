//! `corral audit show` filters by action, target and time, and `--pid` matches a decision's target as well as
//! its caller.

mod support;

use serde_json::Value as Json;
use support::{corral, root, temp, text};

/// The echo example's audit log (root, one worker, sends both ways) and its records.
fn log(name: &str) -> (std::path::PathBuf, Vec<Json>) {
    let dir = temp(name);
    let audit = dir.join("audit.jsonl");
    let app = root().join("examples/echo");
    let out = corral(&["run", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let records = std::fs::read_to_string(&audit).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (audit, records)
}

/// `corral audit show FILE ARGS... --format json`: the records printed.
fn show(audit: &std::path::Path, args: &[&str]) -> Vec<Json> {
    let mut all = vec!["audit", "show", audit.to_str().unwrap(), "--format", "json"];
    all.extend(args);
    let out = corral(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn seqs(records: &[Json]) -> Vec<u64> {
    records.iter().map(|r| r["seq"].as_u64().unwrap()).collect()
}

#[test]
fn pid_matches_a_decision_made_on_the_process_as_well_as_by_it() {
    let (audit, records) = log("show-pid");
    let worker = records
        .iter()
        .find(|r| r["kind"] == "proc.spawn" && r["entry"] == "app:echo_worker")
        .and_then(|r| r["pid"].as_str())
        .unwrap()
        .to_string();
    let shown = show(&audit, &["--pid", &worker]);
    let on_it = format!("Process::\"{worker}\"");
    assert!(shown.iter().any(|r| r["resource"] == on_it.as_str() && r["pid"] != worker.as_str()), "{shown:?}");
    assert!(shown.iter().any(|r| r["kind"] == "authz.decision" && r["pid"] == worker.as_str()), "{shown:?}");
    let expected: Vec<u64> = records
        .iter()
        .filter(|r| {
            ["pid", "target", "parent", "from"].iter().any(|f| r[*f] == worker.as_str())
                || r["resource"] == on_it.as_str()
        })
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs(&shown), expected);
}

#[test]
fn action_is_exact_or_a_prefix() {
    let (audit, records) = log("show-action");
    let sends = show(&audit, &["--action", "process.send"]);
    assert!(sends.len() >= 2, "{sends:?}");
    assert!(sends.iter().all(|r| r["action"] == "process.send"), "{sends:?}");
    let spawns_and_sends = show(&audit, &["--action", "process.s*"]);
    let expected = records.iter().filter(|r| r["action"].as_str().is_some_and(|a| a.starts_with("process.s"))).count();
    assert_eq!(spawns_and_sends.len(), expected);
    assert!(spawns_and_sends.iter().any(|r| r["action"] == "process.spawn"), "{spawns_and_sends:?}");
    assert!(show(&audit, &["--action", "process.nothing"]).is_empty());
}

#[test]
fn target_matches_a_resource_by_its_id_or_a_target_entry() {
    let (audit, _) = log("show-target");
    let shown = show(&audit, &["--target", "app:echo_worker"]);
    assert!(shown.iter().any(|r| r["action"] == "process.spawn" && r["resource"] == "Entry::\"app:echo_worker\""));
    assert!(shown.iter().any(|r| r["action"] == "process.send" && r["target_entry"] == "app:echo_worker"));
    assert!(
        shown.iter().all(|r| r["resource"] == "Entry::\"app:echo_worker\"" || r["target_entry"] == "app:echo_worker")
    );
    let full = show(&audit, &["--target", "Entry::\"app:echo_worker\""]);
    assert_eq!(full.len(), 1, "{full:?}");
}

#[test]
fn since_and_until_bound_the_time() {
    let (audit, records) = log("show-time");
    let middle = &records[records.len() / 2];
    let at = middle["ts"].as_str().unwrap();
    let since = show(&audit, &["--since", at]);
    let until = show(&audit, &["--until", at]);
    let time = |r: &Json| {
        time::OffsetDateTime::parse(r["ts"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert!(since.iter().all(|r| time(r) >= time(middle)), "{since:?}");
    assert!(until.iter().all(|r| time(r) <= time(middle)), "{until:?}");
    assert!(since.len() < records.len() && until.len() < records.len());
    assert!(seqs(&since).contains(&middle["seq"].as_u64().unwrap()));
    assert!(seqs(&until).contains(&middle["seq"].as_u64().unwrap()));
    assert!(show(&audit, &["--until", "2000-01-01T00:00:00Z"]).is_empty());
    assert_eq!(show(&audit, &["--since", "2000-01-01T00:00:00+02:00"]).len(), records.len());
}

#[test]
fn a_time_that_is_not_rfc_3339_is_bad_input_naming_it() {
    let (audit, _) = log("show-bad-time");
    let out = corral(&["audit", "show", audit.to_str().unwrap(), "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`yesterday` is not an RFC 3339 time"), "{}", text(&out.stderr));
}
