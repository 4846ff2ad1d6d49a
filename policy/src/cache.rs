//! The decision cache of a policy set: exact answers keyed on every input of a decision.
//!
//! A decision depends on the principal (id and meta), the action, the resource (with the attributes the
//! [`Resource`] carries), the context, the scope names, the policies and the static entities. The last two
//! are fixed for a [`PolicySet`](crate::PolicySet): a reload or an edit of `entities.json` builds a new set
//! with an empty cache, so the policy revision and the entity generation are part of the key by construction.
//! The rest is the key. Lookups hash the borrowed [`Request`] and allocate nothing.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Mutex, PoisonError};

use hashbrown::{Equivalent, HashMap};

use crate::request::{Actor, AttrValue, Decision, Request, Resource};

/// Entries kept before the cache starts over (across all shards). A full shard is cleared rather than evicted
/// entry by entry:
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

/// Shards of the cache; a request's hash picks one, so workers deciding at once rarely share a lock.
const SHARDS: usize = 16;

/// Decisions by request, for one policy set: [`SHARDS`] maps under their own locks, one hasher for all, so a
/// lookup hashes the request once.
pub(crate) struct DecisionCache {
    hasher: hashbrown::DefaultHashBuilder,
    shards: [Mutex<HashMap<Key, Decision>>; SHARDS],
}

impl Default for DecisionCache {
    fn default() -> Self {
        DecisionCache { hasher: Default::default(), shards: std::array::from_fn(|_| Mutex::new(HashMap::new())) }
    }
}

impl DecisionCache {
    fn shard(&self, hash: u64) -> std::sync::MutexGuard<'_, HashMap<Key, Decision>> {
        // The high bits pick the shard; hashbrown uses the low and top-7 bits within it.
        let index = (hash >> 32) as usize % SHARDS;
        // Inserts and clears are single calls that leave a map whole, so a poisoned lock is safe to use.
        self.shards[index].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached decision for `request`, marked [`Decision::cached`].
    pub(crate) fn get(&self, request: &Request<'_>) -> Option<Decision> {
        let borrowed = Borrowed(request);
        let hash = self.hasher.hash_one(&borrowed);
        let shard = self.shard(hash);
        let (_, decision) = shard.raw_entry().from_hash(hash, |key| borrowed.equivalent(key))?;
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
        let hash = self.hasher.hash_one(&key);
        let mut shard = self.shard(hash);
        if shard.len() >= CAPACITY / SHARDS {
            shard.clear();
        }
        let decision = Decision { cached: false, ..decision.clone() };
        match shard.raw_entry_mut().from_key_hashed_nocheck(hash, &key) {
            hashbrown::hash_map::RawEntryMut::Occupied(mut entry) => {
                entry.insert(decision);
            }
            hashbrown::hash_map::RawEntryMut::Vacant(entry) => {
                entry.insert_hashed_nocheck(hash, key, decision);
            }
        }
    }

    /// How many decisions are cached.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len()).sum()
    }
}

#[cfg(test)]
mod tests {
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
