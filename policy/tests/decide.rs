//! Decisions against the `basic` fixture folder.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;

use corral_policy::{Actor, AttrValue, Decision, PolicySet, Request, Resource};

type TestResult = Result<(), Box<dyn Error>>;

fn basic() -> Result<PolicySet, Box<dyn Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic");
    Ok(PolicySet::load_dir(&dir)?)
}

fn actor(id: &str) -> Actor {
    Actor::new(id)
}

fn actor_with(id: &str, key: &str, value: AttrValue) -> Actor {
    Actor { id: id.into(), meta: BTreeMap::from([(key.to_owned(), value)]) }
}

fn entry(id: &str) -> Resource {
    Resource::Entry { id: id.into() }
}

fn process(entry: &str, actor: &str) -> Resource {
    Resource::Process { pid: "<1.0.9>".into(), entry: entry.into(), host: "acme:processes".into(), actor: actor.into() }
}

/// Asks with the usual context (the caller's pid) and the given scopes.
fn ask(set: &PolicySet, principal: Option<&Actor>, action: &str, resource: &Resource, scopes: &[&str]) -> Decision {
    let context = [("pid".to_owned(), AttrValue::from("<1.0.1>"))];
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    set.decide(&Request { principal, action, resource, context: &context, scopes: &scopes })
}

fn allowed_by(decision: &Decision, ids: &[&str]) {
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(*decision.policies, *ids, "{decision:?}");
    assert!(decision.errors.is_empty(), "{decision:?}");
}

fn denied_by(decision: &Decision, ids: &[&str]) {
    assert!(!decision.allowed, "{decision:?}");
    assert_eq!(*decision.policies, *ids, "{decision:?}");
    assert!(decision.errors.is_empty(), "{decision:?}");
}

fn denied_with_error(decision: &Decision, fragment: &str) {
    assert!(!decision.allowed, "{decision:?}");
    assert!(decision.policies.is_empty(), "{decision:?}");
    assert!(decision.errors.iter().any(|e| e.contains(fragment)), "no error mentions {fragment:?}: {decision:?}");
}

#[test]
fn a_permit_is_reported_by_its_id_and_the_revision() -> TestResult {
    let set = basic()?;
    let context = Resource::Capability { name: "context".into() };
    let decision = ask(&set, Some(&actor("user:mallory")), "process.context", &context, &[]);
    allowed_by(&decision, &["capabilities"]);
    assert_eq!(&*decision.revision, set.revision());
    Ok(())
}

#[test]
fn a_forbid_overrides_every_permit() -> TestResult {
    let set = basic()?;
    let alice = actor("user:alice");
    // Both `own-processes` and `acme-spawn` permit this; `no-secrets` forbids it.
    let vault = process("acme.secrets:vault", "user:alice");
    denied_by(&ask(&set, Some(&alice), "process.send", &vault, &[]), &["no-secrets"]);
    let worker = process("acme.workers:handler", "user:alice");
    let decision = ask(&set, Some(&alice), "process.send", &worker, &[]);
    allowed_by(&decision, &["acme-spawn", "own-processes"]);
    Ok(())
}

#[test]
fn no_principal_is_denied() -> TestResult {
    let set = basic()?;
    let capability = Resource::Capability { name: "context".into() };
    let decision = ask(&set, None, "process.context", &capability, &[]);
    assert!(!decision.allowed);
    assert_eq!(*decision.errors, ["no actor"]);
    Ok(())
}

#[test]
fn nothing_applies_is_a_default_deny() -> TestResult {
    let set = basic()?;
    let decision = ask(&set, Some(&actor("user:mallory")), "process.spawn", &entry("globex:x"), &[]);
    denied_by(&decision, &[]);
    Ok(())
}

#[test]
fn scoped_policies_apply_only_with_their_scope() -> TestResult {
    let set = basic()?;
    let mallory = actor("user:mallory");
    let theirs = process("globex:worker", "user:alice");
    denied_by(&ask(&set, Some(&mallory), "process.terminate", &theirs, &[]), &[]);
    denied_by(&ask(&set, Some(&mallory), "process.terminate", &theirs, &["registry"]), &[]);
    let decision = ask(&set, Some(&mallory), "process.terminate", &theirs, &["admin"]);
    allowed_by(&decision, &["admin-terminate"]);
    // Unknown, unsorted and repeated scope names do not matter.
    let scopes = ["zzz", "admin", "registry", "admin"];
    let decision = ask(&set, Some(&mallory), "process.terminate", &theirs, &scopes);
    allowed_by(&decision, &["admin-terminate"]);
    // A policy without @id is named by file and line.
    let public = Resource::Name { name: "public".into() };
    let decision = ask(&set, Some(&mallory), "process.registry.register", &public, &["registry"]);
    allowed_by(&decision, &["30-scoped.cedar:6"]);
    Ok(())
}

#[test]
fn a_namespace_covers_entries_hosts_and_processes() -> TestResult {
    let set = basic()?;
    // bob is in Group::"acme-ops", which is in Tenant::"acme".
    let bob = actor("user:bob");
    let spawn = ask(&set, Some(&bob), "process.spawn", &entry("acme.workers:x"), &[]);
    allowed_by(&spawn, &["acme-spawn"]);
    let host = Resource::Host { id: "acme:h".into() };
    allowed_by(&ask(&set, Some(&bob), "process.host", &host, &[]), &["acme-host"]);
    let theirs = process("acme.workers:x", "user:mallory");
    allowed_by(&ask(&set, Some(&bob), "process.send", &theirs, &[]), &["acme-spawn"]);
    // Namespaces are whole segments: `acmex` is not in `acme`.
    denied_by(&ask(&set, Some(&bob), "process.spawn", &entry("acmex:y"), &[]), &[]);
    let outside = Resource::Host { id: "globex.acme:h".into() };
    denied_by(&ask(&set, Some(&bob), "process.host", &outside, &[]), &[]);
    Ok(())
}

#[test]
fn own_processes_match_resource_actor() -> TestResult {
    let set = basic()?;
    let mallory = actor("user:mallory");
    let own = process("globex:worker", "user:mallory");
    allowed_by(&ask(&set, Some(&mallory), "process.monitor", &own, &[]), &["own-processes"]);
    let theirs = process("globex:worker", "user:alice");
    denied_by(&ask(&set, Some(&mallory), "process.monitor", &theirs, &[]), &[]);
    Ok(())
}

#[test]
fn tenants_come_from_the_entities_file() -> TestResult {
    let set = basic()?;
    let target = entry("acme.workers:x");
    let alice = actor("user:alice");
    allowed_by(&ask(&set, Some(&alice), "process.spawn", &target, &[]), &["acme-spawn"]);
    denied_by(&ask(&set, Some(&actor("user:mallory")), "process.spawn", &target, &[]), &[]);
    // An actor the file does not declare has no parents, whatever meta it brings.
    let stranger = actor_with("user:zed", "tenant", AttrValue::from("acme"));
    denied_by(&ask(&set, Some(&stranger), "process.spawn", &target, &[]), &[]);
    Ok(())
}

#[test]
fn meta_is_merged_over_declared_attributes() -> TestResult {
    let set = basic()?;
    let target = entry("globex:tool");
    // alice's role comes from entities.json.
    let alice = actor("user:alice");
    allowed_by(&ask(&set, Some(&alice), "process.exec", &target, &[]), &["admins-exec"]);
    // meta overrides it, and keeps alice's tenant.
    let guest = actor_with("user:alice", "role", AttrValue::from("guest"));
    denied_by(&ask(&set, Some(&guest), "process.exec", &target, &[]), &[]);
    allowed_by(&ask(&set, Some(&guest), "process.spawn", &entry("acme:x"), &[]), &["acme-spawn"]);
    // An undeclared actor gets its attributes from meta.
    let admin = actor_with("user:zed", "role", AttrValue::from("admin"));
    allowed_by(&ask(&set, Some(&admin), "process.exec", &target, &[]), &["admins-exec"]);
    Ok(())
}

#[test]
fn an_evaluation_error_is_a_deny_with_the_error() -> TestResult {
    let set = basic()?;
    let target = entry("globex:tool");
    // `principal.role like "adm*"` on a Long fails to evaluate.
    let odd = actor_with("user:mallory", "role", AttrValue::Long(5));
    let decision = ask(&set, Some(&odd), "process.upgrade", &target, &[]);
    denied_with_error(&decision, "upgrade-by-role-pattern");
    let admin = actor_with("user:mallory", "role", AttrValue::from("admin"));
    let decision = ask(&set, Some(&admin), "process.upgrade", &target, &[]);
    allowed_by(&decision, &["upgrade-by-role-pattern"]);
    Ok(())
}

#[test]
fn requests_the_schema_rejects_are_denied_with_an_error() -> TestResult {
    let set = basic()?;
    let alice = actor("user:alice");
    let target = entry("acme.workers:x");
    let decision = ask(&set, Some(&alice), "process.teleport", &target, &[]);
    denied_with_error(&decision, "process.teleport");
    // process.send applies to processes, not entries.
    denied_with_error(&ask(&set, Some(&alice), "process.send", &target, &[]), "invalid request");
    // The context must fit the schema's `Call` type: `pid` is required and a string.
    for context in [vec![], vec![("pid".to_owned(), AttrValue::Long(1))]] {
        let decision = set.decide(&Request {
            principal: Some(&alice),
            action: "process.spawn",
            resource: &target,
            context: &context,
            scopes: &[],
        });
        denied_with_error(&decision, "context");
    }
    // An attribute the schema does not declare is not passed (a folder written before the runtime sent it
    // decides as before): the answer is the one without it.
    let spawn = |context: &[(String, AttrValue)]| {
        set.decide_uncached(&Request {
            principal: Some(&alice),
            action: "process.spawn",
            resource: &target,
            context,
            scopes: &[],
        })
    };
    let plain = [("pid".to_owned(), AttrValue::from("<1.0.1>"))];
    let extra = [plain[0].clone(), ("bogus".to_owned(), AttrValue::Long(1))];
    let (with, without) = (spawn(&extra), spawn(&plain));
    assert_eq!((with.allowed, &with.policies, &with.errors), (without.allowed, &without.policies, &without.errors));
    Ok(())
}

#[test]
fn optional_context_attributes_are_accepted() -> TestResult {
    let set = basic()?;
    let context = [("pid".to_owned(), AttrValue::from("<1.0.1>")), ("topic".to_owned(), AttrValue::from("jobs"))];
    let target = process("acme.workers:x", "user:bob");
    let decision = set.decide(&Request {
        principal: Some(&actor("user:alice")),
        action: "process.send",
        resource: &target,
        context: &context,
        scopes: &[],
    });
    allowed_by(&decision, &["acme-spawn"]);
    Ok(())
}

#[test]
fn a_policy_set_is_shared_across_threads() -> TestResult {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicySet>();
    let set = std::sync::Arc::new(basic()?);
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let set = std::sync::Arc::clone(&set);
            std::thread::spawn(move || {
                let scopes: &[&str] = if i % 2 == 0 { &["admin"] } else { &[] };
                let theirs = process("globex:worker", "user:alice");
                ask(&set, Some(&actor("user:mallory")), "process.terminate", &theirs, scopes).allowed
            })
        })
        .collect();
    let answers: Vec<bool> = workers.into_iter().map(|w| w.join().unwrap_or(false)).collect();
    assert_eq!(answers, [true, false, true, false]);
    Ok(())
}

/// An app schema written before `process.call` existed (the fixture's, without the action) still loads, and
/// a call request is then a plain deny: no policy, no error, even under a policy that permits every action.
#[test]
fn a_schema_without_process_call_loads_and_denies_every_call_plainly() -> TestResult {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic");
    let schema = std::fs::read_to_string(dir.join("schema.cedarschema"))?.replace(", \"process.call\"", "");
    assert!(!schema.contains("\"process.call\""), "the older schema lacks the action");
    let everything = "@id(\"all\")\npermit (principal, action, resource);\n";
    let set = PolicySet::from_files(&[
        ("schema.cedarschema".to_owned(), schema),
        ("all.cedar".to_owned(), everything.to_owned()),
    ])?;
    let alice = actor("user:alice");
    let target = process("acme:worker", "user:alice");
    allowed_by(&ask(&set, Some(&alice), "process.send", &target, &[]), &["all"]);
    for _ in 0..2 {
        // Decided, then from the cache: the same plain deny.
        let call = ask(&set, Some(&alice), "process.call", &target, &[]);
        denied_by(&call, &[]);
    }
    let uncached = set.decide_uncached(&Request {
        principal: Some(&alice),
        action: "process.call",
        resource: &target,
        context: &[("pid".to_owned(), AttrValue::from("<1.0.1>"))],
        scopes: &[],
    });
    denied_by(&uncached, &[]);
    // Any other undeclared action is still a deny with the reason.
    denied_with_error(&ask(&set, Some(&alice), "process.nonesuch", &target, &[]), "process.nonesuch");
    // The built-in schema declares it: the same policy permits a call there.
    let current = PolicySet::from_files(&[("all.cedar".to_owned(), everything.to_owned())])?;
    allowed_by(&ask(&current, Some(&alice), "process.call", &target, &[]), &["all"]);
    Ok(())
}
