//! Loading an app and its policies, and booting a node on them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use corral_core::Runtime;
use corral_core::app::App;
use corral_core::audit::{AuditSink, JsonlAudit};
use corral_core::gate::Gate;
use corral_core::runtime::{Config, DEFAULT_HOST};
use corral_policy::{Actor, PolicySet};
use corral_sandbox::Sandbox;

use crate::{AppArgs, RootArgs};

/// Exit status for bad usage, a bad manifest, script or policy set.
pub const BAD_INPUT: u8 = 2;

/// Writes `error: <message>` and a newline to stderr. A closed or failing stderr is ignored: the exit
/// status still tells (`eprintln!` would panic, e.g. under `corral run ... 2>&1 | head -1`).
pub fn error(message: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "error: {message}");
}

/// Writes `line` and a newline to stdout (a result, a test's verdict). A closed stdout (EPIPE) is ignored
/// rather than a panic; the exit status is unchanged.
pub fn out(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Everything a command needs before a node starts.
pub struct Loaded {
    /// The app.
    pub app: Arc<App>,
    /// Its policies.
    pub policies: PolicySet,
    /// The folder they were loaded from (for the `policy.load` record).
    pub policy_dir: PathBuf,
}

/// The policy folder: `--policies`, else `<app>/policies`.
pub fn policy_dir(args: &AppArgs) -> PathBuf {
    args.policies.clone().unwrap_or_else(|| args.app.join("policies"))
}

/// Every problem of the app, its scripts and its policies, one `file:line: message` each.
pub fn problems(args: &AppArgs) -> (Option<Loaded>, Vec<String>) {
    let checked = check(args);
    (checked.loaded, checked.problems)
}

/// What [`check`] found.
pub struct Checked {
    /// Everything, when there is no problem.
    pub loaded: Option<Loaded>,
    /// `file:line: message` each; nothing starts while there is one.
    pub problems: Vec<String>,
    /// What the scripts' literals say would fail at run time (`file:line: message` each, [`crate::lint`]):
    /// `corral check` fails on them; `corral run`, `corral test` and a deploy still start the app, whose code
    /// may expect the error (a `pcall(require, ...)`, a test of a failing spawn).
    pub findings: Vec<String>,
    /// `file: message` each: printed by `corral check`, not counted.
    pub warnings: Vec<String>,
}

/// Every problem and warning of the app, its scripts (parsed, then read for the literals of `require`, spawn
/// and actor calls: [`crate::lint`]) and its policies.
pub fn check(args: &AppArgs) -> Checked {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut findings = Vec::new();
    let app = match App::load(&args.app) {
        Ok(app) => Some(app),
        Err(e) => {
            problems.extend(e.problems.iter().map(ToString::to_string));
            None
        }
    };
    let dir = policy_dir(args);
    let mut lint = crate::lint::Report::default();
    let known = crate::lint::KnownActors::of(&dir);
    if let Some(app) = &app {
        problems.extend(unknown_modules(app));
        let mut parsed = true;
        for entry in app.entries.values() {
            if let Err(e) = corral_sandbox::vm::check_syntax(&entry.source, &entry.source_path.display().to_string()) {
                problems.push(format!("{e} (entry `{}`)", entry.id));
                parsed = false;
            }
        }
        if parsed {
            lint = crate::lint::check_app(app, known.as_ref());
            findings.append(&mut lint.problems);
            warnings.append(&mut lint.warnings);
        }
    }
    let policies = match PolicySet::load_dir(&dir) {
        Ok(p) => Some(p),
        Err(e) => {
            problems.extend(e.problems.iter().map(ToString::to_string));
            None
        }
    };
    if let Some(policies) = &policies {
        match crate::commands::policy::run_tests(policies, &dir) {
            Ok(outcomes) => problems.extend(outcomes.iter().filter(|o| o.failure.is_some()).map(ToString::to_string)),
            Err(test_problems) => problems.extend(test_problems),
        }
        if let Some(app) = &app {
            problems.extend(unselectable_scopes(app, policies, &lint.scopes));
            let toml = app.root.join(corral_core::app::CONFIG_FILE);
            // The `[root]` actor only when some policy names it (otherwise it is a problem already).
            let root = app.config.root_actor.iter().filter(|a| known.as_ref().is_some_and(|k| k.ids.contains(*a)));
            let actors: Vec<(String, Option<usize>)> = root
                .chain(app.config.quotas.actors.keys())
                .map(|a| {
                    (a.clone(), crate::lint::line_of_key(&toml, a).or_else(|| crate::lint::line_of_key(&toml, "actor")))
                })
                .collect();
            let entities = crate::lint::entity_ids(&dir.join("entities.json"));
            warnings.extend(crate::policy_lint::warnings(&dir, policies, entities.as_ref(), &toml, &actors));
        }
    }
    let loaded = match (app, policies) {
        (Some(app), Some(policies)) if problems.is_empty() => {
            Some(Loaded { app: Arc::new(app), policies, policy_dir: dir })
        }
        _ => None,
    };
    Checked { loaded, problems, findings, warnings }
}

/// Every `modules:` name that is not a built-in module, naming its file and line: `require` could
/// never grant it, so the script would fail at run time.
fn unknown_modules(app: &App) -> Vec<String> {
    use corral_sandbox::modules::require::{builtin_names, is_builtin};
    let wippy = app.config.wippy;
    let mut problems = Vec::new();
    for entry in app.entries.values() {
        for (i, module) in entry.modules.iter().enumerate().filter(|(_, m)| !is_builtin(m, wippy)) {
            problems.push(format!(
                "{}:{}: module `{module}` of entry `{}` does not exist (built-in modules: {})",
                entry.file.display(),
                entry.module_lines.get(i).copied().unwrap_or(entry.line),
                entry.id,
                builtin_names(wippy)
            ));
        }
    }
    problems
}

/// The `@scope`s no process of `app` can select: not among the root's scopes (`corral.toml`) and not among
/// `named` (the string literals of the scripts' `security.named_scope(...)` and `security.new_scope({...})`
/// calls, read from their AST). Such a policy never applies, which is almost always a typo.
fn unselectable_scopes(app: &App, policies: &PolicySet, named: &std::collections::BTreeSet<String>) -> Vec<String> {
    let mut selectable: std::collections::BTreeSet<String> = app.config.root_scopes.iter().cloned().collect();
    selectable.extend(named.iter().cloned());
    policies
        .policy_ids()
        .into_iter()
        .filter_map(|id| {
            let scope = policies.policy_scope(&id)?;
            if selectable.contains(scope) {
                return None;
            }
            let (file, line) = policies.policy_location(&id)?;
            let at = line.map(|l| format!(":{l}")).unwrap_or_default();
            Some(format!(
                "{}{at}: policy `{id}`: no process can select @scope(\"{scope}\") (not a [root] scope in \
                 corral.toml, nor named in a security.named_scope/new_scope call of the app's scripts)",
                file.display()
            ))
        })
        .collect()
}

/// Loads everything or prints every problem and returns `None`.
pub fn load(args: &AppArgs) -> Option<Loaded> {
    let (loaded, problems) = problems(args);
    for p in &problems {
        error(p);
    }
    loaded
}

/// The root's actor, scopes and host: the command line wins over `corral.toml`.
pub struct Root {
    /// The principal, if any (none: every request is denied).
    pub actor: Option<Arc<Actor>>,
    /// Scope names.
    pub scopes: Vec<String>,
    /// Host id.
    pub host: String,
}

/// Resolves the root settings. Errors: an empty `--actor` or `--scope`, or an unknown `--host`, naming it.
pub fn root(app: &App, args: &RootArgs) -> Result<Root, String> {
    if args.actor.as_deref().is_some_and(|a| a.trim().is_empty()) {
        return Err("`--actor` must name an actor, got an empty string".into());
    }
    if args.scopes.iter().any(|s| s.trim().is_empty()) {
        return Err("`--scope` must name a scope, got an empty string".into());
    }
    let actor = args.actor.clone().or_else(|| app.config.root_actor.clone()).map(|id| Arc::new(Actor::new(id)));
    let scopes = if args.scopes.is_empty() { app.config.root_scopes.clone() } else { args.scopes.clone() };
    let host = match args.host.clone().or_else(|| app.config.root_host.clone()) {
        Some(host) => host,
        None if app.hosts.len() == 1 => app.hosts.keys().next().cloned().unwrap_or_default(),
        None => DEFAULT_HOST.to_string(),
    };
    if host != DEFAULT_HOST && !app.hosts.contains_key(&host) {
        return Err(format!("unknown host `{host}` (--host)"));
    }
    Ok(Root { actor, scopes, host })
}

/// Boots a node on a multi-threaded tokio runtime's context (call inside it): `runtime.start`, then
/// `policy.load` for the policy folder, both written and synced before it returns, so no process runs
/// unless its log works. Errors (exit 2): either record was refused or could not be written or synced; the
/// message names the file.
pub fn node(loaded: Loaded, audit: Arc<JsonlAudit>) -> Result<Runtime, String> {
    node_as("local", loaded, audit, corral_core::runtime::Shared::default())
}

/// [`node`] with the node name `name`, the first part of every PID it makes (`corral serve` names each app's
/// runtime after the app, so a PID says which app it belongs to), counting into `shared` (a node's runtimes
/// share actor usage, quotas and counters). Errors: as for [`node`].
pub fn node_as(
    name: &str,
    loaded: Loaded,
    audit: Arc<JsonlAudit>,
    shared: corral_core::runtime::Shared,
) -> Result<Runtime, String> {
    let wippy = loaded.app.config.wippy;
    let levels = loaded.app.config.audit_levels.clone();
    let before = audit.last_seq();
    let sink: Arc<dyn AuditSink> = audit.clone();
    let node = Runtime::with_shared(
        Config {
            node: name.into(),
            app: loaded.app,
            gate: Gate::new(loaded.policies, sink).with_levels(levels),
            launcher: Arc::new(Sandbox::new(wippy)),
        },
        shared,
    );
    let unwritten = |e: corral_core::audit::AuditError| format!("{e} (no process was started)");
    if audit.last_seq() == before {
        // `runtime.start` was refused; the reason is the sink's state.
        audit.status().map_err(unwritten)?;
        return Err(format!(
            "the audit log `{}` refused `runtime.start` (no process was started)",
            audit.path().display()
        ));
    }
    node.audit_policy_load(&loaded.policy_dir).map_err(unwritten)?;
    audit.sync().map_err(unwritten)?;
    audit.status().map_err(unwritten)?;
    Ok(node)
}

/// Which command a log is for: `corral test` keeps its own file, so it never writes next to (or is locked
/// out by) a running node's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFor {
    /// `corral run`: `[audit] file`, else `<app>/audit.jsonl`.
    Run,
    /// `corral test`: the same name with `.test` before its extension, e.g. `<app>/audit.test.jsonl`.
    Test,
}

/// The audit file: `--audit`, else `[audit] file` of `corral.toml`, else `<app>/audit.jsonl` (for `corral
/// test`, `.test` is put before the extension of either default: `<app>/audit.test.jsonl`); opened with the
/// `[audit]` options, continuing the chain of an existing log, and locked. Errors: it cannot be opened,
/// continued or reserved, or another node holds it.
pub fn audit_sink(app: &App, flag: Option<&Path>, of: LogFor) -> Result<Arc<JsonlAudit>, String> {
    let path = match (flag, &app.config.audit) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(p)) => for_command(&app.root.join(p), of),
        (None, None) => for_command(&app.root.join("audit.jsonl"), of),
    };
    JsonlAudit::open(&path, app.config.audit_options.clone()).map(Arc::new).map_err(|e| e.to_string())
}

/// `dir/audit.jsonl` for `corral test` is `dir/audit.test.jsonl`.
fn for_command(path: &Path, of: LogFor) -> PathBuf {
    if of == LogFor::Run {
        return path.to_path_buf();
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    match path.extension() {
        Some(ext) => path.with_file_name(format!("{stem}.test.{}", ext.to_string_lossy())),
        None => path.with_file_name(format!("{stem}.test")),
    }
}

/// A multi-threaded tokio runtime for the node.
pub fn tokio() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| format!("cannot start tokio: {e}"))
}
