//! `corral check` reads each entry's Luau source (its AST) and reports, with file, line and what to change,
//! what would otherwise fail only at run time: a `require` the entry does not grant, a spawn of an entry or
//! host that does not exist, an actor no entity or policy knows (check fails; `run` still starts the app).
//! `tests/apps/lint` is the clean app; each case breaks one thing in a copy of it.

mod support;

use std::path::Path;

use support::{copy_app, corral, root, text};

const APP: &str = "tests/apps/lint";

/// `corral check` on `app`: exit status and stdout.
fn check(app: &Path) -> (Option<i32>, String) {
    let out = corral(&["check", "--app", app.to_str().unwrap()]);
    (out.status.code(), text(&out.stdout))
}

/// Replaces `from` (which must be there) with `to` in the app's file `file`.
fn edit(app: &Path, file: &str, from: &str, to: &str) {
    let path = app.join(file);
    let before = std::fs::read_to_string(&path).unwrap();
    assert!(before.contains(from), "{file} has no `{from}`");
    std::fs::write(&path, before.replacen(from, to, 1)).unwrap();
}

/// A copy of the clean app with one edit; check fails listing `expected` (all of it, on one line).
fn finds(name: &str, file: &str, from: &str, to: &str, expected: &[&str]) -> String {
    let app = copy_app(APP, name);
    edit(&app, file, from, to);
    let (code, out) = check(&app);
    assert_eq!(code, Some(1), "{out}");
    let line = out.lines().find(|l| expected.iter().all(|e| l.contains(e)));
    assert!(line.is_some(), "no line with {expected:?} in:\n{out}");
    line.unwrap().to_string()
}

#[test]
fn the_clean_app_has_no_finding_and_runs() {
    let app = root().join(APP);
    let (code, out) = check(&app);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("warning"), "{out}");
    let dir = support::temp("lint-run");
    let audit = dir.join("a.jsonl");
    let run = corral(&["run", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "app:main"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(text(&run.stdout).trim(), "[true,true,4,true,true]");
}

#[test]
fn a_require_the_entry_does_not_list_names_the_manifest_key_and_line() {
    let line = finds(
        "lint-modules",
        "_index.yaml",
        "modules: [time, security]",
        "modules: [time]",
        &["lua/main.lua:3: require(\"security\") but entry `app:main` does not list `security` in `modules:`"],
    );
    assert!(line.contains("_index.yaml:6)"), "the entry's manifest line: {line}");
}

#[test]
fn a_require_of_no_module_and_no_import_suggests_the_import() {
    finds(
        "lint-import",
        "lua/main.lua",
        "require(\"util\")",
        "require(\"utl\")",
        &["lua/main.lua:4: require(\"utl\")", "no import `utl` in `imports:`", "did you mean `util`?"],
    );
}

#[test]
fn a_spawn_of_an_unknown_entry_suggests_the_nearest() {
    finds(
        "lint-entry",
        "lua/main.lua",
        "process.spawn(\"app:worker\"",
        "process.spawn(\"app:wroker\"",
        &[
            "lua/main.lua:7: process.spawn(\"app:wroker\") but no entry `app:wroker` exists",
            "did you mean `app:worker`?",
        ],
    );
}

#[test]
fn a_builder_spawn_of_a_library_is_named() {
    finds(
        "lint-library",
        "lua/main.lua",
        "builder:spawn_monitored(\"app:worker\"",
        "builder:spawn_monitored(\"app:util\"",
        &["lua/main.lua:9: :spawn_monitored(\"app:util\") but `app:util` is a library.lua entry"],
    );
}

#[test]
fn a_spawn_on_an_unknown_host_suggests_the_nearest() {
    finds(
        "lint-host",
        "lua/main.lua",
        "\"app:worker\", \"app:procs\", 1",
        "\"app:worker\", \"app:proc\", 1",
        &[
            "lua/main.lua:7: process.spawn(\"app:worker\", \"app:proc\") but no host `app:proc`",
            "did you mean `app:procs`?",
        ],
    );
}

#[test]
fn a_new_actor_that_no_entity_or_policy_knows_is_named() {
    finds(
        "lint-actor",
        "lua/main.lua",
        "new_actor(\"user:bob\")",
        "new_actor(\"user:bbo\")",
        &[
            "lua/main.lua:10: security.new_actor(\"user:bbo\")",
            "entities.json has no Actor \"user:bbo\"",
            "did you mean",
        ],
    );
}

#[test]
fn a_root_actor_that_no_entity_or_policy_knows_names_corral_toml() {
    finds(
        "lint-root",
        "corral.toml",
        "actor = \"user:alice\"",
        "actor = \"user:alicia\"",
        &["corral.toml:2: [root] actor \"user:alicia\"", "did you mean `user:alice`?"],
    );
}

#[test]
fn with_actor_given_a_string_says_what_to_write() {
    finds(
        "lint-with-actor",
        "lua/main.lua",
        ":with_actor(security.new_actor(\"user:alice\"))",
        ":with_actor(\"user:alice\")",
        &[
            "lua/main.lua:8: :with_actor(\"user:alice\") passes a string",
            ":with_actor(security.new_actor(\"user:alice\"))",
        ],
    );
}

#[test]
fn a_scope_named_only_in_a_comment_selects_nothing() {
    // The AST walk reads calls, not text: a commented-out named_scope does not make the @scope selectable.
    finds(
        "lint-scope",
        "lua/main.lua",
        "local scope = security.named_scope(\"tenant_acme\")",
        "-- security.named_scope(\"tenant_acme\")\n    local scope = security.named_scope(\"tenant_acm\")",
        &["no process can select @scope(\"tenant_acme\")"],
    );
}

#[test]
fn corral_run_still_starts_an_app_with_a_finding_and_the_error_comes_at_run_time() {
    // A finding fails `corral check` only: code may expect the error (a test of a failing spawn).
    let app = copy_app(APP, "lint-run-starts");
    edit(&app, "lua/main.lua", "process.spawn(\"app:worker\"", "assert(process.spawn(\"app:wroker\"");
    edit(&app, "lua/main.lua", "\"app:procs\", 1)", "\"app:procs\", 1))");
    let (code, out) = check(&app);
    assert_eq!(code, Some(1), "{out}");
    let out = corral(&["run", "--app", app.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("app:wroker"), "{}", text(&out.stderr));
    assert!(app.join("audit.jsonl").exists(), "the app started");
}

#[test]
fn a_ten_megabyte_source_is_reported_not_read_and_check_survives() {
    let app = copy_app(APP, "lint-huge");
    let mut big = String::from("local function main(n)\n    return n\nend\n");
    let filler = "do local _ = { 1, 2, 3, \"padding padding padding\" } end\n";
    while big.len() < 10 << 20 {
        big.push_str(filler);
    }
    big.push_str("return { main = main }\n");
    std::fs::write(app.join("lua/worker.lua"), big).unwrap();
    let (code, out) = check(&app);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("lua/worker.lua: not checked for requires and spawns"), "{out}");
}

#[test]
fn deeply_nested_expressions_do_not_crash_check() {
    for (name, depth) in [("lint-deep-ok", 150), ("lint-deep-huge", 200_000)] {
        let app = copy_app(APP, name);
        let source = format!(
            "local function main(n)\n    return {}n{}\nend\nreturn {{ main = main }}\n",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        std::fs::write(app.join("lua/worker.lua"), source).unwrap();
        let (code, out) = check(&app);
        // Luau's parser refuses the deepest as a problem naming the file; neither kills the command.
        if depth > 10_000 {
            assert_eq!(code, Some(1), "{name}: {out}");
            assert!(out.contains("worker.lua:2"), "{out}");
        } else {
            assert_eq!(code, Some(0), "{name}: {out}");
        }
    }
}

/// A copy of the clean app with `policy` added as `policies/extra.cedar` (and `toml` appended to corral.toml):
/// check passes (warnings do not fail it); its warning lines.
fn warns(name: &str, policy: &str, toml: &str) -> Vec<String> {
    let app = copy_app(APP, name);
    std::fs::write(app.join("policies/extra.cedar"), policy).unwrap();
    let config = std::fs::read_to_string(app.join("corral.toml")).unwrap();
    std::fs::write(app.join("corral.toml"), config + toml).unwrap();
    let (code, out) = check(&app);
    assert_eq!(code, Some(0), "{out}");
    out.lines().filter(|l| l.starts_with("warning: ")).map(str::to_owned).collect()
}

#[test]
fn a_policy_naming_a_tenant_or_actor_that_entities_json_lacks_is_a_warning() {
    let found = warns(
        "lint-warn-tenant",
        "// acme's sibling, misspelt.\npermit (principal in Tenant::\"acmee\", action, resource);\n\n\
         permit (principal, action, resource) when { principal == Actor::\"user:carol\" };\n",
        "",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("extra.cedar:2: policy `extra.cedar:2` names Tenant::\"acmee\""), "{found:?}");
    assert!(found[0].contains("entities.json lacks"), "{found:?}");
    assert!(found[1].contains("extra.cedar:4:") && found[1].contains("Actor::\"user:carol\""), "{found:?}");
    // Known ones are not named.
    let clean = warns("lint-warn-known", "permit (principal in Tenant::\"acme\", action, resource);\n", "");
    assert!(clean.is_empty(), "{clean:?}");
}

#[test]
fn a_quota_for_an_actor_that_entities_json_lacks_is_a_warning() {
    let found = warns("lint-warn-quota", "", "\n[quotas.actors]\n\"user:dave\" = { processes = 5 }\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("corral.toml:5: actor \"user:dave\" is not an Actor of"), "{found:?}");
    let clean = warns("lint-warn-quota-ok", "", "\n[quotas.actors]\n\"user:alice\" = { processes = 5 }\n");
    assert!(clean.is_empty(), "{clean:?}");
}

#[test]
fn an_unconditional_forbid_of_an_action_is_a_warning_and_a_narrow_one_is_not() {
    let found = warns(
        "lint-warn-forbid",
        "@id(\"no.sends\")\nforbid (principal, action == Action::\"process.send\", resource);\n\n\
         forbid (principal, action, resource);\n",
        "",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("extra.cedar:1: policy `no.sends` forbids every `process.send` request unconditionally"),
        "{found:?}"
    );
    assert!(found[1].contains("extra.cedar:4:") && found[1].contains("every request of every action"), "{found:?}");
    let narrow = warns(
        "lint-warn-forbid-narrow",
        "forbid (principal == Actor::\"user:bob\", action == Action::\"process.send\", resource);\n\
         forbid (principal, action == Action::\"process.terminate\", resource) when { principal has role };\n",
        "",
    );
    assert!(narrow.is_empty(), "{narrow:?}");
}
