//! Policy tests: requests with the decision their authors expect, run against a loaded set, in the spirit
//! of `cedar run-tests` but in Corral's terms (actors, PIDs, entries, scopes).
//!
//! A policy folder keeps its tests in `tests/*.yaml` (JSON is YAML too). Each file is a list of cases:
//!
//! ```yaml
//! - name: alice sends to her own worker
//!   principal: user:alice                # an actor id; or {id: user:alice, meta: {role: admin}}; or null
//!   action: process.send
//!   resource: {process: "{local@1|acme:processes|7}", entry: acme.workers:handler,
//!              host: acme:processes, actor: user:alice}
//!   context: {topic: jobs}               # optional; `pid` defaults to "{test@0|test:host|1}"
//!   scopes: [tenant_acme]                # optional
//!   expect: allow                        # allow | deny
//!   policies: [own-processes]            # optional: exactly the deciding policy ids
//! ```
//!
//! A resource is one of `{entry: ID}`, `{host: ID}`, `{process: PID, entry: ID, host: ID, actor: ID}`,
//! `{name: NAME}`, `{capability: context|security}` or, in a node's policy folder, `{app: NAME}`. Context values are strings, integers, booleans,
//! lists (sets) and mappings (records).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::{LoadError, Problem};
use crate::request::{Actor, AttrValue, Decision, Request, Resource};
use crate::set::PolicySet;

/// The folder of a policy folder that holds its tests.
pub const TESTS_DIR: &str = "tests";

/// The caller PID a test's context has when it does not set `pid`.
pub const DEFAULT_PID: &str = "{test@0|test:host|1}";

/// One policy test: a request and the decision expected for it.
#[derive(Clone, Debug)]
pub struct PolicyTest {
    /// The test's name (`name:`), or `<file>:<line>` when it has none.
    pub name: String,
    /// The file it comes from.
    pub file: PathBuf,
    /// The line the test starts on.
    pub line: Option<u32>,
    /// The principal; `None` for a test of the no-actor rule.
    pub principal: Option<Actor>,
    /// The action id, e.g. `process.send`.
    pub action: String,
    /// The resource.
    pub resource: Resource,
    /// The context, `pid` first.
    pub context: Vec<(String, AttrValue)>,
    /// The caller's scopes.
    pub scopes: Vec<String>,
    /// `true` for `expect: allow`.
    pub expect_allow: bool,
    /// The deciding policy ids expected, when the test names them.
    pub policies: Option<Vec<String>>,
}

/// A test and what the set decided.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The test.
    pub test: PolicyTest,
    /// The decision.
    pub decision: Decision,
    /// Why the test failed; `None` when it passed.
    pub failure: Option<String>,
}

impl fmt::Display for Outcome {
    /// `ok   <name>` or `FAIL <name> (<file>:<line>): <why>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            None => write!(f, "ok   {}", self.test.name),
            Some(why) => {
                let line = self.test.line.map(|l| format!(":{l}")).unwrap_or_default();
                write!(f, "FAIL {} ({}{line}): {why}", self.test.name, self.test.file.display())
            }
        }
    }
}

impl PolicyTest {
    /// Decides the test's request against `set` (through the cache, as the runtime does) and compares.
    pub fn run(&self, set: &PolicySet) -> Outcome {
        let request = Request {
            principal: self.principal.as_ref(),
            action: &self.action,
            resource: &self.resource,
            context: &self.context,
            scopes: &self.scopes,
        };
        let decision = set.decide(&request);
        let word = |allowed: bool| if allowed { "allow" } else { "deny" };
        let mut failure = None;
        if decision.allowed != self.expect_allow {
            let errors =
                if decision.errors.is_empty() { String::new() } else { format!(", errors {:?}", decision.errors) };
            failure = Some(format!(
                "expected {}, got {} (policies {:?}{errors})",
                word(self.expect_allow),
                word(decision.allowed),
                decision.policies
            ));
        } else if let Some(expected) = &self.policies {
            let mut expected = expected.clone();
            expected.sort();
            if *decision.policies != *expected {
                failure = Some(format!(
                    "{} as expected, but by policies {:?}, not {expected:?}",
                    word(decision.allowed),
                    decision.policies
                ));
            }
        }
        Outcome { test: self.clone(), decision, failure }
    }
}

/// Reads every test file of the policy folder `dir` (`dir/tests/*.yaml`, `*.yml`, `*.json`, sorted by
/// name). A folder without `tests/` has no tests.
///
/// # Errors
/// Every problem at once, each naming the file and line: unreadable files, invalid YAML, unknown keys, a
/// resource of no known form, `expect` other than allow or deny.
pub fn load_tests(dir: &Path) -> Result<Vec<PolicyTest>, LoadError> {
    let tests_dir = dir.join(TESTS_DIR);
    let Ok(entries) = std::fs::read_dir(&tests_dir) else { return Ok(Vec::new()) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json"))
        .collect();
    files.sort();
    let mut tests = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => parse_tests(&file, &text, &mut tests, &mut problems),
            Err(e) => problems.push(Problem::new(&file, None, format!("cannot read: {e}"))),
        }
    }
    if problems.is_empty() { Ok(tests) } else { Err(LoadError { problems }) }
}

/// Parses one test file's `text` (named `file` in problems).
pub fn parse_tests(file: &Path, text: &str, tests: &mut Vec<PolicyTest>, problems: &mut Vec<Problem>) {
    let cases: Vec<Spanned<RawTest>> = match serde_saphyr::from_str(text) {
        Ok(cases) => cases,
        Err(e) => {
            let line = e.location().map(|l| l.line()).filter(|l| *l > 0).map(|l| u32::try_from(l).unwrap_or(0));
            let message = e.without_snippet().to_string().replace('\n', " ");
            problems.push(Problem::new(file, line, format!("invalid policy tests: {message}")));
            return;
        }
    };
    for case in cases {
        let line = u32::try_from(case.referenced.line()).ok().filter(|l| *l > 0);
        match case.value.into_test(file, line) {
            Ok(test) => tests.push(test),
            Err(message) => problems.push(Problem::new(file, line, message)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: Option<String>,
    principal: Option<RawPrincipal>,
    action: String,
    resource: RawResource,
    #[serde(default)]
    context: BTreeMap<String, AttrValue>,
    #[serde(default)]
    scopes: Vec<String>,
    expect: String,
    policies: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPrincipal {
    Id(String),
    Actor {
        id: String,
        #[serde(default)]
        meta: BTreeMap<String, AttrValue>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    entry: Option<String>,
    host: Option<String>,
    process: Option<String>,
    actor: Option<String>,
    name: Option<String>,
    capability: Option<String>,
    app: Option<String>,
    event_system: Option<String>,
}

impl RawTest {
    fn into_test(self, file: &Path, line: Option<u32>) -> Result<PolicyTest, String> {
        let name = self.name.unwrap_or_else(|| {
            let base = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            format!("{base}:{}", line.unwrap_or(0))
        });
        let expect_allow = match self.expect.as_str() {
            "allow" => true,
            "deny" => false,
            other => return Err(format!("test `{name}`: expect must be `allow` or `deny`, not `{other}`")),
        };
        let resource = self.resource.into_resource().map_err(|e| format!("test `{name}`: {e}"))?;
        let principal = self.principal.map(|p| match p {
            RawPrincipal::Id(id) => Actor::new(id),
            RawPrincipal::Actor { id, meta } => Actor { id, meta },
        });
        let mut given = self.context;
        let pid = given.remove("pid").unwrap_or_else(|| AttrValue::from(DEFAULT_PID));
        let context: Vec<(String, AttrValue)> = std::iter::once(("pid".to_owned(), pid)).chain(given).collect();
        Ok(PolicyTest {
            name,
            file: file.to_path_buf(),
            line,
            principal,
            action: self.action,
            resource,
            context,
            scopes: self.scopes,
            expect_allow,
            policies: self.policies,
        })
    }
}

impl RawResource {
    fn into_resource(self) -> Result<Resource, String> {
        let form = "a resource is {entry}, {host}, {process, entry, host, actor}, {name}, {capability}, {app} or \
                    {event_system}";
        match self {
            RawResource {
                event_system: Some(name),
                entry: None,
                host: None,
                process: None,
                actor: None,
                name: None,
                capability: None,
                app: None,
            } => Ok(Resource::EventSystem { name }),
            RawResource { event_system: Some(_), .. } => Err(form.to_owned()),
            RawResource {
                process: Some(pid),
                entry: Some(entry),
                host: Some(host),
                actor: Some(actor),
                name: None,
                capability: None,
                app: None,
                event_system: None,
            } => Ok(Resource::Process { pid: pid.into(), entry: entry.into(), host: host.into(), actor: actor.into() }),
            RawResource { process: Some(_), .. } => {
                Err(format!("a process resource needs entry, host and actor ({form})"))
            }
            RawResource {
                entry: Some(id), host: None, actor: None, name: None, capability: None, app: None, ..
            } => Ok(Resource::Entry { id }),
            RawResource {
                host: Some(id), entry: None, actor: None, name: None, capability: None, app: None, ..
            } => Ok(Resource::Host { id }),
            RawResource {
                name: Some(name), entry: None, host: None, actor: None, capability: None, app: None, ..
            } => Ok(Resource::Name { name }),
            RawResource {
                capability: Some(name), entry: None, host: None, actor: None, name: None, app: None, ..
            } => Ok(Resource::Capability { name }),
            RawResource {
                app: Some(name), entry: None, host: None, actor: None, name: None, capability: None, ..
            } => Ok(Resource::App { name }),
            _ => Err(form.to_owned()),
        }
    }
}
