//! The entities a request needs, taken from the static store without copying the store.
//!
//! Cedar decides against an entity store. Copying the whole store of `entities.json` into every request (and
//! recomputing its transitive closure) costs time proportional to the store. A request can only reach the
//! entities reachable from its own: the principal, the action, the resource and its chain, and the entity
//! literals of the policies evaluated; from those, through ancestors and entity-valued attributes and tags.
//! [`References`] records those edges once per set; [`collect`] walks them per request. The decision is the
//! one the whole store gives, since an entity outside the walk cannot be named by any evaluated expression.

use std::collections::{HashMap, HashSet};

use cedar_policy as cedar;

/// For each stored entity, the uids it refers to: its ancestors and the entities its attributes and tags
/// name (at any depth of sets and records).
pub(crate) struct References(HashMap<cedar::EntityUid, Vec<cedar::EntityUid>>);

impl References {
    pub(crate) fn of(store: &cedar::Entities) -> References {
        let mut edges = HashMap::new();
        for entity in store.iter() {
            let uid = entity.uid();
            let mut refs: Vec<cedar::EntityUid> = store.ancestors(&uid).into_iter().flatten().cloned().collect();
            for (_, value) in entity.attrs().chain(entity.tags()) {
                if let Ok(value) = value {
                    named(&value, &mut refs);
                }
            }
            edges.insert(uid, refs);
        }
        References(edges)
    }
}

impl References {
    /// What the stored entity `uid` refers to (nothing for an entity not stored).
    pub(crate) fn of_uid(&self, uid: &cedar::EntityUid) -> &[cedar::EntityUid] {
        self.0.get(uid).map_or(&[], Vec::as_slice)
    }
}

/// Pushes the entity uids `value` names.
fn named(value: &cedar::EvalResult, out: &mut Vec<cedar::EntityUid>) {
    match value {
        cedar::EvalResult::EntityUid(uid) => out.push(uid.clone()),
        cedar::EvalResult::Set(set) => set.iter().for_each(|v| named(v, out)),
        cedar::EvalResult::Record(record) => record.iter().for_each(|(_, v)| named(v, out)),
        _ => {}
    }
}

/// The store's entities reachable from `roots`, except those in `built` (the request's own entities, which
/// win over stored ones with the same uid), appended to `out`.
pub(crate) fn collect(
    store: &cedar::Entities,
    references: &References,
    roots: impl IntoIterator<Item = cedar::EntityUid>,
    built: &[cedar::Entity],
    out: &mut Vec<cedar::Entity>,
) {
    let mut seen: HashSet<cedar::EntityUid> = built.iter().map(cedar::Entity::uid).collect();
    let mut stack: Vec<cedar::EntityUid> = roots.into_iter().collect();
    while let Some(uid) = stack.pop() {
        if seen.contains(&uid) {
            continue;
        }
        if let Some(entity) = store.get(&uid) {
            out.push(entity.clone());
            if let Some(refs) = references.0.get(&uid) {
                stack.extend(refs.iter().filter(|r| !seen.contains(*r)).cloned());
            }
        }
        seen.insert(uid);
    }
}

/// The uids `entity` refers to through attributes and tags (its parents are handled by Cedar's closure).
pub(crate) fn referenced(entity: &cedar::Entity, references: &References) -> Vec<cedar::EntityUid> {
    let uid = entity.uid();
    if let Some(refs) = references.0.get(&uid) {
        return refs.clone();
    }
    let mut refs = Vec::new();
    for (_, value) in entity.attrs().chain(entity.tags()) {
        if let Ok(value) = value {
            named(&value, &mut refs);
        }
    }
    refs
}
