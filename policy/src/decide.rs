//! Deciding a request: the one place Cedar is asked. Deciding never fails; a failure is a deny.
//!
//! Five things keep the hot path cheap without weakening it:
//! - **Pre-selection.** Only the policies that can apply are evaluated: the unscoped ones plus those of the
//!   request's scopes, and of those only the ones whose action constraint admits the request's action (an
//!   `action in [...]` constraint is resolved through the schema's action groups). A policy that is left
//!   out could not have matched the request, so the decision is the one the whole set gives.
//! - **Scope constraints.** Of those, a request's entity slice keeps the ones whose principal and resource
//!   scope constraints its principal and resource can satisfy (see [`PolicySet::slice_for`]).
//! - **Leading context tests.** Of those, a request is decided without the ones whose conditions open with a
//!   test of a context attribute that its context fails (`context has a && context.a == "v"`; see
//!   [`crate::guard`]): false before anything that can fail, so they are not satisfied and report no error.
//! - **Entity slices** shared by the requests of one principal, resource, action and scopes; a target
//!   process whose PID no policy can observe is decided for a stand-in PID, so all processes of one entry,
//!   host and actor share one slice.
//! - **The decision cache** ([`crate::cache`]): an exact answer keyed on every input of the request that the
//!   policies can observe ([`crate::observe`]).

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use cedar_policy as cedar;

use crate::convert;
use crate::error::message_of;
use crate::guard::Guard;
use crate::observe::{EXACT, Kept, Observed};
use crate::request::{Actor, AttrValue, Decision, Request, Resource};
use crate::set::PolicySet;
use crate::slice;
use crate::source::LoadedPolicy;

/// At most this many (scopes, action) selections keep a built Cedar set. Keys are subsets of the known scopes
/// times the schema's actions, so the bound only matters for folders with many scopes.
const MAX_SELECTIONS: usize = 1024;
/// At most this many request entity slices are kept (see `PolicySet::slice_for`).
const MAX_SLICES: usize = 4096;

/// The action ids a policy can apply to; `None` for a policy without an action constraint.
pub(crate) fn applicable_actions(policy: &cedar::Policy, schema: &cedar::Schema) -> Option<BTreeSet<String>> {
    let id = |uid: &cedar::EntityUid| uid.id().unescaped().to_owned();
    match policy.action_constraint() {
        cedar::ActionConstraint::Any => None,
        cedar::ActionConstraint::Eq(uid) => Some(BTreeSet::from([id(&uid)])),
        cedar::ActionConstraint::In(groups) => {
            // An action is in a group when it is the group or one of its ancestors is. Without the schema's
            // action hierarchy (it always loads with a valid schema), keep the policy for every action.
            let Ok(hierarchy) = schema.action_entities() else { return None };
            let actions = schema.actions().filter(|action| {
                groups.contains(action)
                    || hierarchy.ancestors(action).is_some_and(|mut up| up.any(|group| groups.contains(group)))
            });
            Some(actions.map(id).collect())
        }
    }
}

/// The policies evaluated for one (scopes, action), and the entity literals they name.
pub(crate) struct Selection {
    policies: Arc<cedar::PolicySet>,
    /// The same policies, in file order, with their scope constraints on principal and resource.
    members: Vec<(cedar::Policy, cedar::PrincipalConstraint, cedar::ResourceConstraint)>,
    /// The members' leading context tests, in the same order (see `guard.rs`).
    guards: Vec<Option<Guard>>,
    /// Whether any member has a guard.
    guarded: bool,
    literals: Vec<cedar::EntityUid>,
    /// Cedar sets of the members a request's principal and resource can satisfy the scope constraints of,
    /// by which members those are.
    subsets: quick_cache::sync::Cache<Vec<bool>, Arc<cedar::PolicySet>>,
}

/// At most this many subsets of one selection keep a built Cedar set.
const MAX_SUBSETS: usize = 256;

/// A request's entities, and the policies of its selection whose scope constraints they can satisfy.
pub(crate) struct Slice {
    entities: cedar::Entities,
    policies: Arc<cedar::PolicySet>,
    /// Which members of the selection `policies` holds.
    heads: Vec<bool>,
}

/// A bounded map of shared values: `quick_cache`, which evicts the least useful entry when full (rather than
/// starting over), and hashes lookups and inserts with one hasher.
pub(crate) type Bounded<K, V> = quick_cache::sync::Cache<K, Arc<V>>;

/// Built selections by (sorted known scopes, action).
pub(crate) type Selections = Bounded<(Vec<String>, String), Selection>;

/// The entities of requests by (principal, resource, action, scopes): everything they depend on.
pub(crate) type Slices = Bounded<(Actor, Resource, String, Vec<String>), Slice>;

/// A [`Selections`] key borrowed: hashes and compares as `(scopes.to_vec(), action.to_owned())`.
struct SelectionKey<'a>(&'a [String], &'a str);

impl Hash for SelectionKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As the tuple `(Vec<String>, String)` hashes: each field in order, a `Vec` as its slice.
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl quick_cache::Equivalent<(Vec<String>, String)> for SelectionKey<'_> {
    fn equivalent(&self, key: &(Vec<String>, String)) -> bool {
        self.0 == key.0.as_slice() && self.1 == key.1
    }
}

/// A [`Slices`] key borrowed: hashes and compares as the owned tuple of its fields.
struct SliceKey<'a>(&'a Actor, &'a Resource, &'a str, &'a [String]);

impl Hash for SliceKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
        self.2.hash(state);
        self.3.hash(state);
    }
}

impl quick_cache::Equivalent<(Actor, Resource, String, Vec<String>)> for SliceKey<'_> {
    fn equivalent(&self, key: &(Actor, Resource, String, Vec<String>)) -> bool {
        *self.0 == key.0 && *self.1 == key.1 && self.2 == key.2 && self.3 == key.3.as_slice()
    }
}

/// Requests found valid against the schema, by principal, action, resource and context shape.
pub(crate) type ValidRequests =
    quick_cache::sync::Cache<(cedar::EntityUid, cedar::EntityUid, cedar::EntityUid, Vec<(String, AttrValue)>), ()>;

/// At most this many valid request shapes are remembered.
const MAX_VALID_REQUESTS: usize = 8192;

/// An empty cache of valid request shapes.
pub(crate) fn valid_requests() -> ValidRequests {
    quick_cache::sync::Cache::new(MAX_VALID_REQUESTS)
}

/// A context attribute with every string, number and boolean of its value replaced by one of the same type:
/// what schema validation sees of it. `convert::context` has refused values nested too deep already.
fn shaped((name, value): &(String, AttrValue)) -> (String, AttrValue) {
    (name.clone(), shape(value))
}

fn shape(value: &AttrValue) -> AttrValue {
    match value {
        AttrValue::Bool(_) => AttrValue::Bool(false),
        AttrValue::Long(_) => AttrValue::Long(0),
        AttrValue::Str(_) => AttrValue::Str(String::new()),
        AttrValue::Set(items) => AttrValue::Set(items.iter().map(shape).collect()),
        AttrValue::Record(fields) => AttrValue::Record(fields.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Empty caches for a new set.
pub(crate) fn caches() -> (Selections, Slices) {
    (Bounded::new(MAX_SELECTIONS), Bounded::new(MAX_SLICES))
}

/// The id given to the target process when evaluating a request whose PID no policy can observe, so that
/// requests to any process of the same entry, host and actor share one entity slice.
const ANY_PID: &str = "";

impl PolicySet {
    /// Decides one request: deny by default, any applicable `forbid` wins over every `permit` (Cedar's
    /// rules), and the policies that apply are the unscoped ones plus those of `request.scopes`.
    ///
    /// Answers are cached per set, keyed on the principal (id and meta), action, resource, context and scope
    /// names, less what no policy that can apply to the action can observe: context attributes the schema
    /// does not declare, the values (not the types) of attributes no policy reads, and a target process's
    /// PID when no policy or stored entity names a `Process`. The policies and entities are the set's own,
    /// so a reload (a new set) starts with an empty cache. A cached answer is marked [`Decision::cached`]
    /// and is otherwise the same as evaluating ([`PolicySet::decide_uncached`]) gives.
    ///
    /// Never fails: no principal, an unknown action, a resource or context the schema does not allow, an
    /// entity that cannot be built and an evaluation error are each a deny with the reason in
    /// [`Decision::errors`]. One of Corral's [`crate::OPTIONAL_ACTIONS`] that the folder's schema does not
    /// declare is a plain deny, with no error: no policy of that folder can permit it.
    pub fn decide(&self, request: &Request<'_>) -> Decision {
        let observed = self.observed(request.action);
        if let Some(decision) = self.decisions.get(request, observed) {
            return decision;
        }
        let decision = match request.resource {
            Resource::Process { pid, entry, host, actor } if !observed.pid && &**pid != ANY_PID => {
                // No policy can tell this process from another of the same entry, host and actor: decide for
                // a stand-in, whose entities every such request shares. Only an error's text could name the
                // PID, so a decision with errors is made again for the process itself.
                let any = Resource::Process {
                    pid: ANY_PID.into(),
                    entry: entry.clone(),
                    host: host.clone(),
                    actor: actor.clone(),
                };
                let decision = self.evaluate(&Request { resource: &any, ..*request });
                if decision.errors.is_empty() { decision } else { self.evaluate(request) }
            }
            _ => self.evaluate(request),
        };
        if decision.errors.is_empty() || request.principal.is_none() || exact(request, observed) {
            // An error's text may quote what the key leaves out (a PID, a context value), so a decision
            // with errors is kept only under a key that holds every input. `no actor` quotes nothing.
            self.decisions.insert(request, observed, &decision);
        }
        decision
    }

    /// Decides `request` by evaluating the policies, bypassing the cache (and not filling it). For tests and
    /// benchmarks that compare the two paths; [`PolicySet::decide`] gives the same answer.
    pub fn decide_uncached(&self, request: &Request<'_>) -> Decision {
        self.evaluate(request)
    }

    /// What the policies that can apply to `action` observe of a request: its decision cache key.
    fn observed(&self, action: &str) -> &Observed {
        self.observed.get(action).unwrap_or(&EXACT)
    }

    /// The ids of the policies evaluated for `action` under `scopes`, in file order: the pre-selection by
    /// scope and action. Unknown scope names select nothing.
    pub fn applicable(&self, action: &str, scopes: &[String]) -> Vec<&str> {
        let known = self.known_scopes(scopes);
        self.policies.iter().filter(|p| applies(p, &known, action)).map(|p| p.id.as_str()).collect()
    }

    /// How many decisions the cache holds now.
    pub fn cached_decisions(&self) -> usize {
        self.decisions.len()
    }

    fn evaluate(&self, request: &Request<'_>) -> Decision {
        if !self.observed.contains_key(request.action) && crate::load::OPTIONAL_ACTIONS.contains(&request.action) {
            return Decision::new(false, Arc::new([]), Arc::new([]), Arc::clone(&self.revision));
        }
        match self.authorize(request) {
            Ok(response) => self.decision(&response),
            Err(error) => Decision::new(false, Arc::new([]), Arc::new([error]), Arc::clone(&self.revision)),
        }
    }

    fn authorize(&self, request: &Request<'_>) -> Result<cedar::Response, String> {
        let (cedar_request, _, slice, policies) = self.prepare(request)?;
        Ok(self.authorizer.is_authorized(&cedar_request, &policies, &slice.entities))
    }

    /// The Cedar request, the selection and the slice `request` is decided with, and the policies evaluated:
    /// those of the slice less the ones whose leading context test the request's context fails (see
    /// `guard.rs`).
    #[allow(clippy::type_complexity, reason = "the parts of one prepared request, taken apart by its callers")]
    fn prepare(
        &self,
        request: &Request<'_>,
    ) -> Result<(cedar::Request, Arc<Selection>, Arc<Slice>, Arc<cedar::PolicySet>), String> {
        let actor = request.principal.ok_or_else(|| "no actor".to_owned())?;
        let principal = self.types.actor(&actor.id);
        // Only what the schema declares for the action: a folder whose schema predates an attribute decides
        // without it (see `context.rs`).
        let declared: Vec<(String, AttrValue)> = match self.context_attrs.of(request.action) {
            Some(schema) => request
                .context
                .iter()
                .filter(|(name, _)| schema.allows(name))
                .map(|(name, value)| (name.clone(), schema.narrow(name, value)))
                .collect(),
            None => request.context.to_vec(),
        };
        let context = convert::context(&declared)?;
        let action = self.types.action(request.action);
        let resource = self.types.resource_uid(request.resource);
        // Validating the request against the schema catches an unknown action, a resource type the action
        // does not apply to, and a context that does not fit. What it checks is the principal, action and
        // resource (their types, and the ids of an enumerated type) and the context's shape (the types of its
        // values, the keys of its records), so a request like one found valid before is valid: it is built
        // without checking again. An invalid one is checked each time, so its error is its own.
        let valid_key = (principal.clone(), action.clone(), resource.clone(), declared.iter().map(shaped).collect());
        let known_valid = self.valid_requests.get(&valid_key).is_some();
        let schema = (!known_valid).then_some(&self.schema);
        let cedar_request = cedar::Request::new(principal.clone(), action.clone(), resource, context, schema)
            .map_err(|e| format!("invalid request: {}", message_of(&e)))?;
        if !known_valid {
            self.valid_requests.insert(valid_key, ());
        }
        let selection = self.policies_for(request.action, request.scopes)?;
        let slice = self.slice_for(request, actor, &principal, action, &selection)?;
        let policies = selection.for_context(&slice, &declared);
        Ok((cedar_request, selection, slice, policies))
    }

    /// The entities a request is decided against: its own (the principal with its meta, the resource and its
    /// chain) and the stored ones they reach (see `slice`). They depend on the principal, resource, action
    /// and scopes only, so requests that differ in context alone (another caller PID, another topic) share
    /// them.
    ///
    /// The slice also keeps the policies of the selection whose scope constraints (`principal in ...`,
    /// `resource is ... in ...`) the request's principal and resource can satisfy. A policy whose scope
    /// constraint is false is not satisfied and cannot fail (Cedar's `&&` stops at the scope), so leaving it
    /// out changes no decision, no deciding policy and no error.
    fn slice_for(
        &self,
        request: &Request<'_>,
        actor: &Actor,
        principal: &cedar::EntityUid,
        action: cedar::EntityUid,
        selection: &Selection,
    ) -> Result<Arc<Slice>, String> {
        let borrowed = SliceKey(actor, request.resource, request.action, request.scopes);
        if let Some(entities) = self.slices.get(&borrowed) {
            return Ok(entities);
        }
        let key = (actor.clone(), request.resource.clone(), request.action.to_owned(), request.scopes.to_vec());
        let (_, mut entities) = self.types.resource(request.resource)?;
        let declared = self.entities.get(principal);
        entities.push(convert::actor_entity(principal.clone(), actor, declared)?);
        let mut roots: Vec<cedar::EntityUid> =
            entities.iter().flat_map(|e| slice::referenced(e, &self.references)).collect();
        roots.push(action);
        roots.extend(selection.literals.iter().cloned());
        let mut reachable = Vec::new();
        slice::collect(&self.entities, &self.references, roots, &entities, &mut reachable);
        entities.extend(reachable);
        // Request entities are not validated against the schema: an actor's meta may carry keys the schema
        // does not declare, and a policy that reads a mistyped one fails to evaluate, which is a deny.
        let entities = cedar::Entities::from_entities(entities, None)
            .map_err(|e| format!("invalid request entities: {}", message_of(&e)))?;
        let resource = self.types.resource_uid(request.resource);
        let (policies, heads) = selection.for_heads(principal, &resource, &entities);
        let slice = Arc::new(Slice { entities, policies, heads });
        self.slices.insert(key, Arc::clone(&slice));
        Ok(slice)
    }

    fn decision(&self, response: &cedar::Response) -> Decision {
        let diagnostics = response.diagnostics();
        let errors: Vec<String> = diagnostics.errors().map(ToString::to_string).collect();
        let cedar_allowed = response.decision() == cedar::Decision::Allow;
        // Cedar skips a policy that fails to evaluate; the spec makes any error a deny.
        let allowed = cedar_allowed && errors.is_empty();
        let mut policies: Vec<String> =
            if allowed == cedar_allowed { diagnostics.reason().map(ToString::to_string).collect() } else { Vec::new() };
        policies.sort();
        Decision::new(allowed, policies.into(), errors.into(), Arc::clone(&self.revision))
    }

    /// The request's scopes that some policy uses, sorted and without duplicates.
    fn known_scopes(&self, scopes: &[String]) -> Vec<String> {
        let known: BTreeSet<&String> = scopes.iter().filter(|s| self.scopes.contains(*s)).collect();
        known.into_iter().cloned().collect()
    }

    /// The policies for a request's action and scopes, from the selections or built once.
    fn policies_for(&self, action: &str, scopes: &[String]) -> Result<Arc<Selection>, String> {
        // Scopes that are known, sorted and distinct (as the runtime passes them) are their own key.
        let own = scopes.windows(2).all(|pair| pair[0] < pair[1]) && scopes.iter().all(|s| self.scopes.contains(s));
        if own && let Some(selection) = self.selections.get(&SelectionKey(scopes, action)) {
            return Ok(selection);
        }
        let key = (self.known_scopes(scopes), action.to_owned());
        if let Some(selection) = self.selections.get(&key) {
            return Ok(selection);
        }
        let selected: Vec<&LoadedPolicy> = self.policies.iter().filter(|p| applies(p, &key.0, action)).collect();
        let literals: BTreeSet<cedar::EntityUid> = selected.iter().flat_map(|p| p.policy.entity_literals()).collect();
        let policies = cedar::PolicySet::from_policies(selected.iter().map(|p| p.policy.clone()))
            .map_err(|e| format!("cannot assemble the policies: {e}"))?;
        let members = selected
            .iter()
            .map(|p| (p.policy.clone(), p.policy.principal_constraint(), p.policy.resource_constraint()))
            .collect();
        let guards: Vec<Option<Guard>> = selected.iter().map(|p| Guard::of(&p.policy)).collect();
        let selection = Arc::new(Selection {
            policies: Arc::new(policies),
            members,
            guarded: guards.iter().any(Option::is_some),
            guards,
            literals: literals.into_iter().collect(),
            subsets: quick_cache::sync::Cache::new(MAX_SUBSETS),
        });
        self.selections.insert(key, Arc::clone(&selection));
        Ok(selection)
    }
}

impl Selection {
    /// The members whose scope constraints `principal` and `resource` can satisfy in `entities` (which hold
    /// both, with their ancestors), as a Cedar set and as a mask of the members.
    fn for_heads(
        &self,
        principal: &cedar::EntityUid,
        resource: &cedar::EntityUid,
        entities: &cedar::Entities,
    ) -> (Arc<cedar::PolicySet>, Vec<bool>) {
        let mask: Vec<bool> = self
            .members
            .iter()
            .map(|(_, p, r)| principal_may_match(p, principal, entities) && resource_may_match(r, resource, entities))
            .collect();
        (self.subset(&mask), mask)
    }

    /// The policies of `slice` less those whose guard fails for `context` (the attributes Cedar is given).
    fn for_context(&self, slice: &Slice, context: &[(String, AttrValue)]) -> Arc<cedar::PolicySet> {
        if !self.guarded {
            return Arc::clone(&slice.policies);
        }
        let mask: Vec<bool> = slice
            .heads
            .iter()
            .zip(&self.guards)
            .map(|(head, guard)| *head && !guard.as_ref().is_some_and(|guard| guard.fails(context)))
            .collect();
        if mask == slice.heads {
            return Arc::clone(&slice.policies);
        }
        self.subset(&mask)
    }

    /// The members `mask` keeps, as a Cedar set: the whole selection when that is all of them.
    fn subset(&self, mask: &[bool]) -> Arc<cedar::PolicySet> {
        if mask.iter().all(|kept| *kept) {
            return Arc::clone(&self.policies);
        }
        if let Some(policies) = self.subsets.get(mask) {
            return policies;
        }
        let kept = self.members.iter().zip(mask).filter(|(_, kept)| **kept).map(|((policy, _, _), _)| policy.clone());
        // The members have distinct ids, so any subset assembles; if not, the whole selection decides.
        let Ok(policies) = cedar::PolicySet::from_policies(kept) else { return Arc::clone(&self.policies) };
        let policies = Arc::new(policies);
        self.subsets.insert(mask.to_vec(), Arc::clone(&policies));
        policies
    }
}

/// Cedar's `a in b` for entity uids: `a` is `b`, or `b` is one of `a`'s ancestors in `entities`.
fn is_in(a: &cedar::EntityUid, b: &cedar::EntityUid, entities: &cedar::Entities) -> bool {
    a == b || entities.ancestors(a).is_some_and(|mut up| up.any(|ancestor| ancestor == b))
}

/// Whether `uid` satisfies a principal scope constraint.
fn principal_may_match(c: &cedar::PrincipalConstraint, uid: &cedar::EntityUid, entities: &cedar::Entities) -> bool {
    match c {
        cedar::PrincipalConstraint::Any => true,
        cedar::PrincipalConstraint::Eq(other) => uid == other,
        cedar::PrincipalConstraint::In(group) => is_in(uid, group, entities),
        cedar::PrincipalConstraint::Is(ty) => uid.type_name() == ty,
        cedar::PrincipalConstraint::IsIn(ty, group) => uid.type_name() == ty && is_in(uid, group, entities),
    }
}

/// Whether `uid` satisfies a resource scope constraint.
fn resource_may_match(c: &cedar::ResourceConstraint, uid: &cedar::EntityUid, entities: &cedar::Entities) -> bool {
    match c {
        cedar::ResourceConstraint::Any => true,
        cedar::ResourceConstraint::Eq(other) => uid == other,
        cedar::ResourceConstraint::In(group) => is_in(uid, group, entities),
        cedar::ResourceConstraint::Is(ty) => uid.type_name() == ty,
        cedar::ResourceConstraint::IsIn(ty, group) => uid.type_name() == ty && is_in(uid, group, entities),
    }
}

/// Whether the key `observed` gives `request` holds every input of it.
fn exact(request: &Request<'_>, observed: &Observed) -> bool {
    let pid = observed.pid || !matches!(request.resource, Resource::Process { .. });
    pid && request.context.iter().all(|(name, _)| observed.kept(name) != Kept::Shape)
}

/// Whether `policy` can apply to `action` for a caller with the sorted `scopes`.
fn applies(policy: &LoadedPolicy, scopes: &[String], action: &str) -> bool {
    let in_scope = policy.scope.as_ref().is_none_or(|scope| scopes.binary_search(scope).is_ok());
    in_scope && policy.actions.as_ref().is_none_or(|actions| actions.contains(action))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICIES: &str = r#"
@id("eq")
permit (principal == Actor::"t0:a", action == Action::"process.send", resource);
@id("tenant")
permit (principal in Tenant::"t0", action, resource in Namespace::"t0") when { context has topic };
@id("is-in")
permit (principal is Actor in Tenant::"t1", action, resource is Process in Namespace::"t1.w");
@id("entry")
forbid (principal, action == Action::"process.spawn", resource == Entry::"t0.w:x");
@id("no-secrets")
forbid (principal in Tenant::"t1", action, resource in Namespace::"secrets");
@id("pattern")
permit (principal in Tenant::"t0", action == Action::"process.send", resource is Process)
when { principal has role && principal.role like "a*" };
@id("all")
permit (principal, action == Action::"process.monitor", resource);
@id("topic-a")
permit (principal in Tenant::"t0", action == Action::"process.send", resource)
when { context has topic && context.topic == "a" && principal has role && principal.role like "x*" };
@id("blocked")
forbid (principal, action, resource) when { context.pid == "blocked" };
@id("kind")
permit (principal, action == Action::"process.monitor", resource) when { context has kind };
"#;

    const ENTITIES: &str = r#"[
  {"uid": {"type": "Tenant", "id": "t0"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Tenant", "id": "t1"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Group", "id": "g"}, "attrs": {}, "parents": [{"type": "Tenant", "id": "t1"}]},
  {"uid": {"type": "Actor", "id": "t0:a"}, "attrs": {}, "parents": [{"type": "Tenant", "id": "t0"}]},
  {"uid": {"type": "Actor", "id": "t1:b"}, "attrs": {}, "parents": [{"type": "Group", "id": "g"}]}
]"#;

    /// A request built without checking because one of its shape was found valid is decided as a set that
    /// checks it (a new one, with empty caches) decides it; an invalid one is refused with its own error.
    #[test]
    fn requests_like_valid_ones_are_decided_as_if_checked() -> Result<(), String> {
        let files = [("p.cedar".to_owned(), POLICIES.to_owned()), ("entities.json".to_owned(), ENTITIES.to_owned())];
        let warm = PolicySet::from_files(&files).map_err(|e| e.to_string())?;
        let values = [
            AttrValue::from("a"),
            AttrValue::from("b"),
            AttrValue::from(1),
            AttrValue::Set(vec![AttrValue::from("a")]),
            AttrValue::Set(vec![]),
            AttrValue::Record([("x".to_owned(), AttrValue::from("a"))].into()),
        ];
        let mut contexts: Vec<Vec<(String, AttrValue)>> = Vec::new();
        for pid in &values {
            contexts.push(vec![("pid".to_owned(), pid.clone())]);
            for topic in &values {
                contexts.push(vec![("pid".to_owned(), pid.clone()), ("topic".to_owned(), topic.clone())]);
                contexts.push(vec![("topic".to_owned(), topic.clone())]);
                contexts.push(vec![("pid".to_owned(), pid.clone()), ("scopes".to_owned(), topic.clone())]);
            }
        }
        let actor = Actor::new("t0:a");
        let resource =
            Resource::Process { pid: "p".into(), entry: "t0.w:x".into(), host: "t0:h".into(), actor: "t0:a".into() };
        let (mut valid, mut invalid) = (0, 0);
        let mut expected = Vec::new();
        for context in &contexts {
            let request =
                Request { principal: Some(&actor), action: "process.send", resource: &resource, context, scopes: &[] };
            let fresh = PolicySet::from_files(&files).map_err(|e| e.to_string())?;
            let decision = fresh.decide_uncached(&request);
            if decision.errors.iter().any(|e| e.starts_with("invalid request")) {
                invalid += 1
            } else {
                valid += 1
            }
            expected.push(decision);
        }
        for _round in 0..2 {
            for (context, b) in contexts.iter().zip(&expected) {
                let request = Request {
                    principal: Some(&actor),
                    action: "process.send",
                    resource: &resource,
                    context,
                    scopes: &[],
                };
                let a = warm.decide_uncached(&request);
                assert_eq!((a.allowed, &a.policies, &a.errors), (b.allowed, &b.policies, &b.errors), "{context:?}");
            }
        }
        assert!(valid > 5 && invalid > 5, "valid {valid}, invalid {invalid}");
        Ok(())
    }

    /// The borrowed keys of the selections and slices hash and compare as the owned ones: otherwise every
    /// lookup would miss and rebuild.
    #[test]
    fn borrowed_keys_hash_like_owned_ones() {
        use std::hash::BuildHasher;
        let hasher = quick_cache::DefaultHashBuilder::default();
        let scopes = ["a".to_owned(), "b".to_owned()];
        let owned = (scopes.to_vec(), "process.send".to_owned());
        let borrowed = SelectionKey(&scopes, "process.send");
        assert_eq!(hasher.hash_one(&borrowed), hasher.hash_one(&owned));
        assert!(quick_cache::Equivalent::equivalent(&borrowed, &owned));
        assert!(!quick_cache::Equivalent::equivalent(&SelectionKey(&scopes[..1], "process.send"), &owned));
        let actor = Actor { id: "t0:a".into(), meta: [("role".to_owned(), AttrValue::from("x"))].into() };
        let resource =
            Resource::Process { pid: "p".into(), entry: "t0.w:x".into(), host: "t0:h".into(), actor: "t0:a".into() };
        let owned = (actor.clone(), resource.clone(), "process.send".to_owned(), scopes.to_vec());
        let borrowed = SliceKey(&actor, &resource, "process.send", &scopes);
        assert_eq!(hasher.hash_one(&borrowed), hasher.hash_one(&owned));
        assert!(quick_cache::Equivalent::equivalent(&borrowed, &owned));
        let other = Actor::new("t0:a");
        assert!(!quick_cache::Equivalent::equivalent(&SliceKey(&other, &resource, "process.send", &scopes), &owned));
    }

    /// Leaving out the policies whose scope constraints the request cannot satisfy changes nothing of the
    /// response: decision, deciding policies, errors.
    #[test]
    fn slices_keep_the_answer_of_the_whole_selection() -> Result<(), String> {
        let files = [("p.cedar".to_owned(), POLICIES.to_owned()), ("entities.json".to_owned(), ENTITIES.to_owned())];
        let set = PolicySet::from_files(&files).map_err(|e| e.to_string())?;
        let mut actors: Vec<Actor> = ["t0:a", "t1:b", "nobody"].map(Actor::new).into();
        actors.push(Actor { id: "t0:a".into(), meta: [("role".to_owned(), AttrValue::from(1))].into() });
        actors.push(Actor { id: "t0:c".into(), meta: [("role".to_owned(), AttrValue::from("ab"))].into() });
        let mut resources = Vec::new();
        for entry in ["t0.w:x", "t1.w:y", "secrets:z", "t1:w"] {
            resources.push(Resource::Entry { id: entry.into() });
            let actor = "t0:a".to_owned();
            resources.push(Resource::Process {
                pid: "p".into(),
                entry: entry.into(),
                host: "t1:h".into(),
                actor: actor.into(),
            });
        }
        let pair = |name: &str, value: AttrValue| (name.to_owned(), value);
        let contexts = [
            vec![pair("pid", "c".into())],
            vec![pair("pid", "c".into()), pair("topic", "t".into())],
            vec![pair("pid", "c".into()), pair("topic", "a".into())],
            vec![pair("pid", "blocked".into()), pair("topic", "a".into())],
            vec![pair("pid", "blocked".into()), pair("kind", "k".into())],
            vec![pair("pid", "c".into()), pair("kind", "k".into()), pair("topic", "a".into())],
        ];
        let (mut narrowed, mut compared, mut guarded, mut failed) = (0, 0, 0, 0);
        for actor in &actors {
            for resource in &resources {
                for context in &contexts {
                    for action in ["process.send", "process.spawn", "process.monitor", "process.terminate"] {
                        let request = Request { principal: Some(actor), action, resource, context, scopes: &[] };
                        let Ok((cedar_request, selection, slice, evaluated)) = set.prepare(&request) else { continue };
                        let whole = set.authorizer.is_authorized(&cedar_request, &selection.policies, &slice.entities);
                        let what = format!("{} {action} {resource} {context:?}", actor.id);
                        let reasons = |r: &cedar::Response| r.diagnostics().reason().cloned().collect::<BTreeSet<_>>();
                        let errors =
                            |r: &cedar::Response| r.diagnostics().errors().map(ToString::to_string).collect::<Vec<_>>();
                        for policies in [&slice.policies, &evaluated] {
                            let some = set.authorizer.is_authorized(&cedar_request, policies, &slice.entities);
                            assert_eq!(whole.decision(), some.decision(), "{what}");
                            assert_eq!(reasons(&whole), reasons(&some), "{what}");
                            assert_eq!(errors(&whole), errors(&some), "{what}");
                        }
                        compared += 1;
                        failed += usize::from(!errors(&whole).is_empty());
                        if slice.policies.policies().count() < selection.policies.policies().count() {
                            narrowed += 1;
                        }
                        if evaluated.policies().count() < slice.policies.policies().count() {
                            guarded += 1;
                        }
                    }
                }
            }
        }
        assert!(compared > 100 && narrowed > 50, "compared {compared}, narrowed {narrowed}");
        assert!(guarded > 50, "guards left out policies for {guarded} requests");
        assert!(failed > 10, "evaluation errors are compared too: {failed}");
        Ok(())
    }
}
