//! The `corral` command as a user runs it: the README's example, exit statuses, and bad input that names
//! its file, line or argument and starts nothing.

mod support;

use support::{copy_app, corral, root, temp, text};

#[test]
fn the_worker_pool_prints_its_results_and_its_log_verifies() {
    let dir = temp("pool-audit");
    let audit = dir.join("audit.jsonl");
    let app = root().join("examples/worker_pool");
    let out = corral(&["run", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "[20,40,60,80,100]");
    let verify = corral(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
    let log = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(log.matches("\"kind\":\"proc.spawn\"").count(), 6, "root and five workers");
    assert_eq!(log.matches("\"kind\":\"proc.exit\"").count(), 6);
    assert!(log.lines().last().unwrap().contains("runtime.stop"));
}

#[test]
fn an_edited_audit_line_is_named() {
    let dir = temp("tamper");
    let audit = dir.join("audit.jsonl");
    let app = root().join("examples/echo");
    let out = corral(&["run", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let log = std::fs::read_to_string(&audit).unwrap();
    let edited = log.replacen("\"decision\":\"allow\"", "\"decision\":\"deny\"", 1);
    assert_ne!(edited, log);
    std::fs::write(&audit, edited).unwrap();
    let verify = corral(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(text(&verify.stdout).contains("audit.jsonl:"), "{}", text(&verify.stdout));
}

#[test]
fn json_arguments_reach_main() {
    let app = root().join("examples/echo");
    let dir = temp("args");
    let audit = dir.join("a.jsonl");
    let out =
        corral(&["run", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "app:main", "\"hi\""]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"reply\":\"hi\""), "{}", text(&out.stdout));
}

#[test]
fn a_bad_json_argument_is_exit_2_naming_it() {
    let app = root().join("examples/echo");
    let out = corral(&["run", "--app", app.to_str().unwrap(), "app:main", "{not json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("argument 1 `{not json`"), "{}", text(&out.stderr));
}

#[test]
fn an_unknown_entry_or_host_is_exit_2() {
    let app = root().join("examples/echo");
    let out = corral(&["run", "--app", app.to_str().unwrap(), "app:nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown entry `app:nope`"), "{}", text(&out.stderr));
    let out = corral(&["run", "--app", app.to_str().unwrap(), "--host", "app:nowhere", "app:main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown host `app:nowhere`"), "{}", text(&out.stderr));
}

#[test]
fn a_script_that_does_not_parse_is_exit_2_naming_file_and_line() {
    let app = copy_app("examples/echo", "syntax");
    std::fs::write(app.join("echo_worker.lua"), "local function main()\n  return = 1\nend\n").unwrap();
    let out = corral(&["run", "--app", app.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("echo_worker.lua:2"), "{err}");
    assert!(!app.join("audit.jsonl").exists(), "nothing started");
}

#[test]
fn a_bad_manifest_is_exit_2_naming_file_and_line() {
    let app = copy_app("examples/echo", "manifest");
    let yaml = std::fs::read_to_string(app.join("_index.yaml")).unwrap();
    std::fs::write(
        app.join("_index.yaml"),
        yaml.replace(
            "kind: process.lua\n    source: file://echo_worker.lua",
            "kind: process.lua\n    source: file://missing.lua",
        ),
    )
    .unwrap();
    let out = corral(&["run", "--app", app.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("_index.yaml:") && err.contains("missing.lua"), "{err}");
}

#[test]
fn a_policy_error_is_exit_2_and_check_lists_every_problem() {
    let app = copy_app("examples/echo", "policy");
    std::fs::write(
        app.join("policies/broken.cedar"),
        "permit (principal, action, resource)\nwhen { principal.nope == 1 };\n\nforbid (oops);\n",
    )
    .unwrap();
    let out = corral(&["run", "--app", app.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("broken.cedar:"), "{}", text(&out.stderr));
    let check = corral(&["check", "--app", app.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1));
    let listed = text(&check.stdout);
    assert!(listed.contains("broken.cedar:4"), "{listed}");
}

#[test]
fn check_passes_a_clean_app() {
    // Every example folder, so a new one cannot be left out.
    let mut examples: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    examples.sort();
    assert!(examples.len() >= 8, "{examples:?}");
    for example in &examples {
        let app = root().join("examples").join(example);
        let out = corral(&["check", "--app", app.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{example}: {}", text(&out.stdout));
    }
}

#[test]
fn no_actor_means_the_root_is_denied() {
    let app = copy_app("examples/echo", "noactor");
    std::fs::remove_file(app.join("corral.toml")).unwrap();
    let out = corral(&["run", "--app", app.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not allowed: process.spawn on Entry::\"app:main\""), "{}", text(&out.stderr));
}

#[test]
fn sigterm_stops_every_process_and_the_log_ends_with_a_synced_runtime_stop() {
    let app = temp("sigterm");
    std::fs::write(
        app.join("_index.yaml"),
        "version: \"1.0\"\nnamespace: app\nentries:\n  - name: procs\n    kind: process.host\n  \
         - name: main\n    kind: process.lua\n    source: file://main.lua\n    modules: [time]\n",
    )
    .unwrap();
    std::fs::write(
        app.join("main.lua"),
        "local time = require(\"time\")\nlocal function main()\n    while true do time.sleep(\"5ms\") end\nend\n\
         return { main = main }\n",
    )
    .unwrap();
    std::fs::write(app.join("corral.toml"), "[root]\nactor = \"user:alice\"\n").unwrap();
    std::fs::create_dir_all(app.join("policies")).unwrap();
    std::fs::write(
        app.join("policies/p.cedar"),
        "permit (principal, action in [Action::\"process.spawn\", Action::\"process.host\"], resource);\n",
    )
    .unwrap();
    let audit = app.join("audit.jsonl");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "--no-watch", "--app", app.to_str().unwrap(), "app:main"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The root has started once its spawn is in the log (bounded wait: the node writes within milliseconds).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&audit).unwrap_or_default().contains("\"kind\":\"proc.spawn\"") {
        assert!(std::time::Instant::now() < deadline, "the root never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted"), "{}", text(&out.stderr));
    let log = std::fs::read_to_string(&audit).unwrap();
    let last = log.lines().last().unwrap();
    assert!(last.contains("\"kind\":\"runtime.stop\""), "{last}");
    assert!(log.contains("\"reason\":\"shutdown\""), "the root's exit is recorded");
    let verify = corral(&["audit", "verify", audit.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}
