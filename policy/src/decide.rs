//! Deciding a request: the one place Cedar is asked. Deciding never fails; a failure is a deny.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use cedar_policy as cedar;

use crate::convert;
use crate::error::message_of;
use crate::request::{Decision, Request};
use crate::set::PolicySet;

/// At most this many scope combinations keep a built Cedar set; others are built per request. Keys are
/// subsets of the known scopes, so the bound only matters for folders with many scopes.
const MAX_CACHED: usize = 256;

/// Cedar policy sets by sorted scope list: the unscoped policies plus those of the scopes.
#[derive(Default)]
pub(crate) struct ScopeCache(RwLock<HashMap<Vec<String>, Arc<cedar::PolicySet>>>);

impl ScopeCache {
    fn get(&self, scopes: &[String]) -> Option<Arc<cedar::PolicySet>> {
        // A panic while holding the lock cannot leave the map half-updated (inserts are single calls),
        // so a poisoned lock is safe to keep using.
        let sets = self.0.read().unwrap_or_else(PoisonError::into_inner);
        sets.get(scopes).cloned()
    }

    fn insert(&self, scopes: Vec<String>, set: Arc<cedar::PolicySet>) {
        let mut sets = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if sets.len() < MAX_CACHED {
            sets.insert(scopes, set);
        }
    }
}

impl PolicySet {
    /// Decides one request: deny by default, any applicable `forbid` wins over every `permit` (Cedar's
    /// rules), and the policies that apply are the unscoped ones plus those of `request.scopes`.
    ///
    /// Never fails: no principal, an unknown action, a resource or context the schema does not allow, an
    /// entity that cannot be built and an evaluation error are each a deny with the reason in
    /// [`Decision::errors`].
    pub fn decide(&self, request: &Request<'_>) -> Decision {
        match self.authorize(request) {
            Ok(response) => self.decision(&response),
            Err(error) => {
                Decision { allowed: false, policies: Vec::new(), errors: vec![error], revision: self.revision.clone() }
            }
        }
    }

    fn authorize(&self, request: &Request<'_>) -> Result<cedar::Response, String> {
        let actor = request.principal.ok_or_else(|| "no actor".to_owned())?;
        let principal = self.types.actor(&actor.id);
        let (resource, mut entities) = self.types.resource(request.resource)?;
        let context = convert::context(request.context)?;
        let action = self.types.action(request.action);
        // Validating the request against the schema catches an unknown action, a resource type the action
        // does not apply to, and a context that does not fit.
        let cedar_request = cedar::Request::new(principal.clone(), action, resource, context, Some(&self.schema))
            .map_err(|e| format!("invalid request: {}", message_of(&e)))?;
        let declared = self.entities.get(&principal);
        entities.push(convert::actor_entity(principal, actor, declared)?);
        // Request entities are not validated against the schema: an actor's meta may carry keys the schema
        // does not declare, and a policy that reads a mistyped one fails to evaluate, which is a deny.
        let entities = self
            .entities
            .clone()
            .upsert_entities(entities, None)
            .map_err(|e| format!("invalid request entities: {}", message_of(&e)))?;
        let policies = self.policies_for(request.scopes)?;
        Ok(self.authorizer.is_authorized(&cedar_request, &policies, &entities))
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
        Decision { allowed, policies, errors, revision: self.revision.clone() }
    }

    /// The Cedar set for a request's scopes, from the cache or built once.
    fn policies_for(&self, scopes: &[String]) -> Result<Arc<cedar::PolicySet>, String> {
        let sorted = scopes.windows(2).all(|w| matches!(w, [a, b] if a < b));
        let key: Cow<'_, [String]> = if sorted && scopes.iter().all(|s| self.scopes.contains(s)) {
            Cow::Borrowed(scopes)
        } else {
            let known: BTreeSet<&String> = scopes.iter().filter(|s| self.scopes.contains(*s)).collect();
            Cow::Owned(known.into_iter().cloned().collect())
        };
        if let Some(set) = self.cache.get(&key) {
            return Ok(set);
        }
        let selected =
            self.policies.iter().filter(|p| p.scope.as_ref().is_none_or(|scope| key.binary_search(scope).is_ok()));
        let set = cedar::PolicySet::from_policies(selected.map(|p| p.policy.clone()))
            .map(Arc::new)
            .map_err(|e| format!("cannot assemble the policies: {e}"))?;
        self.cache.insert(key.into_owned(), Arc::clone(&set));
        Ok(set)
    }
}
