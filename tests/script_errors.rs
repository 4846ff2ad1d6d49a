//! An error raised in a process carries its Lua file and line into the exit, `proc.exit` and the log, and a
//! process that dies abnormally is logged at WARN (target `corral::script`) with its PID, entry, reason and
//! error; a clean exit logs nothing.

mod support;

use support::{corral, root, temp, text};

#[test]
fn a_raised_error_names_its_file_and_line_in_the_verdict_the_audit_log_and_a_warn_line() {
    let dir = temp("script-error");
    let audit = dir.join("audit.test.jsonl");
    let app = root().join("tests/apps/lint");
    let out = corral(&["test", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "boom"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("FAIL app:boom: boom.lua:3: boom at the second line"), "{}", text(&out.stdout));
    let log = std::fs::read_to_string(&audit).unwrap();
    let exit = log.lines().find(|l| l.contains("\"kind\":\"proc.exit\"")).unwrap();
    assert!(exit.contains("\"error\":\"boom.lua:3: boom at the second line\""), "{exit}");
    let stderr = text(&out.stderr);
    let warn = stderr.lines().find(|l| l.contains("process exited abnormally")).unwrap_or_else(|| panic!("{stderr}"));
    for part in ["WARN", "corral::script", "app:boom", "error", "boom.lua:3: boom at the second line", "pid"] {
        assert!(warn.contains(part), "`{part}` missing from {warn}");
    }
}

#[test]
fn a_clean_exit_logs_no_warning() {
    let dir = temp("script-clean");
    let audit = dir.join("audit.test.jsonl");
    let app = root().join("tests/apps/lint");
    let out = corral(&["test", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "passes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("exited abnormally"), "{}", text(&out.stderr));
}

#[test]
fn an_error_a_built_in_raises_gets_the_scripts_file_and_line() {
    let dir = temp("script-builtin-error");
    let audit = dir.join("audit.test.jsonl");
    let app = root().join("tests/apps/lint");
    let out = corral(&["test", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "builtin_error"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log = std::fs::read_to_string(&audit).unwrap();
    let exit = log.lines().find(|l| l.contains("\"kind\":\"proc.exit\"")).unwrap();
    assert!(exit.contains("\"error\":\"builtin_error.lua:3: "), "the line of the call, not of the built-in: {exit}");
}
