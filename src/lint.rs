//! What `corral check` reads from each entry's Luau source: the string literals of the calls whose argument
//! decides, before anything runs, whether the call can work (issue 12, "errors a user can act on").
//!
//! The source is parsed with `full_moon` (Luau syntax) into an AST, and one walk collects:
//! - `require("x")`: the module names the code asks for;
//! - `process.spawn*("ns:name", "ns:host", ...)`, `process.exec(...)`, `ao.spawn("ns:name")` and a builder's
//!   `:spawn*(...)`: entry ids (and host ids) written as literals;
//! - `security.new_actor("id")`: actor ids; `:with_actor("id")`: a string where an actor is wanted;
//! - `security.named_scope("name")` and `security.new_scope({"a", "b"})`: scope names.
//!
//! Only literals are read: a name computed at run time is not guessed. The walk is bounded: a source over
//! [`MAX_SOURCE`] bytes is not read (the caller reports that), and the parse and walk (which recurse) run on one
//! thread with a [`STACK`]-byte stack, so deeply nested expressions (already bounded by Luau's own parser, which
//! `corral check` runs first) cannot overflow it.

use std::sync::Arc;

use full_moon::ast::{Call, Expression, Field, FunctionArgs, FunctionCall, Index, Prefix, Suffix};
use full_moon::tokenizer::{TokenReference, TokenType};
use full_moon::visitors::Visitor;

/// The largest source, in bytes, that is read (1 MiB): a bigger one is reported, not parsed (its AST would take
/// tens of times its size).
pub const MAX_SOURCE: usize = 1 << 20;

/// The stack of the thread that parses and walks (256 MiB reserved; only what the recursion touches is used).
pub const STACK: usize = 256 << 20;

/// The spawn functions of `process` (and the builder's methods of the same names): their first argument is an
/// entry id, their second a host id.
const SPAWNS: [&str; 5] = ["spawn", "spawn_monitored", "spawn_linked", "spawn_linked_monitored", "exec"];

/// A string literal argument of a call, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Literal {
    /// The call as written, e.g. `require`, `process.spawn`, `:with_actor`.
    pub call: String,
    /// The literal's text (between the quotes, escapes not decoded).
    pub value: String,
    /// Its 1-based line.
    pub line: usize,
}

/// The literals of one source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// `require("x")`.
    pub requires: Vec<Literal>,
    /// The entry id of a spawn or exec call, with its host literal when the second argument is one.
    pub spawns: Vec<(Literal, Option<Literal>)>,
    /// `security.new_actor("id")`.
    pub actors: Vec<Literal>,
    /// `:with_actor("id")`: a string where an actor is wanted (the call raises at run time).
    pub actor_strings: Vec<Literal>,
    /// `named_scope("x")`, `new_scope({"x", ...})`.
    pub scopes: Vec<Literal>,
}

/// Reads each source (id, text) on one big-stack thread. Per source: its literals, or why it was not read
/// (over [`MAX_SOURCE`], or not Luau that `full_moon` parses: the first parse error with its line).
pub fn read_all(sources: Vec<(String, Arc<str>)>) -> Vec<(String, Result<Found, String>)> {
    let names: Vec<String> = sources.iter().map(|(id, _)| id.clone()).collect();
    let walked = std::thread::Builder::new()
        .name("corral-lint".into())
        .stack_size(STACK)
        .spawn(move || sources.into_iter().map(|(id, text)| (id, read(&text))).collect::<Vec<_>>());
    match walked.map(|t| t.join()) {
        Ok(Ok(found)) => found,
        _ => names.into_iter().map(|id| (id, Err("the Luau reader failed on it".to_string()))).collect(),
    }
}

/// The literals of one source (call on a thread with a large stack, as [`read_all`] does).
/// Errors: over [`MAX_SOURCE`], or the first parse error.
pub fn read(source: &str) -> Result<Found, String> {
    if source.len() > MAX_SOURCE {
        return Err(format!("{} bytes, over the {MAX_SOURCE} bytes corral check reads", source.len()));
    }
    let parsed = full_moon::parse_fallible(source, full_moon::LuaVersion::luau());
    if let Some(e) = parsed.errors().first() {
        return Err(format!("not read: {e}"));
    }
    let mut walk = Walk::default();
    walk.visit_ast(parsed.ast());
    Ok(walk.found)
}

#[derive(Default)]
struct Walk {
    found: Found,
}

/// The text and line of a string literal token.
fn string_of(token: &TokenReference) -> Option<(String, usize)> {
    match token.token().token_type() {
        TokenType::StringLiteral { literal, .. } => Some((literal.to_string(), token.token().start_position().line())),
        _ => None,
    }
}

fn string_expr(e: &Expression) -> Option<(String, usize)> {
    match e {
        Expression::String(t) => string_of(t),
        _ => None,
    }
}

/// A string literal's text and 1-based line.
type Text = (String, usize);

/// The first and second argument expressions when they are string literals.
fn literal_args(args: &FunctionArgs) -> (Option<Text>, Option<Text>) {
    match args {
        FunctionArgs::String(t) => (string_of(t), None),
        FunctionArgs::Parentheses { arguments, .. } => {
            let mut it = arguments.iter();
            (it.next().and_then(string_expr), it.next().and_then(string_expr))
        }
        _ => (None, None),
    }
}

/// The string literals of a table constructor argument (`{"a", "b"}`) or of a plain string argument.
fn table_strings(args: &FunctionArgs) -> Vec<(String, usize)> {
    match args {
        FunctionArgs::TableConstructor(t) => t
            .fields()
            .iter()
            .filter_map(|f| match f {
                Field::NoKey(e) => string_expr(e),
                _ => None,
            })
            .collect(),
        FunctionArgs::Parentheses { arguments, .. } => match arguments.iter().next() {
            Some(Expression::TableConstructor(t)) => t
                .fields()
                .iter()
                .filter_map(|f| match f {
                    Field::NoKey(e) => string_expr(e),
                    _ => None,
                })
                .collect(),
            Some(e) => string_expr(e).into_iter().collect(),
            None => vec![],
        },
        FunctionArgs::String(t) => string_of(t).into_iter().collect(),
        _ => vec![],
    }
}

fn literal(call: &str, (value, line): (String, usize)) -> Literal {
    Literal { call: call.to_string(), value, line }
}

impl Walk {
    /// One call of a chain: `callee` is the dotted name it calls through (`process.spawn`: prefix `process`,
    /// name `spawn`), or a method name.
    fn call(&mut self, prefix: Option<&str>, name: &str, method: bool, args: &FunctionArgs) {
        let shown = match (method, prefix) {
            (true, _) => format!(":{name}"),
            (false, Some(p)) => format!("{p}.{name}"),
            (false, None) => name.to_string(),
        };
        let spawnable = (method || prefix == Some("process")) && SPAWNS.contains(&name);
        if spawnable || (!method && prefix == Some("ao") && name == "spawn") {
            let (id, host) = literal_args(args);
            if let Some(id) = id {
                let host = if prefix == Some("ao") { None } else { host.map(|h| literal(&shown, h)) };
                self.found.spawns.push((literal(&shown, id), host));
            }
            return;
        }
        match name {
            "require" if prefix.is_none() && !method => {
                if let (Some(m), _) = literal_args(args) {
                    self.found.requires.push(literal(&shown, m));
                }
            }
            "with_actor" if method => {
                if let (Some(a), _) = literal_args(args) {
                    self.found.actor_strings.push(literal(&shown, a));
                }
            }
            "new_actor" if !method && prefix.is_some() => {
                if let (Some(a), _) = literal_args(args) {
                    self.found.actors.push(literal(&shown, a));
                }
            }
            "named_scope" | "new_scope" if !method => {
                self.found.scopes.extend(table_strings(args).into_iter().map(|s| literal(&shown, s)));
            }
            _ => {}
        }
    }
}

impl Visitor for Walk {
    fn visit_function_call(&mut self, node: &FunctionCall) {
        let head = match node.prefix() {
            Prefix::Name(t) => Some(t.token().to_string()),
            _ => None,
        };
        // `prefix` is the name before the last `.name` (only for `a.b(...)`, the head then one index);
        // `last` is the name the next anonymous call calls.
        let mut last: Option<String> = head.clone();
        let mut before: Option<String> = None;
        for (position, suffix) in node.suffixes().enumerate() {
            match suffix {
                Suffix::Index(Index::Dot { name, .. }) => {
                    before = if position == 0 { head.clone() } else { None };
                    last = Some(name.token().to_string());
                }
                Suffix::Call(Call::AnonymousCall(args)) => {
                    if let Some(name) = last.take() {
                        self.call(before.take().as_deref(), &name, false, args);
                    }
                }
                Suffix::Call(Call::MethodCall(m)) => {
                    self.call(None, &m.name().token().to_string(), true, m.args());
                    last = None;
                    before = None;
                }
                _ => {
                    last = None;
                    before = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(l: &[Literal]) -> Vec<(String, usize)> {
        l.iter().map(|l| (l.value.clone(), l.line)).collect()
    }

    #[test]
    fn reads_each_kind_of_call_with_its_line() {
        let found = read(
            "local time = require(\"time\")\nlocal u = require 'util'\n\
             local p = process.spawn(\"app:worker\", \"app:procs\", 1)\n\
             process.with_context({}):with_actor(\"user:bob\"):spawn_monitored('app:w2', x)\n\
             local a = security.new_actor(\"svc:x\")\nsecurity.new_scope({\"s1\", \"s2\"})\n\
             security.named_scope(\"s3\")\nao.spawn(\"app:member\", {})\nfoo.spawn(\"not:checked\")\n\
             local m = obj:require(\"nope\")\n",
        )
        .unwrap();
        assert_eq!(values(&found.requires), vec![("time".into(), 1), ("util".into(), 2)]);
        let spawns: Vec<_> = found
            .spawns
            .iter()
            .map(|(id, host)| (id.value.as_str(), host.as_ref().map(|h| h.value.as_str())))
            .collect();
        assert_eq!(spawns, vec![("app:worker", Some("app:procs")), ("app:w2", None), ("app:member", None)]);
        assert_eq!(found.spawns[1].0.call, ":spawn_monitored");
        assert_eq!(values(&found.actors), vec![("svc:x".into(), 5)]);
        assert_eq!(values(&found.actor_strings), vec![("user:bob".into(), 4)]);
        assert_eq!(values(&found.scopes), vec![("s1".into(), 6), ("s2".into(), 6), ("s3".into(), 7)]);
    }

    #[test]
    fn computed_names_are_not_guessed() {
        let found = read("local n = \"time\"\nrequire(n)\nprocess.spawn(id, host)\n").unwrap();
        assert_eq!(found, Found::default());
    }

    #[test]
    fn an_oversized_source_is_reported_not_read() {
        let big = "-- x\n".repeat(MAX_SOURCE / 4);
        let e = read(&big).unwrap_err();
        assert!(e.contains("over the"), "{e}");
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_reader_thread() {
        // 800 nested parentheses (Luau's own parser accepts about this many) and a deep table.
        let source = format!(
            "local x = {}1{}\nlocal t = {}{}\nrequire(\"time\")\n",
            "(".repeat(800),
            ")".repeat(800),
            "{".repeat(800),
            "}".repeat(800)
        );
        let found = read_all(vec![("app:deep".into(), source.into())]);
        let found = found[0].1.as_ref().unwrap();
        assert_eq!(found.requires.len(), 1);
    }
}

/// What `corral check` found in the app's sources and settings: problems (the app does not start while there
/// is one) and warnings (printed, not counted).
#[derive(Debug, Default)]
pub struct Report {
    /// `file:line: message`, each naming what to change.
    pub problems: Vec<String>,
    /// `file: message`.
    pub warnings: Vec<String>,
    /// Every scope name a `named_scope` / `new_scope` literal selects.
    pub scopes: std::collections::BTreeSet<String>,
}

/// The ids of `entities.json` by entity type (`Actor`, `Tenant`, ...), as Cedar's JSON entity format writes
/// them (`{"uid": {"type": T, "id": I}}`, or `{"uid": {"__entity": {...}}}`). `None` when the file is absent
/// or not such a JSON array (the policy loader reports a bad file).
pub fn entity_ids(file: &std::path::Path) -> Option<std::collections::BTreeSet<(String, String)>> {
    let text = std::fs::read_to_string(file).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let ids = json
        .as_array()?
        .iter()
        .filter_map(|e| {
            let uid = e.get("uid")?;
            let uid = uid.get("__entity").unwrap_or(uid);
            Some((uid.get("type")?.as_str()?.to_string(), uid.get("id")?.as_str()?.to_string()))
        })
        .collect();
    Some(ids)
}

/// The actors a policy folder knows: the `Actor` entities of its `entities.json` and every `Actor::"id"` its
/// `*.cedar` files' policies name (parsed with `cedar-policy`; an actor that a policy names directly needs no
/// entity).
#[derive(Debug, Default)]
pub struct KnownActors {
    /// The actor ids.
    pub ids: std::collections::BTreeSet<String>,
    /// The `entities.json` they came from (for messages).
    pub entities_file: std::path::PathBuf,
}

impl KnownActors {
    /// Those of the policy folder `dir`; `None` when it has no readable `entities.json` (then nothing is
    /// checked: every actor is an entity-less principal by design).
    pub fn of(dir: &std::path::Path) -> Option<KnownActors> {
        let entities_file = dir.join("entities.json");
        let mut ids: std::collections::BTreeSet<String> =
            entity_ids(&entities_file)?.into_iter().filter(|(t, _)| t == "Actor").map(|(_, id)| id).collect();
        let mut files: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
        files.retain(|p| p.extension().is_some_and(|x| x == "cedar"));
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let Ok(set) = <cedar_policy::PolicySet as std::str::FromStr>::from_str(&text) else { continue };
            for json in set.policies().filter_map(|p| p.to_json().ok()) {
                let named = crate::policy_lint::entity_literals(&json).into_iter().filter(|(t, _)| t == "Actor");
                ids.extend(named.map(|(_, id)| id));
            }
        }
        Some(KnownActors { ids, entities_file })
    }
}

/// The closest of `candidates` to `word` within a few edits, as ` (did you mean `x`?)`, else empty.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let most = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, _)| *d <= most)
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Every finding of the app's sources: a `require` the entry does not grant, a spawn of an entry or host that
/// does not exist (or of a library), an actor literal (or the `[root]` actor of `corral.toml`) that
/// `entities` (of `entities_file`) lacks, and the sources that could not be read.
pub fn check_app(app: &corral_core::app::App, known: Option<&KnownActors>) -> Report {
    use corral_core::app::EntryKind;
    use corral_sandbox::modules::require::{BUILTIN, COMPAT_BUILTIN, is_builtin};
    let wippy = app.config.wippy;
    let mut report = Report::default();
    let sources = app.entries.values().map(|e| (e.id.clone(), e.source.clone())).collect();
    let unknown_actor = |id: &str| known.is_some_and(|k| !k.ids.contains(id));
    let actor_hint = |id: &str| did_you_mean(id, known.iter().flat_map(|k| k.ids.iter().map(String::as_str)));
    let entities_file = known.map(|k| k.entities_file.display().to_string()).unwrap_or_default();
    for (id, found) in read_all(sources) {
        let Some(entry) = app.entries.get(&id) else { continue };
        let src = entry.source_path.display();
        let manifest = format!("{}:{}", entry.file.display(), entry.line);
        let found = match found {
            Ok(found) => found,
            Err(why) => {
                report.warnings.push(format!("{src}: not checked for requires and spawns: {why}"));
                continue;
            }
        };
        for r in &found.requires {
            let name = r.value.as_str();
            if entry.modules.iter().any(|m| m == name) || entry.imports.contains_key(name) {
                continue;
            }
            let (line, at) = (r.line, &manifest);
            if is_builtin(name, wippy) {
                report.problems.push(format!(
                    "{src}:{line}: require(\"{name}\") but entry `{id}` does not list `{name}` in `modules:` ({at})"
                ));
            } else {
                let mut known: Vec<&str> = entry.imports.keys().map(String::as_str).collect();
                known.extend(BUILTIN);
                if wippy {
                    known.extend(COMPAT_BUILTIN);
                }
                report.problems.push(format!(
                    "{src}:{line}: require(\"{name}\") but entry `{id}` has no import `{name}` in `imports:` and \
                     there is no built-in module `{name}` ({at}){}",
                    did_you_mean(name, known)
                ));
            }
        }
        for (target, host) in &found.spawns {
            let (call, name, line) = (&target.call, target.value.as_str(), target.line);
            match app.entries.get(name) {
                None => report.problems.push(format!(
                    "{src}:{line}: {call}(\"{name}\") but no entry `{name}` exists{}",
                    did_you_mean(
                        name,
                        app.entries.values().filter(|e| e.kind != EntryKind::Library).map(|e| e.id.as_str())
                    )
                )),
                Some(e) if e.kind == EntryKind::Library => report.problems.push(format!(
                    "{src}:{line}: {call}(\"{name}\") but `{name}` is a library.lua entry ({}:{}), which cannot run \
                     as a process",
                    e.file.display(),
                    e.line
                )),
                Some(_) => {}
            }
            if let Some(h) = host {
                let host = h.value.as_str();
                if host != corral_core::runtime::DEFAULT_HOST && !app.hosts.contains_key(host) {
                    report.problems.push(format!(
                        "{src}:{}: {call}(\"{name}\", \"{host}\") but no host `{host}` exists{}",
                        h.line,
                        did_you_mean(host, app.hosts.keys().map(String::as_str))
                    ));
                }
            }
        }
        for a in found.actors.iter().filter(|a| unknown_actor(&a.value)) {
            report.problems.push(format!(
                "{src}:{}: {}(\"{}\") but {entities_file} has no Actor \"{}\" and no policy names it{}",
                a.line,
                a.call,
                a.value,
                a.value,
                actor_hint(&a.value)
            ));
        }
        for a in &found.actor_strings {
            report.problems.push(format!(
                "{src}:{}: {}(\"{}\") passes a string, but with_actor takes an actor: write \
                 :with_actor(security.new_actor(\"{}\")) (and list `security` in the entry's `modules:`)",
                a.line, a.call, a.value, a.value
            ));
        }
        report.scopes.extend(found.scopes.into_iter().map(|s| s.value));
    }
    if let Some(actor) = app.config.root_actor.as_deref().filter(|a| unknown_actor(a)) {
        let toml = app.root.join(corral_core::app::CONFIG_FILE);
        let line = line_of_key(&toml, "actor").map(|l| format!(":{l}")).unwrap_or_default();
        report.problems.push(format!(
            "{}{line}: [root] actor \"{actor}\" but {entities_file} has no Actor \"{actor}\" and no policy names \
             it{}",
            toml.display(),
            actor_hint(actor)
        ));
    }
    report
}

/// The 1-based line of the first `key = ...` or `"key" = ...` of a small TOML file (for messages).
pub fn line_of_key(file: &std::path::Path, key: &str) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            let quoted = l.strip_prefix('"').and_then(|l| l.strip_prefix(key)).and_then(|l| l.strip_prefix('"'));
            quoted.or_else(|| l.strip_prefix(key)).is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}
