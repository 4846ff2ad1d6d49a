//! The decision cache of a policy set: exact answers keyed on every input of a decision.
//!
//! A decision depends on the principal (id and meta), the action, the resource (with the attributes the
//! [`Resource`] carries), the context, the scope names, the policies and the static entities. The last two
//! are fixed for a [`PolicySet`](crate::PolicySet): a reload or an edit of `entities.json` builds a new set
//! with an empty cache, so the policy revision and the entity generation are part of the key by construction.
//! The rest is the key. Lookups hash the borrowed [`Request`] and allocate nothing.

use std::hash::{Hash, Hasher};
use std::sync::{PoisonError, RwLock};

use hashbrown::{Equivalent, HashMap};

use crate::request::{Actor, AttrValue, Decision, Request, Resource};

/// Entries kept before the cache starts over. A full cache is cleared rather than evicted entry by entry:
/// the working set of a node (callers x targets x actions) refills it at the cost of one evaluation each.
pub(crate) const CAPACITY: usize = 16 * 1024;

/// An owned copy of every input of a request. Field order and types hash exactly as [`Borrowed`] does.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    principal: Option<Actor>,
    action: String,
    resource: Resource,
    context: Vec<(String, AttrValue)>,
    scopes: Vec<String>,
}

/// A request seen as a key, without copying it.
struct Borrowed<'r, 'a>(&'r Request<'a>);

impl Hash for Borrowed<'_, '_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The same sequence `Key`'s derived `Hash` feeds: `&T` hashes as `T`, `&str` as `String`, and a slice
        // as a `Vec`.
        self.0.principal.hash(state);
        self.0.action.hash(state);
        self.0.resource.hash(state);
        self.0.context.hash(state);
        self.0.scopes.hash(state);
    }
}

impl Equivalent<Key> for Borrowed<'_, '_> {
    fn equivalent(&self, key: &Key) -> bool {
        let r = self.0;
        r.principal == key.principal.as_ref()
            && r.action == key.action
            && *r.resource == key.resource
            && r.context == key.context.as_slice()
            && r.scopes == key.scopes.as_slice()
    }
}

/// Decisions by request, for one policy set.
#[derive(Default)]
pub(crate) struct DecisionCache(RwLock<HashMap<Key, Decision>>);

impl DecisionCache {
    /// The cached decision for `request`, marked [`Decision::cached`].
    pub(crate) fn get(&self, request: &Request<'_>) -> Option<Decision> {
        // Inserts and clears are single calls that leave the map whole, so a poisoned lock is safe to use.
        let map = self.0.read().unwrap_or_else(PoisonError::into_inner);
        let decision = map.get(&Borrowed(request))?;
        Some(Decision { cached: true, ..decision.clone() })
    }

    /// Remembers `decision` for `request`.
    pub(crate) fn insert(&self, request: &Request<'_>, decision: &Decision) {
        let key = Key {
            principal: request.principal.cloned(),
            action: request.action.to_owned(),
            resource: request.resource.clone(),
            context: request.context.to_vec(),
            scopes: request.scopes.to_vec(),
        };
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, Decision { cached: false, ..decision.clone() });
    }

    /// How many decisions are cached.
    pub(crate) fn len(&self) -> usize {
        self.0.read().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn a_borrowed_request_hashes_like_its_owned_key() {
        let actor = Actor::new("user:alice");
        let resource = Resource::Name { name: "svc".into() };
        let context = [("pid".to_owned(), AttrValue::from("<1>"))];
        let scopes = ["a".to_owned()];
        let request = Request {
            principal: Some(&actor),
            action: "process.send",
            resource: &resource,
            context: &context,
            scopes: &scopes,
        };
        let key = Key {
            principal: Some(actor.clone()),
            action: "process.send".into(),
            resource: resource.clone(),
            context: context.to_vec(),
            scopes: scopes.to_vec(),
        };
        let hasher = hashbrown::DefaultHashBuilder::default();
        assert_eq!(hasher.hash_one(Borrowed(&request)), hasher.hash_one(&key));
        assert!(Borrowed(&request).equivalent(&key));
        let other = Request { action: "process.link", ..request };
        assert!(!Borrowed(&other).equivalent(&key));
    }
}
