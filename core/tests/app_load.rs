//! Loading apps from `tests/fixtures/apps/<case>/`: the layout of `spec/cli-and-manifest.md`,
//! the reference system's (Wippy) form, and every kind of problem with its file and line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use corral_core::app::{App, AppError, EntryKind, HostSpec, Isolation, Placement, Problem, parse_memory_size};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps").join(case)
}

fn load_ok(case: &str) -> App {
    match App::load(&fixture(case)) {
        Ok(app) => app,
        Err(err) => panic!("`{case}` should load, got:\n{err}"),
    }
}

fn load_err(case: &str) -> AppError {
    match App::load(&fixture(case)) {
        Ok(_) => panic!("`{case}` should not load"),
        Err(err) => err,
    }
}

/// The problem of `file` (relative to the fixture) at `line` whose message contains `text`.
fn find<'a>(err: &'a AppError, case: &str, file: &str, line: Option<u32>, text: &str) -> &'a Problem {
    let path = fixture(case).join(file);
    err.problems
        .iter()
        .find(|p| p.file == path && p.line == line && p.message.contains(text))
        .unwrap_or_else(|| panic!("no problem `{text}` at {file}:{line:?} in:\n{err}"))
}

#[test]
fn good_app_has_every_kind_in_nested_folders() {
    let app = load_ok("good");
    let ids: Vec<&str> = app.entries.keys().map(String::as_str).collect();
    assert_eq!(ids, ["app.lib:assert", "app.workers:check", "app.workers:task_worker", "app:helper", "app:main"]);
    let hosts: Vec<&str> = app.hosts.keys().map(String::as_str).collect();
    assert_eq!(hosts, ["app:processes", "app:small"]);

    let worker = &app.entries["app.workers:task_worker"];
    assert_eq!(worker.kind, EntryKind::Process);
    assert_eq!(worker.method, "run");
    assert_eq!(worker.modules, ["time", "security"]);
    assert_eq!(worker.imports["assert2"], "app.lib:assert");
    assert_eq!(worker.meta["tags"], serde_json::json!(["a", "b"]));
    assert!(worker.source.contains("return \"done\""));
    assert_eq!(worker.source_path, fixture("good").join("workers/deep/src/task_worker.lua"));
    assert_eq!(worker.file, fixture("good").join("workers/deep/_index.yaml"));
    assert_eq!(worker.line, 4);

    // `./src/../src/x.lua` resolves to the same file.
    assert_eq!(app.entries["app.workers:check"].source_path, worker.source_path);

    let main = &app.entries["app:main"];
    assert_eq!((main.kind.clone(), main.method.as_str(), main.line), (EntryKind::Function, "main", 21));
    assert!(main.modules.is_empty() && main.imports.is_empty());
    assert_eq!(app.entries["app.lib:assert"].kind, EntryKind::Library);
    assert_eq!(app.entries["app:helper"].meta["type"], "handler");

    let tests: Vec<&str> = app.tests().iter().map(|e| e.id.as_str()).collect();
    assert_eq!(tests, ["app.workers:check", "app:main"]);
}

#[test]
fn host_settings_flat_form() {
    let app = load_ok("good");
    let host = &app.hosts["app:processes"];
    assert_eq!(host.max_processes, 500);
    assert_eq!(host.mailbox_size, 64);
    assert_eq!(host.memory_limit, 32 << 20);
    assert_eq!(host.compute_limit, 100_000_000);
    assert_eq!(host.cancel_deadline, Duration::from_secs(2));
    assert_eq!(host.workers, 3);
    assert_eq!(host.isolation, Isolation::Process);
    assert_eq!(host.fallback.as_deref(), Some("app:dead_letters"));
    assert_eq!(host.max_message_bytes, 64 << 10);
    assert_eq!(host.max_message_depth, 8);
    assert_eq!(host.time_slice, Duration::from_millis(10));
    assert_eq!((host.file.clone(), host.line), (fixture("good").join("_index.yaml"), 4));

    let small = &app.hosts["app:small"];
    let defaults = HostSpec::with_defaults("app:small");
    assert_eq!(small.max_processes, 10_000);
    assert_eq!(small.mailbox_size, 1024);
    assert_eq!(small.memory_limit, 16 << 20);
    assert_eq!(small.compute_limit, 1_000_000_000);
    assert_eq!(small.cancel_deadline, Duration::from_secs(5));
    assert_eq!(small.workers, defaults.workers);
    assert!(small.workers >= 1);
    assert_eq!(small.isolation, Isolation::Shared);
    assert_eq!(small.fallback, None);
    assert_eq!(small.max_message_bytes, 1 << 20);
    assert_eq!(small.max_message_depth, 32);
    assert_eq!(small.time_slice, Duration::from_millis(5));
}

#[test]
fn corral_toml_settings() {
    let root = fixture("good");
    let config = load_ok("good").config;
    assert_eq!(config.root_actor.as_deref(), Some("user:alice"));
    assert_eq!(config.root_scopes, ["tenant_acme", "ops"]);
    assert_eq!(config.root_host.as_deref(), Some("app:processes"));
    assert!(config.wippy);
    assert_eq!(config.audit, Some(root.join("audit.jsonl")));
    let quota = |processes, memory| corral_core::limits::Quota { processes, memory };
    assert_eq!(config.quotas.default, quota(Some(1000), Some(1 << 30)));
    assert_eq!(config.quotas.of("user:alice"), quota(Some(5000), Some(1 << 30)), "memory falls back");
    assert_eq!(config.quotas.of("user:bob"), quota(Some(1000), Some(1 << 20)), "processes fall back");
    assert_eq!(config.quotas.of("user:carol"), config.quotas.default);

    // No corral.toml: every setting at its default.
    let config = load_ok("sizes").config;
    assert_eq!(config.root_actor, None);
    assert!(config.root_scopes.is_empty() && !config.wippy);
    assert_eq!((config.root_host, config.audit), (None, None));
    assert!(config.quotas.is_empty(), "no quota unless configured");
}

#[test]
fn corral_toml_problems_name_their_line() {
    let err = load_err("bad_toml");
    assert_eq!(err.problems.len(), 1, "{err}");
    find(&err, "bad_toml", "corral.toml", Some(3), "colour");

    let err = load_err("problems");
    find(&err, "problems", "corral.toml", Some(3), "`[root] host` names `bad:nope`");

    let err = load_err("bad_quotas");
    assert_eq!(err.problems.len(), 1, "{err}");
    find(&err, "bad_quotas", "corral.toml", Some(5), "bad `[quotas.actors] \"user:a\"` memory `\"lots\"`");
}

#[test]
fn placement_is_parent_unless_a_host_says_spread() {
    let app = load_ok("placement");
    assert_eq!(app.hosts["app:pool"].placement, Placement::Spread);
    assert_eq!(app.hosts["app:talkers"].placement, Placement::Parent, "under `host:` too");
    assert_eq!(app.hosts["app:plain"].placement, Placement::Parent, "the default");
    let err = load_err("bad_placement");
    find(&err, "bad_placement", "_index.yaml", Some(6), "`placement` of host `app:pool` must be `parent` or `spread`");
}

#[test]
fn wippy_app_loads_unchanged() {
    let app = load_ok("wippy");
    let ids: Vec<&str> = app.entries.keys().map(String::as_str).collect();
    assert_eq!(ids, ["app:helpers", "app:list_products", "app:worker"]);
    let host = &app.hosts["app:processes"];
    assert_eq!((host.workers, host.max_processes), (8, 2000));
    assert_eq!(host.mailbox_size, 1024);
    assert_eq!(app.entries["app:worker"].imports["helpers"], "app:helpers");
    assert_eq!(app.entries["app:list_products"].meta["tags"][1], "products");
    assert_eq!(app.entries["app:helpers"].modules, ["json"]);
    assert!(app.tests().is_empty());
    assert!(app.config.wippy);
}

#[test]
fn every_problem_at_once_with_file_and_line() {
    let case = "problems";
    let err = load_err(case);
    let yaml = "_index.yaml";
    find(&err, case, yaml, Some(6), "`memory_limit` of host `bad:good_host` must be a size");
    find(&err, case, yaml, Some(7), "unknown key `colour` in host `bad:good_host`");
    find(&err, case, yaml, Some(9), "`workers` of host `bad:good_host` must be at least 1");
    find(&err, case, yaml, Some(10), "unknown key `flavour`");
    find(&err, case, yaml, Some(13), "missing.lua` of entry `bad:runner` does not exist");
    find(&err, case, yaml, Some(14), "unknown key `priority` in entry `bad:runner`");
    find(&err, case, yaml, Some(15), "bad name `bad name`");
    find(&err, case, yaml, Some(19), "unknown kind `widget` of entry `bad:weird`");
    find(&err, case, yaml, Some(22), "leaves the app folder");
    find(&err, case, yaml, Some(27), "names `bad:runner`, a `process.lua` entry, not a library.lua entry");
    find(&err, case, yaml, Some(28), "names `bad:nothing`, which is not an entry of the app");
    find(&err, case, yaml, Some(29), "import `c` of entry `bad:importer` must name an entry id");
    find(&err, case, yaml, Some(30), "entry has no `kind`");
    find(&err, case, yaml, Some(36), "`cancel_deadline` of host `bad:timing` must be a duration");
    find(&err, case, yaml, Some(37), "`isolation` of host `bad:timing` must be `shared` or `process`");
    find(&err, case, yaml, Some(40), "`workers` of host `bad:timing` is set twice");
    let first = fixture(case).join(yaml).display().to_string();
    find(&err, case, "sub/_index.yaml", Some(4), &format!("duplicate id `bad:dup`, first declared at {first}:31"));
    find(&err, case, "sub2/_index.yaml", Some(1), "unsupported manifest version `2.0`");
    find(&err, case, "sub2/_index.yaml", Some(2), "bad namespace `bad..ns`");
    find(&err, case, "sub2/_index.yaml", Some(3), "unknown key `extras` in manifest");
    assert_eq!(err.problems.len(), 21, "{err}");

    // Display: one `file:line: message` per problem, in file and line order.
    let shown = err.to_string();
    assert_eq!(shown.lines().count(), 21);
    let head = format!("{}:6: `memory_limit`", fixture(case).join("_index.yaml").display());
    assert!(shown.lines().next().unwrap().starts_with(&head), "{shown}");
    let toml = format!("{}:3: `[root] host`", fixture(case).join("corral.toml").display());
    assert!(shown.lines().any(|l| l.starts_with(&toml)), "{shown}");
}

#[test]
fn invalid_yaml_is_a_problem_and_other_files_are_still_checked() {
    let err = load_err("bad_yaml");
    let yaml = err.problems.iter().find(|p| p.message.starts_with("invalid YAML")).unwrap_or_else(|| panic!("{err}"));
    assert_eq!(yaml.file, fixture("bad_yaml").join("_index.yaml"));
    assert!(matches!(yaml.line, Some(5) | Some(6)), "{err}");
    find(&err, "bad_yaml", "other/_index.yaml", Some(6), "lost.lua` of entry `app.other:lost` does not exist");
    assert_eq!(err.problems.len(), 2, "{err}");
}

#[test]
fn a_folder_without_manifests_or_missing_is_a_problem() {
    let err = load_err("empty");
    assert_eq!(err.problems.len(), 1);
    assert!(err.problems[0].message.contains("no `_index.yaml`"));
    let err = load_err("no_such_app");
    assert_eq!(err.problems[0].file, fixture("no_such_app"));
    assert_eq!(err.problems[0].line, None);
}

#[test]
fn memory_sizes_and_durations() {
    assert_eq!(parse_memory_size("16MiB"), Some(16 * 1024 * 1024));
    assert_eq!(parse_memory_size("500-mb"), Some(500 * 1024 * 1024));
    assert_eq!(parse_memory_size("64MB"), Some(64 * 1024 * 1024));
    assert_eq!(parse_memory_size("1024"), Some(1024));
    assert_eq!(parse_memory_size("8kib"), Some(8192));
    assert_eq!(parse_memory_size("lots"), None);
    assert_eq!(parse_memory_size("16 MiB extra"), None);

    let app = load_ok("sizes");
    let host = |name: &str| &app.hosts[&format!("sizes:{name}")];
    assert_eq!(host("mib").memory_limit, 16 << 20);
    assert_eq!(host("mib").cancel_deadline, Duration::from_millis(1500));
    assert_eq!(host("ao").memory_limit, 500 << 20);
    assert_eq!(host("ao").cancel_deadline, Duration::from_millis(250));
    assert_eq!(host("mb").memory_limit, 64 << 20);
    assert_eq!(host("mb").time_slice, Duration::from_millis(1));
    assert_eq!(host("bytes").memory_limit, 1024);
    assert_eq!(host("bytes").max_message_bytes, 2048);
    assert_eq!(host("quoted").memory_limit, 1024);
    assert_eq!(host("quoted").compute_limit, 900_000_000_000_000_000);
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_out_of_the_app_is_refused() {
    let base = std::env::temp_dir().join(format!("corral-app-symlink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("app");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(base.join("outside.lua"), "return {}").unwrap();
    std::os::unix::fs::symlink(base.join("outside.lua"), root.join("inside.lua")).unwrap();
    let manifest = "namespace: app\nentries:\n  - name: sneaky\n    kind: process.lua\n    source: file://inside.lua\n";
    std::fs::write(root.join("_index.yaml"), manifest).unwrap();
    let err = App::load(&root).expect_err("a source outside the app must be refused");
    let _ = std::fs::remove_dir_all(&base);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].line, Some(5));
    assert!(err.problems[0].message.contains("leaves the app folder"), "{err}");
}
