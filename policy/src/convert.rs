//! Turning requests into Cedar values: entity uids, attribute values and the request's entities.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy as cedar;

use crate::request::{Actor, AttrValue, Resource};

/// How deep sets and records may nest. Values come from guests; a bound keeps a hostile one from exhausting
/// the stack of the host (here or in Cedar's evaluator).
const MAX_DEPTH: usize = 32;

/// The entity type names a request uses, parsed once when a set is loaded.
#[derive(Debug)]
pub(crate) struct Types {
    action: cedar::EntityTypeName,
    actor: cedar::EntityTypeName,
    namespace: cedar::EntityTypeName,
    entry: cedar::EntityTypeName,
    host: cedar::EntityTypeName,
    process: cedar::EntityTypeName,
    name: cedar::EntityTypeName,
    capability: cedar::EntityTypeName,
    app: cedar::EntityTypeName,
    event_system: cedar::EntityTypeName,
}

impl Types {
    pub(crate) fn new() -> Result<Self, String> {
        let parse = |name: &str| cedar::EntityTypeName::from_str(name).map_err(|e| e.to_string());
        Ok(Self {
            action: parse("Action")?,
            actor: parse("Actor")?,
            namespace: parse("Namespace")?,
            entry: parse("Entry")?,
            host: parse("Host")?,
            process: parse("Process")?,
            name: parse("Name")?,
            capability: parse("Capability")?,
            app: parse("App")?,
            event_system: parse("EventSystem")?,
        })
    }

    pub(crate) fn action(&self, name: &str) -> cedar::EntityUid {
        uid(&self.action, name)
    }

    pub(crate) fn actor(&self, id: &str) -> cedar::EntityUid {
        uid(&self.actor, id)
    }

    /// The resource's uid alone.
    pub(crate) fn resource_uid(&self, resource: &Resource) -> cedar::EntityUid {
        let ty = match resource {
            Resource::Entry { .. } => &self.entry,
            Resource::Host { .. } => &self.host,
            Resource::Process { .. } => &self.process,
            Resource::Name { .. } => &self.name,
            Resource::Capability { .. } => &self.capability,
            Resource::App { .. } => &self.app,
            Resource::EventSystem { .. } => &self.event_system,
        };
        uid(ty, resource.id())
    }

    /// The resource's uid and the entities a request about it carries: the resource itself and its
    /// ancestors (namespaces of entries and hosts; for a process its entry and its host with theirs).
    pub(crate) fn resource(&self, resource: &Resource) -> Result<(cedar::EntityUid, Vec<cedar::Entity>), String> {
        let mut entities = Vec::new();
        let resource_uid = match resource {
            Resource::Entry { id } => self.placed(&self.entry, id, &mut entities),
            Resource::Host { id } => self.placed(&self.host, id, &mut entities),
            Resource::Process { pid, entry, host, actor } => {
                let entry = self.placed(&self.entry, entry, &mut entities);
                let host = self.placed(&self.host, host, &mut entities);
                let attrs = HashMap::from([
                    ("actor".to_owned(), entity_ref(self.actor(actor))),
                    ("host".to_owned(), entity_ref(host)),
                ]);
                let process = uid(&self.process, pid);
                let entity = cedar::Entity::new(process.clone(), attrs, HashSet::from([entry]))
                    .map_err(|e| format!("invalid resource `{resource}`: {e}"))?;
                entities.push(entity);
                process
            }
            Resource::Name { name } => leaf(uid(&self.name, name), &mut entities),
            Resource::Capability { name } => leaf(uid(&self.capability, name), &mut entities),
            Resource::App { name } => leaf(uid(&self.app, name), &mut entities),
            Resource::EventSystem { name } => self.event_system(name, &mut entities),
        };
        Ok((resource_uid, entities))
    }

    /// Pushes `EventSystem::"a.b.c"` in `EventSystem::"a.b"` in `EventSystem::"a"` (a subscription pattern
    /// `a.b.*` is in `a.b`; `*` is in nothing), so `resource in EventSystem::"a"` covers a system and every
    /// system and pattern under it; returns its uid. A name is at most 256 bytes (the runtime bounds it), so
    /// the chain is short.
    fn event_system(&self, name: &str, entities: &mut Vec<cedar::Entity>) -> cedar::EntityUid {
        let this = uid(&self.event_system, name);
        let mut child = this.clone();
        let mut rest = name;
        while let Some((head, _)) = rest.rsplit_once('.').filter(|(head, _)| !head.is_empty()) {
            let parent = uid(&self.event_system, head);
            entities.push(cedar::Entity::new_no_attrs(child, HashSet::from([parent.clone()])));
            child = parent;
            rest = head;
        }
        entities.push(cedar::Entity::new_no_attrs(child, HashSet::new()));
        this
    }

    /// Pushes the entity `ty::"<id>"` of an id `namespace:name` and its namespace chain; returns its uid.
    fn placed(&self, ty: &cedar::EntityTypeName, id: &str, entities: &mut Vec<cedar::Entity>) -> cedar::EntityUid {
        let this = uid(ty, id);
        let parents = match id.split_once(':') {
            Some((namespace, _)) if !namespace.is_empty() => {
                self.namespaces(namespace, entities);
                HashSet::from([uid(&self.namespace, namespace)])
            }
            _ => HashSet::new(),
        };
        entities.push(cedar::Entity::new_no_attrs(this.clone(), parents));
        this
    }

    /// Pushes `Namespace::"a.b.c"` -> `Namespace::"a.b"` -> `Namespace::"a"`, stopping at one already pushed
    /// (an entry and a host of a process often share their namespaces).
    fn namespaces(&self, namespace: &str, entities: &mut Vec<cedar::Entity>) {
        let mut current = namespace;
        loop {
            let this = uid(&self.namespace, current);
            if entities.iter().any(|e| e.uid() == this) {
                break;
            }
            let parent = current.rsplit_once('.').map(|(parent, _)| parent);
            let parents = parent.map(|p| uid(&self.namespace, p)).into_iter().collect();
            entities.push(cedar::Entity::new_no_attrs(this, parents));
            match parent {
                Some(parent) => current = parent,
                None => break,
            }
        }
    }
}

/// The principal's entity: the declared actor (parents and attributes) with `meta` merged over its
/// attributes, or a new actor with `meta` as attributes.
pub(crate) fn actor_entity(
    uid: cedar::EntityUid,
    actor: &Actor,
    declared: Option<&cedar::Entity>,
) -> Result<cedar::Entity, String> {
    let (mut attrs, parents) = match declared {
        Some(entity) => {
            let (_, attrs, parents) = entity.clone().into_inner();
            (attrs, parents)
        }
        None => (HashMap::new(), HashSet::new()),
    };
    for (key, value) in &actor.meta {
        let value = expression(value).map_err(|e| format!("actor attribute `{key}`: {e}"))?;
        attrs.insert(key.clone(), value);
    }
    cedar::Entity::new(uid.clone(), attrs, parents).map_err(|e| format!("invalid actor `{uid}`: {e}"))
}

/// The request's context record.
pub(crate) fn context(pairs: &[(String, AttrValue)]) -> Result<cedar::Context, String> {
    let pairs = pairs
        .iter()
        .map(|(key, value)| {
            let value = expression(value).map_err(|e| format!("context attribute `{key}`: {e}"))?;
            Ok((key.clone(), value))
        })
        .collect::<Result<Vec<_>, String>>()?;
    cedar::Context::from_pairs(pairs).map_err(|e| format!("invalid context: {e}"))
}

/// A value as a Cedar restricted expression.
pub(crate) fn expression(value: &AttrValue) -> Result<cedar::RestrictedExpression, String> {
    expression_at(value, 0)
}

fn expression_at(value: &AttrValue, depth: usize) -> Result<cedar::RestrictedExpression, String> {
    if depth > MAX_DEPTH {
        return Err(format!("value nested deeper than {MAX_DEPTH} levels"));
    }
    Ok(match value {
        AttrValue::Bool(b) => cedar::RestrictedExpression::new_bool(*b),
        AttrValue::Long(n) => cedar::RestrictedExpression::new_long(*n),
        AttrValue::Str(s) => cedar::RestrictedExpression::new_string(s.clone()),
        AttrValue::Set(items) => cedar::RestrictedExpression::new_set(
            items.iter().map(|item| expression_at(item, depth + 1)).collect::<Result<Vec<_>, _>>()?,
        ),
        AttrValue::Record(fields) => {
            let fields = fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), expression_at(v, depth + 1)?)))
                .collect::<Result<Vec<_>, String>>()?;
            cedar::RestrictedExpression::new_record(fields).map_err(|e| e.to_string())?
        }
    })
}

fn uid(ty: &cedar::EntityTypeName, id: &str) -> cedar::EntityUid {
    cedar::EntityUid::from_type_name_and_id(ty.clone(), cedar::EntityId::new(id))
}

fn entity_ref(uid: cedar::EntityUid) -> cedar::RestrictedExpression {
    cedar::RestrictedExpression::new_entity_uid(uid)
}

fn leaf(uid: cedar::EntityUid, entities: &mut Vec<cedar::Entity>) -> cedar::EntityUid {
    entities.push(cedar::Entity::with_uid(uid.clone()));
    uid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(entities: &[cedar::Entity]) -> Vec<String> {
        entities.iter().map(|e| e.uid().to_string()).collect()
    }

    #[test]
    fn entries_carry_their_namespace_chain() -> Result<(), String> {
        let types = Types::new()?;
        let entry = Resource::Entry { id: "a.b.c:x".into() };
        let (uid, entities) = types.resource(&entry)?;
        assert_eq!(uid.to_string(), r#"Entry::"a.b.c:x""#);
        assert_eq!(
            ids(&entities),
            [r#"Namespace::"a.b.c""#, r#"Namespace::"a.b""#, r#"Namespace::"a""#, r#"Entry::"a.b.c:x""#]
        );
        Ok(())
    }

    #[test]
    fn deep_values_are_refused() {
        let mut value = AttrValue::Long(1);
        for _ in 0..100 {
            value = AttrValue::Set(vec![value]);
        }
        assert!(expression(&value).is_err());
    }
}
