//! The decision cache leaves out of its key what no policy can observe (a caller PID no policy reads, a
//! target PID no policy can tell apart): a cached answer must still always be the answer of evaluating.

use std::collections::BTreeMap;
use std::error::Error;

use corral_policy::{Actor, AttrValue, Decision, PolicySet, Request, Resource};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

type TestResult = Result<(), Box<dyn Error>>;

const SCHEMA: &str = r#"
entity Actor = { "role"?: String, "fav"?: Process };
entity Namespace in [Namespace];
entity Entry in [Namespace];
entity Process in [Entry] = { "actor": Actor, "host": Host };
entity Host in [Namespace];
type Call = { "pid": String, "topic"?: String, "tags"?: Set<String> };
action "manage";
action "process.send", "process.terminate" in ["manage"] appliesTo { principal: [Actor], resource: [Process], context: Call };
action "process.spawn" appliesTo { principal: [Actor], resource: [Entry], context: Call };
// The rest of Corral's entity types and actions, which every schema declares.
entity Name;
entity Capability;
action "process.spawn.monitored";
action "process.spawn.linked";
action "process.exec";
action "process.upgrade";
action "process.host";
action "process.cancel";
action "process.monitor";
action "process.unmonitor";
action "process.link";
action "process.unlink";
action "process.context";
action "process.security";
action "process.registry.register";
action "process.registry.unregister";
"#;

/// Rules that read neither PID: own processes, topics, admins, spawning in a namespace.
const BLIND: &str = r#"
@id("send-own")
permit (principal, action == Action::"process.send", resource is Process) when { resource.actor == principal };
@id("topic")
permit (principal, action == Action::"process.send", resource in Namespace::"a")
when { context has topic && context.topic == "t1" };
@id("admin")
@scope("admin")
permit (principal, action in Action::"manage", resource) when { principal has role && principal.role == "admin" };
@id("spawn-a")
permit (principal, action == Action::"process.spawn", resource in Namespace::"a");
@id("no-bob")
forbid (principal == Actor::"bob", action, resource in Namespace::"b");
@id("role-pattern")
permit (principal, action == Action::"process.terminate", resource) when { principal has role && principal.role like "x*" };
"#;

/// A target named by PID in a scope and in a condition.
const TARGET_LITERAL: &str = r#"
@id("send-any-but-p1")
permit (principal, action == Action::"process.send", resource);
@id("not-p1")
forbid (principal, action == Action::"process.send", resource == Process::"p1");
@id("terminate-p2")
permit (principal, action == Action::"process.terminate", resource) when { [Process::"p2"].contains(resource) };
"#;

/// The caller's PID read.
const CALLER_PID: &str = r#"
@id("caller-c1")
permit (principal, action, resource) when { context.pid == "c1" };
"#;

/// The context used whole (here inside a record), which reads every attribute.
const WHOLE_CONTEXT: &str = r#"
@id("wrapped-c1")
permit (principal, action == Action::"process.send", resource) when { { "c": context }.c.pid == "c1" };
"#;

/// A target named by PID in the stored entities only.
const STORED_TARGET: &str = r#"
@id("favourite")
permit (principal, action == Action::"process.send", resource) when { principal has fav && principal.fav == resource };
"#;

const STORED_ENTITIES: &str = r#"[
  {"uid": {"type": "Actor", "id": "alice"}, "attrs": {"fav": {"__entity": {"type": "Process", "id": "p2"}}}, "parents": []}
]"#;

fn set(policies: &str, entities: Option<&str>) -> Result<PolicySet, Box<dyn Error>> {
    let mut files = vec![("schema.cedarschema", SCHEMA), ("p.cedar", policies)];
    files.extend(entities.map(|e| ("entities.json", e)));
    let files: Vec<(String, String)> = files.into_iter().map(|(n, t)| (n.to_owned(), t.to_owned())).collect();
    Ok(PolicySet::from_files(&files)?)
}

fn sets() -> Result<Vec<(&'static str, PolicySet)>, Box<dyn Error>> {
    Ok(vec![
        ("blind", set(BLIND, None)?),
        ("target literal", set(TARGET_LITERAL, None)?),
        ("caller pid", set(CALLER_PID, None)?),
        ("whole context", set(WHOLE_CONTEXT, None)?),
        ("stored target", set(STORED_TARGET, Some(STORED_ENTITIES))?),
        ("blind with stored target", set(BLIND, Some(STORED_ENTITIES))?),
    ])
}

fn process(pid: &str, entry: &str, actor: &str) -> Resource {
    Resource::Process { pid: pid.into(), entry: entry.into(), host: "a:h".into(), actor: actor.into() }
}

/// One request's inputs, owned.
#[derive(Debug, Clone)]
struct Case {
    principal: Option<Actor>,
    action: &'static str,
    resource: Resource,
    context: Vec<(String, AttrValue)>,
    scopes: Vec<String>,
}

impl Case {
    fn request(&self) -> Request<'_> {
        Request {
            principal: self.principal.as_ref(),
            action: self.action,
            resource: &self.resource,
            context: &self.context,
            scopes: &self.scopes,
        }
    }
}

fn value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        4 => prop::sample::select(vec!["c1", "c2", "t1", "t2", "p1"]).prop_map(AttrValue::from),
        1 => (0i64..3).prop_map(AttrValue::from),
        1 => Just(AttrValue::from(true)),
        1 => prop::collection::vec(prop::sample::select(vec!["t1", "t2"]).prop_map(AttrValue::from), 0..3)
            .prop_map(AttrValue::Set),
        1 => Just(AttrValue::Set(vec![AttrValue::from(1)])),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let actor = prop_oneof![
        3 => prop::sample::select(vec!["alice", "bob", "carol"]).prop_map(|id| Some(Actor::new(id))),
        1 => Just(Some(Actor { id: "carol".into(), meta: BTreeMap::from([("role".into(), AttrValue::from("admin"))]) })),
        1 => Just(Some(Actor { id: "alice".into(), meta: BTreeMap::from([("role".into(), AttrValue::from(1))]) })),
        1 => Just(None),
    ];
    let action = prop::sample::select(vec!["process.send", "process.terminate", "process.spawn", "nonsense"]);
    let resource = prop_oneof![
        6 => (
            prop::sample::select(vec!["p1", "p2", "p3", "p4", ""]),
            prop::sample::select(vec!["a:w", "b:w"]),
            prop::sample::select(vec!["alice", "bob"]),
        )
            .prop_map(|(pid, entry, actor)| process(pid, entry, actor)),
        1 => prop::sample::select(vec!["a:w", "b:w"]).prop_map(|id| Resource::Entry { id: id.into() }),
    ];
    let names = prop::sample::select(vec!["pid", "pid", "pid", "topic", "tags", "undeclared"]);
    let context = prop::collection::vec((names.prop_map(str::to_owned), value()), 0..4);
    let scopes = prop::sample::select(vec![vec![], vec!["admin".to_owned()]]);
    (actor, action, resource, context, scopes).prop_map(|(principal, action, resource, context, scopes)| Case {
        principal,
        action,
        resource,
        context,
        scopes,
    })
}

/// `case` with the target's PID and every `pid` context value renamed (`k == 0` keeps it as it is).
fn renamed(case: &Case, k: usize) -> Case {
    let mut case = case.clone();
    if k == 0 {
        return case;
    }
    if let Resource::Process { pid, .. } = &mut case.resource {
        *pid = format!("p{}", k + 4).into();
    }
    for (name, value) in &mut case.context {
        if name == "pid" && matches!(value, AttrValue::Str(_)) {
            *value = AttrValue::from(format!("c{}", k + 4));
        }
    }
    case
}

fn same(cached: &Decision, evaluated: &Decision) -> bool {
    cached.allowed == evaluated.allowed
        && cached.policies == evaluated.policies
        && cached.errors == evaluated.errors
        && cached.revision == evaluated.revision
}

/// Randomized requests, many differing only in PIDs or in context values, against sets that do and do not
/// observe them: every answer of `decide`, cached or not, is the answer of `decide_uncached`.
#[test]
fn cached_answers_equal_evaluated_ones() -> TestResult {
    let sets = sets()?;
    let mut runner = TestRunner::new(Config { cases: 48, failure_persistence: None, ..Config::default() });
    let hits = std::cell::Cell::new(0usize);
    runner
        .run(&prop::collection::vec(case(), 1..40), |cases| {
            // Each case, then copies of it that differ only in the target's and the caller's PIDs.
            let cases: Vec<Case> = cases.iter().flat_map(|case| (0..3).map(|k| renamed(case, k))).collect();
            for (name, set) in &sets {
                for case in &cases {
                    let request = case.request();
                    let decided = set.decide(&request);
                    let evaluated = set.decide_uncached(&request);
                    if decided.cached {
                        hits.set(hits.get() + 1);
                    }
                    if !same(&decided, &evaluated) {
                        return Err(TestCaseError::fail(format!(
                            "{name}: {case:?}\n decided {decided:?}\n evaluated {evaluated:?}"
                        )));
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    assert!(hits.get() > 1_000, "the cache was exercised: {} hits", hits.get());
    Ok(())
}

fn send<'a>(actor: &'a Actor, resource: &'a Resource, context: &'a [(String, AttrValue)]) -> Request<'a> {
    Request { principal: Some(actor), action: "process.send", resource, context, scopes: &[] }
}

fn caller(pid: &str) -> Vec<(String, AttrValue)> {
    vec![("pid".to_owned(), AttrValue::from(pid))]
}

#[test]
fn pids_no_policy_observes_share_one_entry() -> TestResult {
    let set = set(BLIND, None)?;
    let alice = Actor::new("alice");
    let first = set.decide(&send(&alice, &process("p1", "a:w", "alice"), &caller("c1")));
    assert!(first.allowed && !first.cached, "{first:?}");
    for (target, from) in [("p2", "c1"), ("p1", "c2"), ("p9", "c9")] {
        let decision = set.decide(&send(&alice, &process(target, "a:w", "alice"), &caller(from)));
        assert!(decision.allowed && decision.cached, "{target} from {from}: {decision:?}");
    }
    assert_eq!(set.cached_decisions(), 1);
    // What the policies do observe still tells requests apart: the process's owner, entry and the topic.
    let bobs = set.decide(&send(&alice, &process("p1", "a:w", "bob"), &caller("c1")));
    assert!(!bobs.cached, "{bobs:?}");
    let topic = vec![("pid".to_owned(), AttrValue::from("c1")), ("topic".to_owned(), AttrValue::from("t1"))];
    let with_topic = set.decide(&send(&alice, &process("p1", "a:w", "bob"), &topic));
    assert!(with_topic.allowed && !with_topic.cached, "{with_topic:?}");
    // An attribute the schema does not declare never reaches Cedar, and is not in the key.
    let mut extra = topic.clone();
    extra.push(("undeclared".to_owned(), AttrValue::from(1)));
    assert!(set.decide(&send(&alice, &process("p1", "a:w", "bob"), &extra)).cached);
    Ok(())
}

#[test]
fn an_unread_attribute_keeps_its_type_in_the_key() -> TestResult {
    let set = set(BLIND, None)?;
    let alice = Actor::new("alice");
    let target = process("p1", "a:w", "alice");
    assert!(set.decide(&send(&alice, &target, &caller("c1"))).allowed);
    // `pid` must be a string: a number is an invalid request, not the cached allow.
    let numeric = vec![("pid".to_owned(), AttrValue::from(7))];
    let decision = set.decide(&send(&alice, &target, &numeric));
    assert!(!decision.allowed && !decision.cached, "{decision:?}");
    assert!(decision.errors.iter().any(|e| e.contains("invalid request")), "{decision:?}");
    Ok(())
}

#[test]
fn pids_a_policy_observes_are_in_the_key() -> TestResult {
    let alice = Actor::new("alice");
    let literal = set(TARGET_LITERAL, None)?;
    assert!(literal.decide(&send(&alice, &process("p2", "a:w", "alice"), &caller("c1"))).allowed);
    let p1 = literal.decide(&send(&alice, &process("p1", "a:w", "alice"), &caller("c1")));
    assert!(!p1.allowed && !p1.cached, "{p1:?}");
    assert_eq!(*p1.policies, ["not-p1"]);

    let stored = set(STORED_TARGET, Some(STORED_ENTITIES))?;
    assert!(stored.decide(&send(&alice, &process("p2", "a:w", "bob"), &caller("c1"))).allowed);
    let other = stored.decide(&send(&alice, &process("p3", "a:w", "bob"), &caller("c1")));
    assert!(!other.allowed && !other.cached, "{other:?}");

    let caller_pid = set(CALLER_PID, None)?;
    let target = process("p1", "a:w", "bob");
    assert!(caller_pid.decide(&send(&alice, &target, &caller("c1"))).allowed);
    let c2 = caller_pid.decide(&send(&alice, &target, &caller("c2")));
    assert!(!c2.allowed && !c2.cached, "{c2:?}");
    // The target's PID is still not observed there.
    assert!(caller_pid.decide(&send(&alice, &process("p7", "a:w", "bob"), &caller("c1"))).cached);
    Ok(())
}

/// Requests that only reach an evaluation error are decided again for their own PID, so the error names it.
#[test]
fn errors_name_the_request_s_own_process() -> TestResult {
    let set = set(BLIND, None)?;
    let alice = Actor { id: "alice".into(), meta: BTreeMap::from([("role".into(), AttrValue::from(1))]) };
    for pid in ["p1", "p2"] {
        let (target, context) = (process(pid, "a:w", "bob"), caller("c1"));
        let request = Request { action: "process.terminate", ..send(&alice, &target, &context) };
        let decision = set.decide(&request);
        assert!(!decision.allowed && !decision.cached, "{decision:?}");
        assert_eq!(decision.errors, set.decide_uncached(&request).errors);
    }
    Ok(())
}

/// Distinct requests decided again are all found: the cache grows without losing entries (the old cache
/// lost the entries its shards rehashed when they grew: 74 % misses on a third pass over 2,000 requests).
#[test]
fn every_decision_is_found_again_after_the_cache_grows() -> TestResult {
    let set = set(BLIND, None)?;
    let actors: Vec<Actor> = (0..5_000).map(|i| Actor::new(format!("user{i}"))).collect();
    let target = process("p1", "a:w", "alice");
    let context = caller("c1");
    for pass in 0..3 {
        let misses = actors.iter().filter(|actor| !set.decide(&send(actor, &target, &context)).cached).count();
        assert_eq!(misses, if pass == 0 { actors.len() } else { 0 }, "pass {pass}");
    }
    assert_eq!(set.cached_decisions(), actors.len());
    Ok(())
}
