//! Deciding a request: the one place Cedar is asked. Deciding never fails; a failure is a deny.
//!
//! Two things keep the hot path cheap without weakening it:
//! - **Pre-selection.** Only the policies that can apply are evaluated: the unscoped ones plus those of the
//!   request's scopes, and of those only the ones whose action constraint admits the request's action (an
//!   `action in [...]` constraint is resolved through the schema's action groups). A policy that is left
//!   out could not have matched the request, so the decision is the one the whole set gives.
//! - **The decision cache** ([`crate::cache`]): an exact answer keyed on every input of the request.

use std::collections::BTreeSet;
use std::sync::Arc;

use cedar_policy as cedar;

use crate::convert;
use crate::error::message_of;
use crate::observe::{EXACT, Kept, Observed};
use crate::request::{Actor, AttrValue, Decision, Request, Resource};
use crate::set::PolicySet;
use crate::slice;
use crate::source::LoadedPolicy;

/// At most this many (scopes, action) selections keep a built Cedar set. Keys are subsets of the known scopes
/// times the schema's actions, so the bound only matters for folders with many scopes.
const MAX_SELECTIONS: usize = 1024;
/// At most this many request entity slices are kept (see [`PolicySet::entities_for`]).
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
    policies: cedar::PolicySet,
    literals: Vec<cedar::EntityUid>,
}

/// A bounded map of shared values: `quick_cache`, which evicts the least useful entry when full (rather than
/// starting over), and hashes lookups and inserts with one hasher.
pub(crate) type Bounded<K, V> = quick_cache::sync::Cache<K, Arc<V>>;

/// Built selections by (sorted known scopes, action).
pub(crate) type Selections = Bounded<(Vec<String>, String), Selection>;

/// The entities of requests by (principal, resource, action, scopes): everything they depend on.
pub(crate) type Slices = Bounded<(Actor, Resource, String, Vec<String>), cedar::Entities>;

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
    /// names; the policies and entities are the set's own, so a reload (a new set) starts with an empty
    /// cache. A cached answer is marked [`Decision::cached`] and is otherwise the same.
    ///
    /// Never fails: no principal, an unknown action, a resource or context the schema does not allow, an
    /// entity that cannot be built and an evaluation error are each a deny with the reason in
    /// [`Decision::errors`].
    pub fn decide(&self, request: &Request<'_>) -> Decision {
        let observed = self.observed(request.action);
        if let Some(decision) = self.decisions.get(request, observed) {
            return decision;
        }
        let decision = match request.resource {
            Resource::Process { pid, entry, host, actor } if !observed.pid && pid != ANY_PID => {
                // No policy can tell this process from another of the same entry, host and actor: decide for
                // a stand-in, whose entities every such request shares. Only an error's text could name the
                // PID, so a decision with errors is made again for the process itself.
                let any = Resource::Process {
                    pid: ANY_PID.to_owned(),
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
        match self.authorize(request) {
            Ok(response) => self.decision(&response),
            Err(error) => Decision {
                allowed: false,
                policies: Arc::new([]),
                errors: Arc::new([error]),
                revision: Arc::clone(&self.revision),
                cached: false,
            },
        }
    }

    fn authorize(&self, request: &Request<'_>) -> Result<cedar::Response, String> {
        let actor = request.principal.ok_or_else(|| "no actor".to_owned())?;
        let principal = self.types.actor(&actor.id);
        // Only what the schema declares for the action: a folder whose schema predates an attribute decides
        // without it (see `context.rs`).
        let declared: Vec<(String, AttrValue)> = request
            .context
            .iter()
            .filter(|(name, _)| self.context_attrs.allows(request.action, name))
            .cloned()
            .collect();
        let context = convert::context(&declared)?;
        let action = self.types.action(request.action);
        let resource = self.types.resource_uid(request.resource);
        // Validating the request against the schema catches an unknown action, a resource type the action
        // does not apply to, and a context that does not fit.
        let cedar_request =
            cedar::Request::new(principal.clone(), action.clone(), resource, context, Some(&self.schema))
                .map_err(|e| format!("invalid request: {}", message_of(&e)))?;
        let selection = self.policies_for(request.action, request.scopes)?;
        let entities = self.entities_for(request, actor, principal, action, &selection)?;
        Ok(self.authorizer.is_authorized(&cedar_request, &selection.policies, &entities))
    }

    /// The entities a request is decided against: its own (the principal with its meta, the resource and its
    /// chain) and the stored ones they reach (see `slice`). They depend on the principal, resource, action
    /// and scopes only, so requests that differ in context alone (another caller PID, another topic) share
    /// them.
    fn entities_for(
        &self,
        request: &Request<'_>,
        actor: &Actor,
        principal: cedar::EntityUid,
        action: cedar::EntityUid,
        selection: &Selection,
    ) -> Result<Arc<cedar::Entities>, String> {
        let key = (actor.clone(), request.resource.clone(), request.action.to_owned(), request.scopes.to_vec());
        if let Some(entities) = self.slices.get(&key) {
            return Ok(entities);
        }
        let (_, mut entities) = self.types.resource(request.resource)?;
        let declared = self.entities.get(&principal);
        entities.push(convert::actor_entity(principal, actor, declared)?);
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
            .map(Arc::new)
            .map_err(|e| format!("invalid request entities: {}", message_of(&e)))?;
        self.slices.insert(key, Arc::clone(&entities));
        Ok(entities)
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
        Decision {
            allowed,
            policies: policies.into(),
            errors: errors.into(),
            revision: Arc::clone(&self.revision),
            cached: false,
        }
    }

    /// The request's scopes that some policy uses, sorted and without duplicates.
    fn known_scopes(&self, scopes: &[String]) -> Vec<String> {
        let known: BTreeSet<&String> = scopes.iter().filter(|s| self.scopes.contains(*s)).collect();
        known.into_iter().cloned().collect()
    }

    /// The policies for a request's action and scopes, from the selections or built once.
    fn policies_for(&self, action: &str, scopes: &[String]) -> Result<Arc<Selection>, String> {
        let key = (self.known_scopes(scopes), action.to_owned());
        if let Some(selection) = self.selections.get(&key) {
            return Ok(selection);
        }
        let selected: Vec<&LoadedPolicy> = self.policies.iter().filter(|p| applies(p, &key.0, action)).collect();
        let literals: BTreeSet<cedar::EntityUid> = selected.iter().flat_map(|p| p.policy.entity_literals()).collect();
        let policies = cedar::PolicySet::from_policies(selected.iter().map(|p| p.policy.clone()))
            .map_err(|e| format!("cannot assemble the policies: {e}"))?;
        let selection = Arc::new(Selection { policies, literals: literals.into_iter().collect() });
        self.selections.insert(key, Arc::clone(&selection));
        Ok(selection)
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
