//! The decision cache of a policy set: exact answers keyed on every input of a decision the policies can
//! observe.
//!
//! A decision depends on the principal (id and meta), the action, the resource, the context, the scope
//! names, the policies and the static entities. The last two are fixed for a [`PolicySet`](crate::PolicySet):
//! a reload or an edit of `entities.json` builds a new set with an empty cache, so the policy revision and
//! the entity generation are part of the key by construction. Of the rest, the key leaves out what no policy
//! of the set can observe for the request's action ([`Observed`], computed at load time): context attributes
//! the schema does not declare, the values (not the shapes) of attributes no policy reads, and a target
//! process's PID when no policy can tell processes apart.
//!
//! Lookups hash the borrowed [`Request`] and allocate nothing. The owned [`Key`] and the borrowed view hash
//! and compare through the same functions, and the cache (`quick_cache`, bounded, with eviction) hashes
//! both with its one hasher ([`KeyHasher`]), for lookups and inserts alike.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use quick_cache::Equivalent;

use crate::observe::{Kept, Observed, UNNUMBERED};
use crate::request::{Actor, AttrValue, Decision, Request, Resource};

/// Decisions kept at most (across the cache's shards); past that the least useful are evicted one by one.
pub(crate) const CAPACITY: usize = 32 * 1024;

/// The hasher of the cache's keys, for lookups and inserts alike: foldhash, seeded per cache, so a tenant
/// cannot aim its keys at one bucket. Its `write` folds a slice's length in, so [`feed`] writes strings as
/// their bytes alone (no terminator). A collision only costs a comparison: equal hashes are compared whole.
pub(crate) type KeyHasher = foldhash::fast::RandomState;

/// Nesting followed when hashing or comparing a shape. Deeper values are refused by `convert` anyway; past
/// this depth two shapes compare unequal, which is a miss, never a wrong hit.
const MAX_SHAPE_DEPTH: usize = 40;

/// An owned copy of a request's inputs, with how each enters the key.
struct Key {
    principal: Option<Actor>,
    /// The action's number ([`Observed::action`]), which stands for its name unless [`UNNUMBERED`].
    number: u32,
    action: String,
    resource: Resource,
    /// Whether the resource's PID is part of the key.
    pid: bool,
    /// The context attributes Cedar sees, in request order, each by value or by shape, with its number
    /// ([`Observed::slot`]).
    context: Vec<(String, AttrValue, Kept, u32)>,
    scopes: Vec<String>,
}

/// How many context attributes a [`Borrowed`] looks up once (the rest are looked up on each use).
const INLINE: usize = 8;

/// A request seen as a key, without copying it.
struct Borrowed<'r, 'a> {
    request: &'r Request<'a>,
    observed: &'r Observed,
    /// Of the first [`INLINE`] context attributes, those that enter the key (the first `entered`): index in
    /// the context, how it enters, number. Looked up once for hashing and comparing.
    kept: [(u8, Kept, u32); INLINE],
    entered: usize,
}

impl<'r, 'a> Borrowed<'r, 'a> {
    fn new(request: &'r Request<'a>, observed: &'r Observed) -> Self {
        let mut kept = [(0, Kept::Dropped, UNNUMBERED); INLINE];
        let mut entered = 0;
        for ((name, _), index) in request.context.iter().take(INLINE).zip(0u8..) {
            let (how, slot) = observed.slot(name);
            if how != Kept::Dropped
                && let Some(entry) = kept.get_mut(entered)
            {
                *entry = (index, how, slot);
                entered += 1;
            }
        }
        Borrowed { request, observed, kept, entered }
    }

    fn context(&self) -> impl Iterator<Item = Attr<'_>> {
        let context = self.request.context;
        let inline = self.kept.get(..self.entered).unwrap_or_default().iter().filter_map(|&(index, kept, slot)| {
            let (name, value) = context.get(usize::from(index))?;
            Some((name.as_str(), value, kept, slot))
        });
        let rest = context.get(INLINE..).unwrap_or_default().iter().filter_map(|(name, value)| {
            let (kept, slot) = self.observed.slot(name);
            (kept != Kept::Dropped).then_some((name.as_str(), value, kept, slot))
        });
        inline.chain(rest)
    }
}

/// A context attribute as the key holds it: name, value, how it enters the key, number.
type Attr<'v> = (&'v str, &'v AttrValue, Kept, u32);

impl Key {
    fn context(&self) -> impl Iterator<Item = Attr<'_>> {
        self.context.iter().map(|(name, value, kept, slot)| (name.as_str(), value, *kept, *slot))
    }
}

/// Feeds `state` what the key holds: the one sequence both [`Key`] and [`Borrowed`] hash. The fixed-size
/// parts go in one word; strings as their bytes ([`KeyHasher`] tells lengths apart).
#[allow(clippy::too_many_arguments, reason = "the parts of a key, owned or borrowed")]
fn feed<'v, H: Hasher>(
    state: &mut H,
    principal: Option<&Actor>,
    number: u32,
    action: &str,
    resource: &Resource,
    pid: bool,
    context: impl Iterator<Item = Attr<'v>>,
    scopes: &[String],
) {
    // How many meta entries and scopes, truncated: the parts that follow are hashed whole anyway.
    let (present, meta) = principal.map_or((0, 0), |actor| (1, actor.meta.len() as u64 & 0xffff));
    let counts = present | u64::from(pid) << 1 | u64::from(kind(resource)) << 2 | (scopes.len() as u64 & 0xff) << 8;
    state.write_u64(u64::from(number) | counts << 32 | meta << 48);
    if let Some(actor) = principal {
        text(state, &actor.id);
        for (name, value) in &actor.meta {
            text(state, name);
            hash_value(state, value, 0);
        }
    }
    // A number stands for a name: within one set, one action (or attribute of it) has one number.
    if number == UNNUMBERED {
        text(state, action);
    }
    match resource {
        Resource::Process { pid: id, entry, host, actor } => {
            if pid {
                text(state, id);
            }
            text(state, entry);
            text(state, host);
            text(state, actor);
        }
        other => text(state, other.id()),
    }
    for (name, value, kept, slot) in context {
        state.write_u32(slot);
        if slot == UNNUMBERED {
            text(state, name);
        }
        match kept {
            Kept::Value => hash_value(state, value, 0),
            Kept::Shape | Kept::Dropped => hash_shape(state, value, 0),
        }
    }
    for scope in scopes {
        text(state, scope);
    }
}

/// A string's bytes: [`KeyHasher`] folds the length in.
fn text<H: Hasher>(state: &mut H, text: &str) {
    state.write(text.as_bytes());
}

/// The resource's variant, numbered.
fn kind(resource: &Resource) -> u8 {
    match resource {
        Resource::Entry { .. } => 0,
        Resource::Host { .. } => 1,
        Resource::Process { .. } => 2,
        Resource::Name { .. } => 3,
        Resource::Capability { .. } => 4,
        Resource::App { .. } => 5,
        Resource::EventSystem { .. } => 6,
    }
}

/// Hashes a value: its kind and its contents. Past [`MAX_SHAPE_DEPTH`] nothing more is hashed (equality,
/// which decides, still compares all of it).
fn hash_value<H: Hasher>(state: &mut H, value: &AttrValue, depth: usize) {
    if depth > MAX_SHAPE_DEPTH {
        return;
    }
    match value {
        AttrValue::Bool(b) => state.write_u8(u8::from(*b)),
        AttrValue::Long(n) => {
            state.write_u8(2);
            state.write_i64(*n);
        }
        AttrValue::Str(s) => {
            state.write_u8(3);
            text(state, s);
        }
        AttrValue::Set(items) => {
            state.write_u8(4);
            state.write_usize(items.len());
            items.iter().for_each(|item| hash_value(state, item, depth + 1));
        }
        AttrValue::Record(fields) => {
            state.write_u8(5);
            state.write_usize(fields.len());
            for (key, field) in fields {
                text(state, key);
                hash_value(state, field, depth + 1);
            }
        }
    }
}

/// Whether two texts of a process resource are the same: a process's PID, entry, host and actor are made
/// once and shared by every request about it, so the pointers are the same most of the time.
fn same_text(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// Whether two principals are the same: id and meta.
fn same_actor(a: &Actor, b: &Actor) -> bool {
    a.id == b.id && a.meta.len() == b.meta.len() && (a.meta.is_empty() || a.meta == b.meta)
}

fn same_principal(a: Option<&Actor>, b: Option<&Actor>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same_actor(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn same_resource(a: &Resource, b: &Resource, pid: bool) -> bool {
    match (a, b) {
        (
            Resource::Process { pid: a_pid, entry: a_entry, host: a_host, actor: a_actor },
            Resource::Process { pid: b_pid, entry: b_entry, host: b_host, actor: b_actor },
        ) => {
            (!pid || same_text(a_pid, b_pid))
                && same_text(a_entry, b_entry)
                && same_text(a_host, b_host)
                && same_text(a_actor, b_actor)
        }
        _ => a == b,
    }
}

/// Hashes what validation can see of a value: its kind and, inside sets and records, the shapes (and the
/// record keys), but no string, number or boolean.
fn hash_shape<H: Hasher>(state: &mut H, value: &AttrValue, depth: usize) {
    if depth > MAX_SHAPE_DEPTH {
        return;
    }
    match value {
        AttrValue::Bool(_) => state.write_u8(0),
        AttrValue::Long(_) => state.write_u8(1),
        AttrValue::Str(_) => state.write_u8(2),
        AttrValue::Set(items) => {
            state.write_u8(3);
            state.write_usize(items.len());
            items.iter().for_each(|item| hash_shape(state, item, depth + 1));
        }
        AttrValue::Record(fields) => {
            state.write_u8(4);
            state.write_usize(fields.len());
            for (key, field) in fields {
                text(state, key);
                hash_shape(state, field, depth + 1);
            }
        }
    }
}

/// Whether two values have the same shape (see [`hash_shape`]).
fn same_shape(a: &AttrValue, b: &AttrValue, depth: usize) -> bool {
    if depth > MAX_SHAPE_DEPTH {
        return false;
    }
    match (a, b) {
        (AttrValue::Bool(_), AttrValue::Bool(_))
        | (AttrValue::Long(_), AttrValue::Long(_))
        | (AttrValue::Str(_), AttrValue::Str(_)) => true,
        (AttrValue::Set(a), AttrValue::Set(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_shape(a, b, depth + 1))
        }
        (AttrValue::Record(a), AttrValue::Record(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && same_shape(va, vb, depth + 1))
        }
        _ => false,
    }
}

/// Whether two contexts are the same key. Both are of one action of one set, where a number other than
/// [`UNNUMBERED`] names one attribute.
fn same_context<'a, 'b>(mut a: impl Iterator<Item = Attr<'a>>, mut b: impl Iterator<Item = Attr<'b>>) -> bool {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some((na, va, ka, sa)), Some((nb, vb, kb, sb))) => {
                let same_value = match ka {
                    Kept::Value => va == vb,
                    Kept::Shape | Kept::Dropped => same_shape(va, vb, 0),
                };
                let same_name = sa == sb && (sa != UNNUMBERED || na == nb);
                if !same_name || ka != kb || !same_value {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let principal = self.principal.as_ref();
        feed(state, principal, self.number, &self.action, &self.resource, self.pid, self.context(), &self.scopes);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.number == other.number
            && same_principal(self.principal.as_ref(), other.principal.as_ref())
            && (self.number != UNNUMBERED || self.action == other.action)
            && self.pid == other.pid
            && same_resource(&self.resource, &other.resource, self.pid)
            && same_context(self.context(), other.context())
            && self.scopes == other.scopes
    }
}

impl Eq for Key {}

impl Hash for Borrowed<'_, '_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let r = self.request;
        let number = self.observed.action;
        feed(state, r.principal, number, r.action, r.resource, self.observed.pid, self.context(), r.scopes);
    }
}

impl Equivalent<Key> for Borrowed<'_, '_> {
    fn equivalent(&self, key: &Key) -> bool {
        let r = self.request;
        self.observed.action == key.number
            && same_principal(r.principal, key.principal.as_ref())
            && (key.number != UNNUMBERED || r.action == key.action)
            && self.observed.pid == key.pid
            && same_resource(r.resource, &key.resource, key.pid)
            && same_context(self.context(), key.context())
            && r.scopes == key.scopes.as_slice()
    }
}

/// Decisions by request, for one policy set: a bounded concurrent map (sharded, each shard under its own
/// lock) that evicts entries one at a time when full.
pub(crate) struct DecisionCache {
    map: quick_cache::sync::Cache<Key, Decision, quick_cache::UnitWeighter, KeyHasher>,
}

impl Default for DecisionCache {
    fn default() -> Self {
        DecisionCache::with_capacity(CAPACITY)
    }
}

impl DecisionCache {
    /// An empty cache of at most `capacity` decisions.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let map = quick_cache::sync::Cache::with(
            capacity,
            capacity as u64,
            quick_cache::UnitWeighter,
            KeyHasher::default(),
            quick_cache::sync::DefaultLifecycle::default(),
        );
        DecisionCache { map }
    }

    /// The cached decision for `request` keyed by `observed`, marked [`Decision::cached`].
    pub(crate) fn get(&self, request: &Request<'_>, observed: &Observed) -> Option<Decision> {
        // Stored marked: a hit is a copy of one reference.
        self.map.get(&Borrowed::new(request, observed))
    }

    /// Remembers `decision` for `request` keyed by `observed`.
    pub(crate) fn insert(&self, request: &Request<'_>, observed: &Observed, decision: &Decision) {
        let borrowed = Borrowed::new(request, observed);
        let key = Key {
            principal: request.principal.cloned(),
            number: observed.action,
            action: request.action.to_owned(),
            resource: request.resource.clone(),
            pid: observed.pid,
            context: borrowed
                .context()
                .map(|(name, value, kept, slot)| (name.to_owned(), value.clone(), kept, slot))
                .collect(),
            scopes: request.scopes.to_vec(),
        };
        self.map.insert(key, decision.marked(true));
    }

    /// How many decisions are cached.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;
    use crate::observe::EXACT;

    type TestResult = Result<(), String>;

    fn request<'a>(actor: &'a Actor, resource: &'a Resource, context: &'a [(String, AttrValue)]) -> Request<'a> {
        Request { principal: Some(actor), action: "process.send", resource, context, scopes: &[] }
    }

    fn decision(allowed: bool) -> Decision {
        Decision::new(allowed, std::sync::Arc::new([]), std::sync::Arc::new([]), "r".into())
    }

    #[test]
    fn a_borrowed_request_hashes_like_its_owned_key() {
        let actor = Actor::new("user:alice");
        let resource = Resource::Name { name: "svc".into() };
        let context = [("pid".to_owned(), AttrValue::from("<1>"))];
        let scopes = ["a".to_owned()];
        let request = Request { scopes: &scopes, ..request(&actor, &resource, &context) };
        let key = Key {
            principal: Some(actor.clone()),
            number: UNNUMBERED,
            action: "process.send".into(),
            resource: resource.clone(),
            pid: true,
            context: vec![("pid".to_owned(), AttrValue::from("<1>"), Kept::Value, UNNUMBERED)],
            scopes: scopes.to_vec(),
        };
        let hasher = KeyHasher::default();
        let borrowed = Borrowed::new(&request, &EXACT);
        assert_eq!(hasher.hash_one(&borrowed), hasher.hash_one(&key));
        assert!(borrowed.equivalent(&key));
        let other = Request { action: "process.link", ..request };
        assert!(!Borrowed::new(&other, &EXACT).equivalent(&key));
    }

    /// The old cache hashed with its own hasher and inserted into maps with theirs: once a map grew, the
    /// entries it rehashed were lost to lookups. Every key inserted (below capacity) must be found again.
    #[test]
    fn every_key_is_found_after_the_cache_grows() -> TestResult {
        let cache = DecisionCache::with_capacity(CAPACITY);
        let actors: Vec<Actor> = (0..5_000).map(|i| Actor::new(format!("user:{i}"))).collect();
        let resource = Resource::Name { name: "svc".into() };
        for (i, actor) in actors.iter().enumerate() {
            cache.insert(&request(actor, &resource, &[]), &EXACT, &decision(i % 2 == 0));
        }
        assert_eq!(cache.len(), actors.len());
        for (i, actor) in actors.iter().enumerate() {
            let found = cache.get(&request(actor, &resource, &[]), &EXACT).ok_or(format!("{} is missing", actor.id))?;
            assert!(found.cached);
            assert_eq!(found.allowed, i % 2 == 0, "{}", actor.id);
        }
        Ok(())
    }

    /// Past the attributes looked up once, the rest are looked up on each use: both hash and compare alike.
    #[test]
    fn long_contexts_are_keyed_like_short_ones() -> TestResult {
        let observed = Observed::with(false, &[("a0", Kept::Value), ("a9", Kept::Value)], Kept::Shape);
        let cache = DecisionCache::with_capacity(100);
        let actor = Actor::new("user:alice");
        let process = |pid: &str| Resource::Process {
            pid: pid.into(),
            entry: "a:w".into(),
            host: "a:h".into(),
            actor: "user:alice".into(),
        };
        let context = |last: &str, other: &str| -> Vec<(String, AttrValue)> {
            let mut context: Vec<(String, AttrValue)> =
                (0..9).map(|i| (format!("a{i}"), AttrValue::from(format!("{other}{i}")))).collect();
            context[0].1 = AttrValue::from("first");
            context.push(("a9".to_owned(), AttrValue::from(last)));
            context
        };
        let (p1, p2) = (process("p1"), process("p2"));
        let (base, unread, read) = (context("x", "v"), context("x", "w"), context("y", "v"));
        cache.insert(&request(&actor, &p1, &base), &observed, &decision(true));
        let hasher = KeyHasher::default();
        let key_of = |r: &Request<'_>| {
            let b = Borrowed::new(r, &observed);
            let key = Key {
                principal: r.principal.cloned(),
                number: observed.action,
                action: r.action.to_owned(),
                resource: r.resource.clone(),
                pid: observed.pid,
                context: b.context().map(|(n, v, k, s)| (n.to_owned(), v.clone(), k, s)).collect(),
                scopes: r.scopes.to_vec(),
            };
            (hasher.hash_one(&b), hasher.hash_one(&key), b.equivalent(&key))
        };
        let (borrowed, owned, equivalent) = key_of(&request(&actor, &p1, &base));
        assert!(borrowed == owned && equivalent);
        // Another PID and other values of unread attributes are the same key; a read one (the tenth) is not.
        assert!(cache.get(&request(&actor, &p2, &unread), &observed).is_some());
        assert!(cache.get(&request(&actor, &p1, &read), &observed).is_none());
        let mut typed = base.clone();
        typed[5].1 = AttrValue::from(5);
        assert!(cache.get(&request(&actor, &p1, &typed), &observed).is_none(), "a shape differs");
        Ok(())
    }

    /// A process's texts are compared by pointer first, then by value: the same texts in other allocations
    /// are the same key, and texts that differ (even where their concatenation is the same) are not.
    #[test]
    fn process_texts_are_keyed_by_value_not_by_allocation() {
        let observed = Observed::with(false, &[], Kept::Dropped);
        let cache = DecisionCache::with_capacity(100);
        let actor = Actor::new("user:alice");
        let process = |entry: &str, host: &str| Resource::Process {
            pid: "p1".into(),
            entry: entry.into(),
            host: host.into(),
            actor: "user:alice".into(),
        };
        let stored = process("a.w:ab", "c");
        cache.insert(&request(&actor, &stored, &[]), &observed, &decision(true));
        assert!(cache.get(&request(&actor, &stored, &[]), &observed).is_some(), "the same allocations");
        let copy = process("a.w:ab", "c");
        assert!(cache.get(&request(&actor, &copy, &[]), &observed).is_some(), "equal texts, other allocations");
        for (entry, host) in [("a.w:a", "bc"), ("a.w:abc", ""), ("a.w:ab", "d"), ("a.w:ac", "c")] {
            let other = process(entry, host);
            assert!(cache.get(&request(&actor, &other, &[]), &observed).is_none(), "{entry} {host}");
        }
    }

    /// Attributes that do not enter the key (here `b`, undeclared) may sit between those that do: the key
    /// skips them in hashing and comparing, owned or borrowed.
    #[test]
    fn dropped_attributes_between_kept_ones_are_skipped() {
        let observed = Observed::with(false, &[("a", Kept::Value), ("c", Kept::Shape)], Kept::Dropped);
        let cache = DecisionCache::with_capacity(100);
        let actor = Actor::new("user:alice");
        let resource = Resource::Name { name: "svc".into() };
        let context = |a: AttrValue, b: AttrValue, c: AttrValue| -> Vec<(String, AttrValue)> {
            vec![("a".to_owned(), a), ("b".to_owned(), b), ("c".to_owned(), c)]
        };
        let base = context("x".into(), "y".into(), "z".into());
        let request = request(&actor, &resource, &base);
        cache.insert(&request, &observed, &decision(true));
        let hasher = KeyHasher::default();
        let borrowed = Borrowed::new(&request, &observed);
        let key = Key {
            principal: Some(actor.clone()),
            number: UNNUMBERED,
            action: "process.send".into(),
            resource: resource.clone(),
            pid: false,
            context: borrowed.context().map(|(n, v, k, s)| (n.to_owned(), v.clone(), k, s)).collect(),
            scopes: Vec::new(),
        };
        assert_eq!(key.context.len(), 2, "{:?}", key.context);
        assert_eq!(hasher.hash_one(&borrowed), hasher.hash_one(&key));
        assert!(borrowed.equivalent(&key));
        let hits = [context("x".into(), 1.into(), "w".into()), base[..1].iter().chain(&base[2..]).cloned().collect()];
        for hit in &hits {
            let hit = Request { context: hit, ..request };
            assert!(cache.get(&hit, &observed).is_some(), "{:?}", hit.context);
        }
        let misses = [
            context("w".into(), "y".into(), "z".into()),
            context("x".into(), "y".into(), 1.into()),
            base[..2].to_vec(),
        ];
        for miss in &misses {
            let miss = Request { context: miss, ..request };
            assert!(cache.get(&miss, &observed).is_none(), "{:?}", miss.context);
        }
    }

    #[test]
    fn a_full_cache_evicts_rather_than_starting_over() {
        let cache = DecisionCache::with_capacity(1_000);
        let resource = Resource::Name { name: "svc".into() };
        let actors: Vec<Actor> = (0..3_000).map(|i| Actor::new(format!("user:{i}"))).collect();
        for actor in &actors {
            cache.insert(&request(actor, &resource, &[]), &EXACT, &decision(true));
            assert!(cache.len() <= 1_100, "the cache stays near its capacity: {}", cache.len());
        }
        assert!(cache.len() >= 900, "a full cache keeps most of its entries: {}", cache.len());
    }

    #[test]
    fn shapes_keep_kinds_and_record_keys_but_not_leaves() {
        let record = |k: &str, v: AttrValue| AttrValue::Record([(k.to_owned(), v)].into());
        let same = [
            (AttrValue::from("a"), AttrValue::from("b")),
            (AttrValue::from(1), AttrValue::from(2)),
            (AttrValue::Set(vec!["a".into()]), AttrValue::Set(vec!["b".into()])),
            (record("k", 1.into()), record("k", 5.into())),
        ];
        for (a, b) in &same {
            assert!(same_shape(a, b, 0), "{a:?} {b:?}");
        }
        let different = [
            (AttrValue::from("a"), AttrValue::from(1)),
            (AttrValue::from(true), AttrValue::from("true")),
            (AttrValue::Set(vec![]), AttrValue::Set(vec!["b".into()])),
            (AttrValue::Set(vec!["a".into()]), AttrValue::Set(vec![1.into()])),
            (record("k", 1.into()), record("j", 1.into())),
            (record("k", 1.into()), record("k", "1".into())),
        ];
        for (a, b) in &different {
            assert!(!same_shape(a, b, 0), "{a:?} {b:?}");
        }
    }
}
