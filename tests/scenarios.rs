//! Scenario tests: every folder of `tests/scenarios/` is a small app whose `function.lua` entries with
//! `meta: {type: test}` exercise the Lua API of `spec/lua-api.md` against real policies.
//!
//! Each folder runs as `corral test --app <folder> --audit <tmp>`; it must exit 0, print `N passed, 0 failed`
//! with N the number of test entries the folder declares, and leave an audit log that `corral audit verify`
//! accepts. The shared sources of `tests/scenario_lib/` (`t.lua` and a few small processes) are staged into a
//! temporary copy of each folder before it runs. One `#[test]` per folder (listed in [`scenarios!`]);
//! [`every_folder_is_listed`] makes sure a new folder is not silently skipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one scenario folder may take before its `corral test` is killed (a whole folder takes well under
/// a second when it passes).
const FOLDER_DEADLINE: Duration = Duration::from_secs(90);

/// The folder holding the scenario apps.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("scenarios")
}

/// Every `_index.yaml` under `dir`, at any depth.
fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(items) = std::fs::read_dir(dir) else { return };
    for item in items.flatten() {
        let path = item.path();
        if path.is_dir() {
            manifests(&path, out);
        } else if path.file_name().is_some_and(|n| n == "_index.yaml") {
            out.push(path);
        }
    }
}

/// How many test entries the folder declares: lines `type: test` (flow `meta: {type: test}` or block form)
/// outside comments.
fn declared_tests(dir: &Path) -> usize {
    let mut files = Vec::new();
    manifests(dir, &mut files);
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            text.lines()
                .map(|line| line.split('#').next().unwrap_or(""))
                .filter(|line| {
                    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
                    compact.contains("type:test") && !compact.contains("type:test_")
                })
                .count()
        })
        .sum()
}

/// The scenarios' shared sources, kept once in `tests/scenario_lib/`: `t.lua` (asserts and helpers) and the
/// small processes several folders spawn (`idle.lua`, `worker.lua`, `ender.lua`).
fn shared_library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("scenario_lib")
}

/// A copy of the scenario folder with the shared sources beside its manifests, in the test temp dir (the app
/// loader keeps every source inside the app folder, so they are placed there rather than referenced).
fn staged(case: &str, dir: &Path) -> PathBuf {
    let to = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("scenario-{case}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    // The folder's own files win over shared ones of the same name.
    copy_dir(&shared_library(), &to);
    copy_dir(dir, &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
    for item in std::fs::read_dir(from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display())).flatten() {
        let target = to.join(item.file_name());
        if item.path().is_dir() {
            copy_dir(&item.path(), &target);
        } else if item.file_name() != "audit.jsonl" {
            std::fs::copy(item.path(), &target)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", item.path().display()));
        }
    }
}

/// Runs one scenario folder and panics with everything the run printed when it does not pass completely, or
/// when its audit log lacks a denial of one of `denied` (actions the folder's denial tests expect refused).
fn run_scenario(case: &str, denied: &[&str]) {
    let dir = root().join(case);
    assert!(dir.is_dir(), "no scenario folder {}", dir.display());
    let expected = declared_tests(&dir);
    assert!(expected > 0, "scenario `{case}` declares no test entries");
    // One file per run, so that concurrent runs of this binary never share an audit log.
    let audit =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("scenario-{case}-{}.audit.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&audit);
    let app = staged(case, &dir);
    let mut command = Command::new(env!("CARGO_BIN_EXE_corral"));
    command.arg("test").arg("--app").arg(&app).arg("--audit").arg(&audit).args(["--timeout", "20s"]);
    let output = run_with_deadline(command.env_remove("RUST_LOG"), case);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("scenario `{case}`\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}");
    let last = stdout.lines().last().unwrap_or("");
    let want = format!("{expected} passed, 0 failed");
    assert_eq!(last, want, "{report}");
    assert!(output.status.success(), "exit status {:?}\n{report}", output.status.code());
    let ok_lines = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(ok_lines, expected, "one `ok` line per test\n{report}");

    let verify = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["audit", "verify"])
        .arg(&audit)
        .output()
        .unwrap_or_else(|e| panic!("cannot run corral audit verify: {e}"));
    assert!(
        verify.status.success(),
        "audit log of `{case}` does not verify:\n{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    if !denied.is_empty() {
        let log = std::fs::read_to_string(&audit).unwrap_or_else(|e| panic!("cannot read {}: {e}", audit.display()));
        let records: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        for action in denied {
            let found = records.iter().any(|r| {
                r["kind"] == "authz.decision"
                    && r["action"] == *action
                    && r["decision"] == "deny"
                    && r["basis"] == "forbid"
            });
            assert!(found, "the audit log of `{case}` records no `{action}` denial");
        }
    }
    let _ = std::fs::remove_file(&audit);
}

/// Runs `command` to completion, killing it after [`FOLDER_DEADLINE`] (a process that never yields cannot be
/// stopped from inside the runtime, and would otherwise hang the suite).
fn run_with_deadline(command: &mut Command, case: &str) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run corral: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("cannot wait for corral: {e}")) {
            break status;
        }
        if started.elapsed() > FOLDER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            let out = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
            panic!("scenario `{case}` did not finish within {FOLDER_DEADLINE:?}; it printed:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

macro_rules! scenarios {
    ($($case:ident $(=> [$($denied:literal),*])?),* $(,)?) => {
        /// The folders the macro lists, to compare with what is on disk.
        const LISTED: &[&str] = &[$(stringify!($case)),*];
        $(
            #[test]
            fn $case() {
                run_scenario(stringify!($case), &[$($($denied),*)?]);
            }
        )*
    };
}

scenarios!(
    spawn,
    messages,
    mailbox,
    events,
    links,
    monitors,
    registry,
    builder,
    terminate_cancel,
    exec,
    upgrade,
    denials,
    errors_args,
    wippy_app,
    wippy_modules,
    wippy_time_errors,
    wippy_security_payload,
    server,
    hostile,
    quotas,
    permits,
    call,
    ao,
    supervisor,
    // The reference dialect's funcs and events: each new action's denial must land in the audit log.
    wippy_funcs => ["funcs.call", "process.security"],
    wippy_events => ["events.send", "events.subscribe"],
);

#[test]
fn every_folder_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root())
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root().display()))
        .flatten()
        .filter(|item| item.path().is_dir())
        .map(|item| item.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = LISTED.iter().map(ToString::to_string).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every folder of tests/scenarios/ must be listed in `scenarios!`, and only those");
}
