//! `corral test`: each test in a runtime of its own (a test's processes and names never reach the next), and
//! its verdicts as text, JSON lines or JUnit XML.

mod support;

use support::{corral, root, temp, text};

/// `corral test` on the isolation app with `extra` arguments: exit status and stdout.
fn run(name: &str, extra: &[&str]) -> (Option<i32>, String) {
    let dir = temp(name);
    let audit = dir.join("audit.test.jsonl");
    let app = root().join("tests/apps/test_isolation");
    let mut args = vec!["test", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap()];
    args.extend(extra);
    let out = corral(&args);
    let verify = corral(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
    (out.status.code(), text(&out.stdout))
}

#[test]
fn a_tests_process_and_name_do_not_reach_the_next_test() {
    let (code, out) = run("test-isolation", &["s_"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok   app:a_leaves_a_process_and_a_name"), "{out}");
    assert!(out.contains("ok   app:b_sees_neither"), "the name leaked: {out}");
    assert!(out.trim_end().ends_with("2 passed, 0 failed"), "{out}");
}

#[test]
fn json_gives_one_object_per_test_and_the_counts() {
    let (code, out) = run("test-json", &["--format", "json"]);
    assert_eq!(code, Some(1), "{out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0]["test"], "app:a_leaves_a_process_and_a_name");
    assert_eq!(lines[0]["ok"], true);
    assert!(lines[0]["error"].is_null());
    assert_eq!(lines[2]["test"], "app:c_markup_fails");
    assert_eq!(lines[2]["ok"], false);
    assert_eq!(lines[2]["error"], "<failure> & \"quotes\" ]]> in a message");
    assert!(lines[2]["duration_ms"].is_u64());
    assert_eq!(lines[3], serde_json::json!({"passed": 2, "failed": 1}));
}

#[test]
fn junit_is_well_formed_xml_with_the_failure_message_escaped() {
    let (code, out) = run("test-junit", &["--format", "junit"]);
    assert_eq!(code, Some(1), "{out}");
    let report = quick_junit::Report::deserialize_from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(report.tests, 3);
    assert_eq!(report.failures, 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "test_isolation");
    let failed = suite.test_cases.iter().find(|c| c.name.as_str() == "app:c_markup_fails").unwrap();
    match &failed.status {
        quick_junit::TestCaseStatus::NonSuccess { message, .. } => {
            assert_eq!(message.as_ref().map(|m| m.as_str()), Some("<failure> & \"quotes\" ]]> in a message"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(failed.classname.as_ref().map(|c| c.as_str()), Some("app"));
}

#[test]
fn an_unknown_format_is_bad_input() {
    let app = root().join("tests/apps/test_isolation");
    let out = corral(&["test", "--app", app.to_str().unwrap(), "--format", "tap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("tap"), "{}", text(&out.stderr));
}
