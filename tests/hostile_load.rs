//! Boundary class 10, "bad input at load": input that would hang the loader, be silently dropped or fail only
//! at run time is exit 2 naming its file, line or argument before anything runs; and a library's grants are
//! its own (least privilege).

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{copy_app, root, temp, text, wait_or_kill};

/// Generous: each of these loads takes well under a second; the bound only turns a hang into a failure.
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `corral` with `args`, killing it if it is still running at [`DEADLINE`] (a hang fails the test
/// instead of the suite). Polls `try_wait`; stdout and stderr are drained by threads so the child never
/// blocks on a full pipe.
fn corral_within_deadline(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("corral runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status = wait_or_kill(&mut child, DEADLINE, &format!("corral {args:?} hangs"));
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

/// A copy of the echo example whose manifest has `from` replaced by `to`.
fn echo_with(name: &str, from: &str, to: &str) -> PathBuf {
    let app = copy_app("examples/echo", name);
    let manifest = app.join("_index.yaml");
    let yaml = std::fs::read_to_string(&manifest).unwrap();
    assert!(yaml.contains(from), "the echo manifest has {from:?}");
    std::fs::write(&manifest, yaml.replacen(from, to, 1)).unwrap();
    app
}

/// `corral run <flags> app:main <args>` on `app`: exit 2, nothing started (no audit log), and stderr, which
/// is returned.
fn refused(app: &Path, flags: &[&str], main_args: &[&str]) -> String {
    let mut args = vec!["run", "--app", app.to_str().unwrap()];
    args.extend_from_slice(flags);
    args.push("app:main");
    args.extend_from_slice(main_args);
    let out = corral_within_deadline(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(!app.join("audit.jsonl").exists(), "nothing started: {stderr}");
    stderr
}

#[cfg(unix)]
#[test]
fn bad_input_at_load_a_fifo_as_a_source_is_exit_2_naming_it() {
    let app = copy_app("examples/echo", "load-fifo");
    let source = app.join("echo_worker.lua");
    std::fs::remove_file(&source).unwrap();
    let made = Command::new("mkfifo").arg(&source).status().expect("mkfifo runs");
    assert!(made.success());
    let stderr = refused(&app, &[], &[]);
    assert!(stderr.contains("_index.yaml:12"), "the entry's source line: {stderr}");
    assert!(stderr.contains("echo_worker.lua` of entry `app:echo_worker` is a FIFO, not a regular file"), "{stderr}");
}

#[test]
fn bad_input_at_load_a_folder_as_a_source_is_exit_2_naming_it() {
    let app = copy_app("examples/echo", "load-dir");
    let source = app.join("echo_worker.lua");
    std::fs::remove_file(&source).unwrap();
    std::fs::create_dir(&source).unwrap();
    let stderr = refused(&app, &[], &[]);
    assert!(stderr.contains("_index.yaml:12") && stderr.contains("is a folder, not a regular file"), "{stderr}");
}

#[test]
fn bad_input_at_load_too_many_workers_is_exit_2_naming_the_bound() {
    let app = echo_with("load-workers", "kind: process.host\n", "kind: process.host\n    workers: 100000\n");
    let stderr = refused(&app, &[], &[]);
    assert!(stderr.contains("_index.yaml:6"), "{stderr}");
    assert!(stderr.contains("`workers` of host `app:processes` is 100000, over the bound of 256"), "{stderr}");
}

#[test]
fn bad_input_at_load_a_near_miss_kind_is_exit_2_with_a_suggestion() {
    let app = echo_with(
        "load-kind",
        "kind: process.lua\n    source: file://echo_worker.lua",
        "kind: process.lau\n    source: file://echo_worker.lua",
    );
    let stderr = refused(&app, &[], &[]);
    assert!(
        stderr.contains(
            "_index.yaml:11: unknown kind `process.lau` of entry `app:echo_worker`: did you mean `process.lua`?"
        ),
        "{stderr}"
    );
}

#[test]
fn bad_input_at_load_a_kind_of_the_reference_system_stays_a_warning() {
    let app =
        echo_with("load-other-kind", "  - name: main\n", "  - name: web\n    kind: http.service\n  - name: main\n");
    let out = corral_within_deadline(&["check", "--app", app.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("not run by corral"), "{}", text(&out.stderr));
}

#[test]
fn bad_input_at_load_an_unknown_module_is_exit_2_naming_its_line() {
    let app = echo_with("load-module", "modules: [time]", "modules:\n      - time\n      - tiem");
    let stderr = refused(&app, &[], &[]);
    assert!(stderr.contains("_index.yaml:11: module `tiem` of entry `app:main` does not exist"), "its line: {stderr}");
}

#[test]
fn bad_input_at_load_an_empty_actor_is_exit_2_naming_the_flag() {
    let app = copy_app("examples/echo", "load-actor");
    let stderr = refused(&app, &["--actor", ""], &[]);
    assert!(stderr.contains("`--actor` must name an actor"), "{stderr}");
}

#[test]
fn bad_input_at_load_a_schema_without_corrals_types_is_exit_2_naming_it() {
    let app = copy_app("examples/echo", "load-schema");
    std::fs::write(
        app.join("policies/schema.cedarschema"),
        "entity User;\naction \"view\" appliesTo { principal: [User], resource: [User] };\n",
    )
    .unwrap();
    let stderr = refused(&app, &[], &[]);
    assert!(stderr.contains("schema.cedarschema: the schema lacks Corral's entity type `Actor`"), "{stderr}");
    assert!(stderr.contains("action `process.spawn`"), "{stderr}");
}

#[test]
fn bad_input_at_load_root_arguments_over_the_message_bounds_are_exit_2_naming_the_position() {
    let app = echo_with(
        "load-args",
        "kind: process.host\n",
        "kind: process.host\n    max_message_bytes: 64\n    max_message_depth: 3\n",
    );
    let long = format!("\"{}\"", "x".repeat(100));
    let stderr = refused(&app, &[], &["\"hi\"", &long]);
    assert!(stderr.contains("argument 2 brings the arguments to"), "{stderr}");
    assert!(stderr.contains("`max_message_bytes` of host `app:processes`"), "{stderr}");
    let stderr = refused(&app, &[], &["[[[[1]]]]"]);
    assert!(stderr.contains("argument 1 is nested 4 deep, over the bound of 3"), "{stderr}");
}

/// A library that grants itself `time` works from an importer without that grant, and an importer's
/// `security` grant is not usable from inside the library.
#[test]
fn a_library_uses_its_own_grants_and_not_its_importers() {
    let app = temp("library-grants");
    std::fs::create_dir(app.join("policies")).unwrap();
    for file in ["echo.cedar", "schema.cedarschema"] {
        std::fs::copy(root().join("examples/echo/policies").join(file), app.join("policies").join(file)).unwrap();
    }
    std::fs::write(app.join("corral.toml"), "[root]\nactor = \"user:operator\"\n").unwrap();
    std::fs::write(
        app.join("_index.yaml"),
        "version: \"1.0\"\nnamespace: app\nentries:\n  - name: processes\n    kind: process.host\n  \
         - name: clock\n    kind: library.lua\n    source: file://clock.lua\n    modules: [time]\n  \
         - name: main\n    kind: process.lua\n    source: file://main.lua\n    modules: [security]\n    \
         imports: {clock: app:clock}\n",
    )
    .unwrap();
    std::fs::write(
        app.join("clock.lua"),
        "local time = require(\"time\")\nreturn {\n  \
         now = function() return time.now():unix() > 0 end,\n  \
         security = function() local ok, err = pcall(require, \"security\"); return ok, tostring(err) end,\n}\n",
    )
    .unwrap();
    std::fs::write(
        app.join("main.lua"),
        "local clock = require(\"clock\")\nlocal function main()\n  \
         local time_ok, time_err = pcall(require, \"time\")\n  \
         local sec_ok, sec_err = clock.security()\n  \
         local own_ok = pcall(require, \"security\")\n  \
         return { now = clock.now(), importer_time = time_ok, importer_time_err = tostring(time_err),\n    \
         library_security = sec_ok, library_security_err = sec_err, importer_security = own_ok }\nend\n\
         return { main = main }\n",
    )
    .unwrap();
    let out = corral_within_deadline(&["run", "--app", app.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the root's result");
    assert_eq!(result["now"], true, "the library's own `time` grant works: {result}");
    assert_eq!(result["importer_time"], false, "the importer has no `time` grant: {result}");
    assert!(result["importer_time_err"].as_str().unwrap().contains("not granted to entry `app:main`"), "{result}");
    assert_eq!(result["library_security"], false, "the importer's `security` does not leak in: {result}");
    assert!(result["library_security_err"].as_str().unwrap().contains("not granted to entry `app:clock`"), "{result}");
    assert_eq!(result["importer_security"], true, "{result}");
}

#[test]
fn bad_input_at_load_an_empty_root_actor_in_corral_toml_is_exit_2_naming_it() {
    let app = copy_app("examples/echo", "load-toml-actor");
    std::fs::write(app.join("corral.toml"), "[root]\nactor = \"\"\n").unwrap();
    let stderr = refused(&app, &[], &[]);
    assert!(stderr.contains("corral.toml: `[root] actor` must name an actor"), "{stderr}");
}

#[test]
fn bad_input_at_load_a_reference_module_outside_the_reference_dialect_is_exit_2() {
    // `json` and `uuid` are the reference system's modules: granted only with `[compat] wippy = true`, so
    // Corral's own API stays that of `lua-api.md`.
    let app = echo_with("load-compat-module", "modules: [time]", "modules: [time, json]");
    let stderr = refused(&app, &[], &[]);
    assert!(
        stderr.contains(
            "module `json` of entry `app:main` does not exist (built-in modules: time, security, ctx, server, supervisor)"
        ),
        "{stderr}"
    );
}

#[test]
fn bad_input_at_load_an_unknown_process_model_is_exit_2_naming_its_line() {
    // `AO` is not `ao`: without the check the entry would run as a plain process and fail only at run time.
    let app = echo_with("load-model", "modules: [time]", "modules: [time]\n    meta: {model: AO}");
    let stderr = refused(&app, &[], &[]);
    assert!(
        stderr.contains("_index.yaml:10: unknown `meta.model` \"AO\" of entry `app:main` (models: ao)"),
        "{stderr}"
    );
}
