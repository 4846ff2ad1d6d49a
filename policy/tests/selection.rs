//! Pre-selection by scope and action, and the decision cache: both must give the answer of the whole set.

use std::collections::BTreeMap;
use std::error::Error;

use corral_policy::{Actor, AttrValue, PolicySet, Request, Resource};

type TestResult = Result<(), Box<dyn Error>>;

const SCHEMA: &str = r#"
entity Actor = { "role"?: String };
entity Namespace in [Namespace];
entity Entry in [Namespace];
entity Process in [Entry] = { "actor": Actor, "host": Host };
entity Host in [Namespace];
type Call = { "pid": String, "topic"?: String };
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

const POLICIES: &str = r#"
@id("send-own")
permit (principal, action == Action::"process.send", resource is Process) when { resource.actor == principal };

@id("manage-by-admin")
@scope("admin")
permit (principal, action in Action::"manage", resource);

@id("anything-for-root")
permit (principal == Actor::"root", action, resource);

@id("no-bob-spawn")
forbid (principal == Actor::"bob", action in [Action::"process.spawn"], resource);
"#;

fn set() -> Result<PolicySet, Box<dyn Error>> {
    let files = [("schema.cedarschema", SCHEMA), ("p.cedar", POLICIES)];
    Ok(PolicySet::from_files(&files.map(|(n, t)| (n.to_owned(), t.to_owned())))?)
}

fn process(actor: &str) -> Resource {
    Resource::Process { pid: "<p>".into(), entry: "a:w".into(), host: "a:h".into(), actor: actor.into() }
}

fn scopes(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn only_policies_of_the_action_and_scopes_are_selected() -> TestResult {
    let set = set()?;
    assert_eq!(set.applicable("process.send", &[]), ["send-own", "anything-for-root"]);
    // `action in Action::"manage"` covers both members of the group.
    let admin = scopes(&["admin"]);
    assert_eq!(set.applicable("process.send", &admin), ["send-own", "manage-by-admin", "anything-for-root"]);
    assert_eq!(set.applicable("process.terminate", &admin), ["manage-by-admin", "anything-for-root"]);
    assert_eq!(set.applicable("process.spawn", &admin), ["anything-for-root", "no-bob-spawn"]);
    // Unknown scopes select nothing more.
    assert_eq!(set.applicable("process.terminate", &scopes(&["nobody"])), ["anything-for-root"]);
    Ok(())
}

#[test]
fn selected_decisions_match_the_whole_set() -> TestResult {
    let set = set()?;
    let context = [("pid".to_owned(), AttrValue::from("<c>"))];
    let entry = Resource::Entry { id: "a:w".into() };
    let actors = ["alice", "bob", "root"].map(Actor::new);
    let resources = [process("alice"), process("bob"), entry];
    let scope_sets = [scopes(&[]), scopes(&["admin"])];
    let mut seen = (0, 0);
    for actor in &actors {
        for resource in &resources {
            for scopes in &scope_sets {
                for action in ["process.send", "process.terminate", "process.spawn"] {
                    let request = Request { principal: Some(actor), action, resource, context: &context, scopes };
                    let fast = set.decide_uncached(&request);
                    let whole = whole_set_allows(actor, action, resource, scopes);
                    assert_eq!(fast.allowed, whole, "{} {action} {resource} {scopes:?}: {fast:?}", actor.id);
                    if whole { seen.0 += 1 } else { seen.1 += 1 }
                }
            }
        }
    }
    assert!(seen.0 > 5 && seen.1 > 5, "the table has both answers: {seen:?}");
    Ok(())
}

/// The expected answer, written out from the policies above.
fn whole_set_allows(actor: &Actor, action: &str, resource: &Resource, scopes: &[String]) -> bool {
    let root = actor.id == "root";
    let forbidden = actor.id == "bob" && action == "process.spawn";
    let own = matches!(resource, Resource::Process { actor: owner, .. } if **owner == *actor.id);
    let is_process = matches!(resource, Resource::Process { .. });
    let applies_to = if action == "process.spawn" { !is_process } else { is_process };
    let admin = scopes.iter().any(|s| s == "admin") && action != "process.spawn";
    applies_to && !forbidden && (root || admin || (action == "process.send" && own))
}

#[test]
fn a_repeated_request_is_answered_from_the_cache() -> TestResult {
    let set = set()?;
    let alice = Actor::new("alice");
    let target = process("alice");
    let context = [("pid".to_owned(), AttrValue::from("<c>"))];
    let request =
        Request { principal: Some(&alice), action: "process.send", resource: &target, context: &context, scopes: &[] };
    let first = set.decide(&request);
    assert!(first.allowed && !first.cached, "{first:?}");
    let second = set.decide(&request);
    assert!(second.allowed && second.cached, "{second:?}");
    assert_eq!(first.policies, second.policies);
    assert_eq!(set.cached_decisions(), 1);
    Ok(())
}

#[test]
fn every_input_the_policies_observe_is_part_of_the_cache_key() -> TestResult {
    let set = set()?;
    let alice = Actor::new("alice");
    let context = [("pid".to_owned(), AttrValue::from("<c>"))];
    let target = process("alice");
    let base =
        Request { principal: Some(&alice), action: "process.send", resource: &target, context: &context, scopes: &[] };
    assert!(set.decide(&base).allowed);
    // A different meta, resource, action or scope set is a different decision, not a cache hit. A different
    // caller PID is the same decision: no policy here reads `context.pid`, so it is not in the key.
    let admin_meta = Actor { id: "alice".into(), meta: BTreeMap::from([("role".into(), AttrValue::from("x"))]) };
    let other_owner = process("bob");
    let other_context = [("pid".to_owned(), AttrValue::from("<d>"))];
    let admin = scopes(&["admin"]);
    let variants = [
        Request { principal: Some(&admin_meta), ..base },
        Request { resource: &other_owner, ..base },
        Request { action: "process.terminate", ..base },
        Request { context: &other_context, ..base },
        Request { scopes: &admin, ..base },
        Request { principal: None, ..base },
    ];
    let answers: Vec<(bool, bool)> = variants.iter().map(|r| (set.decide(r).allowed, set.decide(r).cached)).collect();
    assert_eq!(answers, [(true, true), (false, true), (false, true), (true, true), (true, true), (false, true)]);
    let first_time: Vec<bool> = variants.iter().map(|r| set.decide_uncached(r).cached).collect();
    assert!(first_time.iter().all(|c| !c));
    assert_eq!(set.cached_decisions(), variants.len(), "every variant but the other caller PID has its entry");
    Ok(())
}

#[test]
fn a_new_set_starts_with_an_empty_cache() -> TestResult {
    let allow = set()?;
    let files = [("schema.cedarschema", SCHEMA), ("p.cedar", "@id(\"nothing\") forbid (principal, action, resource);")];
    let deny = PolicySet::from_files(&files.map(|(n, t)| (n.to_owned(), t.to_owned())))?;
    let alice = Actor::new("alice");
    let target = process("alice");
    let context = [("pid".to_owned(), AttrValue::from("<c>"))];
    let request =
        Request { principal: Some(&alice), action: "process.send", resource: &target, context: &context, scopes: &[] };
    assert!(allow.decide(&request).allowed);
    assert!(allow.decide(&request).cached);
    let denied = deny.decide(&request);
    assert!(!denied.allowed && !denied.cached, "{denied:?}");
    assert_eq!(*denied.policies, ["nothing"]);
    assert_ne!(allow.revision(), deny.revision());
    Ok(())
}

/// Entities the request reaches only through attributes or policy literals are still there to evaluate.
#[test]
fn stored_entities_reached_through_attributes_and_literals_are_evaluated() -> TestResult {
    let schema = r#"
entity Tenant = { "plan": String };
entity Actor in [Tenant] = { "role"?: String, "manager"?: Actor };
entity Namespace in [Namespace];
entity Entry in [Namespace];
entity Host in [Namespace];
entity Process in [Entry] = { "actor": Actor, "host": Host };
type Call = { "pid": String };
action "process.send", "process.terminate", "process.monitor" appliesTo { principal: [Actor], resource: [Process], context: Call };
// The rest of Corral's entity types and actions, which every schema declares.
entity Name;
entity Capability;
action "process.spawn";
action "process.spawn.monitored";
action "process.spawn.linked";
action "process.exec";
action "process.upgrade";
action "process.host";
action "process.cancel";
action "process.unmonitor";
action "process.link";
action "process.unlink";
action "process.context";
action "process.security";
action "process.registry.register";
action "process.registry.unregister";
"#;
    let policies = r#"
@id("managed-by-admin")
permit (principal, action == Action::"process.send", resource)
when { principal has manager && principal.manager has role && principal.manager.role == "admin" };
@id("owner-is-admin")
permit (principal, action == Action::"process.terminate", resource)
when { resource.actor has role && resource.actor.role == "admin" };
@id("gold-tenant")
permit (principal, action == Action::"process.monitor", resource)
when { Tenant::"acme".plan == "gold" && principal in Tenant::"acme" };
"#;
    let entities = r#"[
  {"uid": {"type": "Tenant", "id": "acme"}, "attrs": {"plan": "gold"}, "parents": []},
  {"uid": {"type": "Actor", "id": "boss"}, "attrs": {"role": "admin"}, "parents": []},
  {"uid": {"type": "Actor", "id": "alice"}, "attrs": {"manager": {"__entity": {"type": "Actor", "id": "boss"}}},
   "parents": [{"type": "Tenant", "id": "acme"}]},
  {"uid": {"type": "Actor", "id": "bob"}, "attrs": {}, "parents": []}
]"#;
    let files = [("schema.cedarschema", schema), ("p.cedar", policies), ("entities.json", entities)];
    let set = PolicySet::from_files(&files.map(|(n, t)| (n.to_owned(), t.to_owned())))?;
    let context = [("pid".to_owned(), AttrValue::from("<c>"))];
    let ask = |actor: &str, action: &str, owner: &str| {
        let actor = Actor::new(actor);
        let resource = process(owner);
        let request = Request { principal: Some(&actor), action, resource: &resource, context: &context, scopes: &[] };
        let decision = set.decide_uncached(&request);
        assert!(decision.errors.is_empty(), "{decision:?}");
        decision.allowed
    };
    // principal.manager.role: alice -> boss (stored, reached through an attribute).
    assert!(ask("alice", "process.send", "x"));
    assert!(!ask("bob", "process.send", "x"));
    // resource.actor.role: the process's actor is a stored entity.
    assert!(ask("bob", "process.terminate", "boss"));
    assert!(!ask("bob", "process.terminate", "alice"));
    // Tenant::"acme".plan: an entity literal of the policy.
    assert!(ask("alice", "process.monitor", "x"));
    assert!(!ask("bob", "process.monitor", "x"));
    Ok(())
}
