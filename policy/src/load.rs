//! Loading a policy folder: every file checked, every problem collected, then the set built.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use cedar_policy as cedar;
use sha2::{Digest, Sha256};

use crate::cache::DecisionCache;
use crate::convert::Types;
use crate::decide::{applicable_actions, caches};
use crate::error::{LoadError, Problem, diagnostic_line, message_of};
use crate::set::PolicySet;
use crate::source::{LoadedPolicy, SourceFile, parse_file};

/// The schema file of a policy folder.
pub(crate) const SCHEMA_FILE: &str = "schema.cedarschema";
/// The optional entities file of a policy folder.
pub(crate) const ENTITIES_FILE: &str = "entities.json";
/// The schema used when a folder has none: Corral's own.
pub(crate) const DEFAULT_SCHEMA: &str = include_str!("../../policies/schema.cedarschema");
/// The schema used when a node's policy folder has none: Corral's own plus `App` and the node actions.
pub(crate) const NODE_SCHEMA: &str = include_str!("../../policies/node.cedarschema");

/// Which kind of policy folder is loaded: an app's (deciding what its processes do) or a node's (deciding
/// what API callers do: the node actions on apps, and process actions over the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An app's folder: its schema must declare Corral's entity types and `process.*` actions.
    App,
    /// A node's folder: its schema must also declare `App` and the `node.*` actions.
    Node,
}

impl Kind {
    /// The built-in schema of this kind: used for a folder without one, and naming what a folder's must declare.
    fn builtin(self) -> &'static str {
        match self {
            Kind::App => DEFAULT_SCHEMA,
            Kind::Node => NODE_SCHEMA,
        }
    }

    /// Where the built-in schema lives in the repository, for problems.
    fn builtin_name(self) -> &'static str {
        match self {
            Kind::App => "policies/schema.cedarschema",
            Kind::Node => "policies/node.cedarschema",
        }
    }
}

/// The loaded files of `dir` (other files are ignored).
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    let entries = fs::read_dir(dir).map_err(|e| LoadError {
        problems: vec![Problem::new(dir, None, format!("cannot read the policy folder: {e}"))],
    })?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                problems.push(Problem::new(dir, None, format!("cannot list the policy folder: {e}")));
                continue;
            }
        };
        let path = entry.path();
        // Names that are not UTF-8 cannot be a policy file's name.
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !is_loaded(&name) {
            continue;
        }
        if !path.is_file() {
            // A FIFO or device would block the read; a folder named like a policy file is a mistake too.
            if path.exists() {
                problems.push(Problem::new(&path, None, "is not a regular file"));
            }
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(text) => files.push(SourceFile { path, name, text }),
            Err(e) => problems.push(Problem::new(&path, None, format!("cannot read: {e}"))),
        }
    }
    if problems.is_empty() { Ok(files) } else { Err(LoadError { problems }) }
}

/// The loaded files among in-memory `(name, text)` pairs; a name's last path component decides what it is.
pub(crate) fn in_memory(files: &[(String, String)]) -> Vec<SourceFile> {
    files
        .iter()
        .filter_map(|(name, text)| {
            let base = Path::new(name).file_name()?.to_str()?;
            is_loaded(base).then(|| SourceFile { path: PathBuf::from(name), name: base.to_owned(), text: text.clone() })
        })
        .collect()
}

fn is_loaded(name: &str) -> bool {
    name == SCHEMA_FILE || name == ENTITIES_FILE || is_policy_file(name)
}

fn is_policy_file(name: &str) -> bool {
    Path::new(name).extension().is_some_and(|ext| ext == "cedar")
}

/// Checks every file and builds the set, or reports every problem found.
pub(crate) fn build(mut files: Vec<SourceFile>, kind: Kind) -> Result<PolicySet, LoadError> {
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let mut problems = Vec::new();
    check_names(&files, &mut problems);
    let types = Types::new().map_err(|e| problems.push(Problem::new(Path::new("<built-in>"), None, e))).ok();
    let schema = load_schema(files.iter().find(|f| f.name == SCHEMA_FILE), kind, &mut problems);
    let policy_files: Vec<&SourceFile> = files.iter().filter(|f| is_policy_file(&f.name)).collect();
    let mut policies = Vec::new();
    for (index, file) in policy_files.iter().enumerate() {
        policies.extend(parse_file(index, file, &mut problems));
    }
    check_ids(&policies, &mut problems);
    if let Some(schema) = &schema {
        validate(&policies, &policy_files, schema, &mut problems);
    }
    if let Some(schema) = &schema {
        for policy in &mut policies {
            policy.actions = applicable_actions(&policy.policy, schema);
        }
    }
    let schema_text = files.iter().find(|f| f.name == SCHEMA_FILE).map_or(kind.builtin(), |f| f.text.as_str());
    let context_attrs = crate::context::ContextAttrs::of_schema_text(schema_text);
    let entities_file = files.iter().find(|f| f.name == ENTITIES_FILE);
    let entities = crate::entities::load(entities_file, schema.as_ref(), &mut problems);
    match (schema, entities, types) {
        (Some(schema), Some(entities), Some(types)) if problems.is_empty() => {
            let (selections, slices) = caches();
            let references = crate::slice::References::of(&entities);
            // A PID is observable through the stored entities, or through the schema if it lists the valid ones.
            let names_process = crate::observe::store_names_process(&entities, &references)
                || crate::observe::process_is_enum(schema_text);
            let observed = crate::observe::per_action(&schema, &policies, &context_attrs, names_process);
            Ok(PolicySet {
                revision: revision(&files, kind).into(),
                scopes: policies.iter().filter_map(|p| p.scope.clone()).collect::<BTreeSet<_>>(),
                policies,
                schema,
                context_attrs,
                references,
                entities,
                types,
                authorizer: cedar::Authorizer::new(),
                selections,
                slices,
                observed,
                valid_requests: crate::decide::valid_requests(),
                decisions: DecisionCache::default(),
            })
        }
        _ => {
            if problems.is_empty() {
                // INVARIANT: each part is missing only with a problem saying why; never load without one.
                problems.push(Problem::new(Path::new("<built-in>"), None, "the policy set is incomplete"));
            }
            // Stable: problems of one file keep the order they were found in.
            problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            Err(LoadError { problems })
        }
    }
}

/// Two files with one name (possible only in memory) would make the set depend on their order.
fn check_names(sorted: &[SourceFile], problems: &mut Vec<Problem>) {
    for pair in sorted.windows(2) {
        if let [a, b] = pair
            && a.name == b.name
        {
            let message = format!("a second file named `{}` (the first is {})", b.name, a.path.display());
            problems.push(Problem::new(&b.path, None, message));
        }
    }
}

/// Actions of the built-in schema that a folder's schema may leave out: added after app schemas existed, so
/// an older schema still loads, and a request for such an action it does not declare is denied by default
/// (see `PolicySet::decide`). `process.call` came with call and reply (`models.md`); `funcs.call`,
/// `events.send` and `events.subscribe` with the reference dialect's `funcs` and `events` modules.
pub const OPTIONAL_ACTIONS: [&str; 4] = ["process.call", "funcs.call", "events.send", "events.subscribe"];

/// The entity types every schema must declare: the ones Corral's requests are made of.
pub(crate) const CORRAL_TYPES: [&str; 7] = ["Actor", "Namespace", "Entry", "Host", "Process", "Name", "Capability"];

/// The entity types a node's schema declares beyond [`CORRAL_TYPES`].
pub(crate) const NODE_TYPES: [&str; 1] = ["App"];

/// The folder's schema, or the built-in one of `kind` when it has none. A folder's schema must declare
/// Corral's entity types ([`CORRAL_TYPES`], and [`NODE_TYPES`] for a node) and every action of the built-in
/// schema of its kind but the [`OPTIONAL_ACTIONS`]: a problem naming the schema file lists what is missing.
fn load_schema(file: Option<&SourceFile>, kind: Kind, problems: &mut Vec<Problem>) -> Option<cedar::Schema> {
    let (path, text) = match file {
        Some(file) => (file.path.as_path(), file.text.as_str()),
        None => (Path::new(SCHEMA_FILE), kind.builtin()),
    };
    match cedar::Schema::from_cedarschema_str(text) {
        Ok((schema, _warnings)) => {
            let missing = missing_corral_parts(&schema, kind);
            if missing.is_empty() {
                return Some(schema);
            }
            let message =
                format!("the schema lacks Corral's {} (see the built-in {})", missing.join(", "), kind.builtin_name());
            problems.push(Problem::new(path, None, message));
            None
        }
        Err(error) => {
            problems.push(Problem::from_diagnostic(path, text, &error));
            None
        }
    }
}

/// Corral's entity types and actions that `schema` does not declare, as `entity type `X`` and `action `y``.
fn missing_corral_parts(schema: &cedar::Schema, kind: Kind) -> Vec<String> {
    let types: HashSet<String> = schema.entity_types().map(|t| t.basename().to_string()).collect();
    let node_types: &[&str] = if kind == Kind::Node { &NODE_TYPES } else { &[] };
    let mut missing: Vec<String> = CORRAL_TYPES
        .iter()
        .chain(node_types)
        .filter(|t| !types.contains(**t))
        .map(|t| format!("entity type `{t}`"))
        .collect();
    // The built-in schemas are Corral's own and parse (tests/load.rs loads folders without a schema).
    if let Ok((builtin, _)) = cedar::Schema::from_cedarschema_str(kind.builtin()) {
        let actions: HashSet<&str> = schema.actions().map(|a| a.id().unescaped()).collect();
        let mut wanted: Vec<&str> =
            builtin.actions().map(|a| a.id().unescaped()).filter(|a| !OPTIONAL_ACTIONS.contains(a)).collect();
        wanted.sort_unstable();
        missing.extend(wanted.into_iter().filter(|a| !actions.contains(a)).map(|a| format!("action `{a}`")));
    }
    missing
}

/// A policy id used twice is a problem naming both places.
fn check_ids(policies: &[LoadedPolicy], problems: &mut Vec<Problem>) {
    let place = |policy: &LoadedPolicy| {
        let line = policy.line.map(|l| format!(":{l}")).unwrap_or_default();
        format!("{}{line}", policy.path.display())
    };
    let mut first: HashMap<&str, &LoadedPolicy> = HashMap::new();
    for policy in policies {
        match first.get(policy.id.as_str()) {
            Some(earlier) => {
                let message = format!("duplicate policy id `{}`, first used at {}", policy.id, place(earlier));
                problems.push(located(policy, message));
            }
            None => {
                first.insert(&policy.id, policy);
            }
        }
    }
}

/// Validates every policy against the schema in strict mode (the mode of `cedar validate`).
fn validate(policies: &[LoadedPolicy], files: &[&SourceFile], schema: &cedar::Schema, problems: &mut Vec<Problem>) {
    // A duplicate id is already a problem; only its first policy is validated.
    let mut seen = HashSet::new();
    let unique: Vec<&LoadedPolicy> = policies.iter().filter(|p| seen.insert(&p.id)).collect();
    let set = match cedar::PolicySet::from_policies(unique.iter().map(|p| p.policy.clone())) {
        Ok(set) => set,
        Err(e) => {
            problems.push(Problem::new(Path::new("<built-in>"), None, e.to_string()));
            return;
        }
    };
    let by_id: HashMap<&str, &LoadedPolicy> = unique.iter().map(|p| (p.id.as_str(), *p)).collect();
    let result = cedar::Validator::new(schema.clone()).validate(&set, cedar::ValidationMode::Strict);
    for error in result.validation_errors() {
        let Some(policy) = by_id.get(AsRef::<str>::as_ref(error.policy_id())) else {
            continue;
        };
        // Cedar's message starts "for policy `<id>`, ", which the problem already says.
        let message = message_of(error);
        let prefix = format!("for policy `{}`, ", policy.id);
        let message = message.strip_prefix(&prefix).map(str::to_owned).unwrap_or(message);
        let mut problem = located(policy, message);
        let text = files.get(policy.file).map(|f| f.text.as_str()).unwrap_or_default();
        problem.line = diagnostic_line(text, error).or(policy.line);
        problems.push(problem);
    }
}

/// A problem at `policy`'s place.
fn located(policy: &LoadedPolicy, message: String) -> Problem {
    Problem::new(&policy.path, policy.line, message).in_policy(policy.id.clone())
}

/// Hex SHA-256 over the sorted `(file name, bytes)` of the loaded files, the built-in schema of `kind`
/// counting as `schema.cedarschema` when the folder has none. Lengths are hashed too, so no two sets of files
/// collide by moving bytes across a boundary.
fn revision(files: &[SourceFile], kind: Kind) -> String {
    let has_schema = files.iter().any(|f| f.name == SCHEMA_FILE);
    let default = (!has_schema).then_some((SCHEMA_FILE, kind.builtin()));
    let mut entries: Vec<(&str, &str)> =
        files.iter().map(|f| (f.name.as_str(), f.text.as_str())).chain(default).collect();
    entries.sort();
    let mut hasher = Sha256::new();
    for (name, text) in entries {
        for part in [name, text] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}
