//! Which context attributes each action's schema declares.
//!
//! The runtime passes more context than older schemas know (issue 9: a spawn carries the child's entry,
//! actor and scopes; a registry call the process a name is bound to). Cedar rejects a request whose context
//! has an attribute its action's context type does not declare, so each request is given only the attributes
//! the folder's schema declares for its action: a folder written before an attribute existed keeps deciding
//! as it did, and a policy can read an attribute only once its schema declares it (strict validation).

use std::collections::{BTreeMap, BTreeSet};

use hashbrown::HashMap;

use cedar_policy as cedar;

use crate::request::AttrValue;
use serde_json::Value as Json;

/// Action name -> the context attribute names its schema declares. An action missing from the map (a schema
/// the reader does not understand) keeps every attribute, so Cedar's own validation decides. For an attribute
/// whose type is a record (`actor_meta`: the assumed actor's meta), the record's declared keys too: a request
/// passes only those (meta keys the schema does not declare never reach Cedar, which would reject them).
#[derive(Clone, Debug, Default)]
pub(crate) struct ContextAttrs {
    actions: HashMap<String, Declared>,
}

/// The context attributes the schema declares for one action, and the declared keys of its record-typed ones.
#[derive(Clone, Debug, Default)]
pub(crate) struct Declared {
    names: BTreeSet<String>,
    records: BTreeMap<String, BTreeSet<String>>,
}

impl Declared {
    /// Whether the context may carry `attribute`.
    pub(crate) fn allows(&self, attribute: &str) -> bool {
        self.names.contains(attribute)
    }

    /// `value` of attribute `name` as the schema declares it: a record keeps only its declared keys; anything
    /// else is unchanged.
    pub(crate) fn narrow(&self, name: &str, value: &AttrValue) -> AttrValue {
        match (self.records.get(name), value) {
            (Some(keys), AttrValue::Record(map)) => AttrValue::Record(
                map.iter().filter(|(k, _)| keys.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            _ => value.clone(),
        }
    }
}

impl ContextAttrs {
    /// Reads the declared attributes from the schema's text (`schema.cedarschema`). A text that does not
    /// parse or serialize gives an empty map (the schema was loaded already, so this is not expected).
    pub(crate) fn of_schema_text(text: &str) -> ContextAttrs {
        let Ok((fragment, _)) = cedar::SchemaFragment::from_cedarschema_str(text) else {
            return ContextAttrs::default();
        };
        let Ok(json) = fragment.to_json_value() else { return ContextAttrs::default() };
        let mut out = ContextAttrs::default();
        let Some(namespaces) = json.as_object() else { return out };
        for namespace in namespaces.values() {
            let common = namespace.get("commonTypes").and_then(Json::as_object);
            let Some(actions) = namespace.get("actions").and_then(Json::as_object) else { continue };
            for (action, spec) in actions {
                let context = spec.get("appliesTo").and_then(|a| a.get("context"));
                let declared = match context {
                    None => Some(serde_json::Map::new()),
                    Some(ty) => record(ty, common).cloned(),
                };
                let Some(declared) = declared else { continue };
                let mut attrs = Declared::default();
                for (name, ty) in &declared {
                    if let Some(keys) = record(ty, common) {
                        attrs.records.insert(name.clone(), keys.keys().cloned().collect());
                    }
                }
                attrs.names = declared.keys().cloned().collect();
                out.actions.insert(action.clone(), attrs);
            }
        }
        out
    }

    /// `value` of attribute `name` of `action`'s context as the schema declares it: a record keeps only its
    /// declared keys; anything else is unchanged.
    #[cfg(test)]
    pub(crate) fn narrow(&self, action: &str, name: &str, value: &AttrValue) -> AttrValue {
        match self.of(action) {
            Some(declared) => declared.narrow(name, value),
            None => value.clone(),
        }
    }

    /// The attributes the schema declares for `action`; `None` when they are not known (every attribute
    /// is passed).
    pub(crate) fn declared(&self, action: &str) -> Option<&BTreeSet<String>> {
        self.actions.get(action).map(|declared| &declared.names)
    }

    /// What the schema declares of `action`'s context; `None` when it is not known (every attribute is
    /// passed, unchanged).
    pub(crate) fn of(&self, action: &str) -> Option<&Declared> {
        self.actions.get(action)
    }

    /// Whether `action`'s context may carry `attribute`.
    #[cfg(test)]
    pub(crate) fn allows(&self, action: &str, attribute: &str) -> bool {
        self.of(action).is_none_or(|declared| declared.allows(attribute))
    }
}

/// The attributes of a record type (a context's, or an attribute's), following one common-type name; `None`
/// when it is not a record or the shape is unknown.
fn record<'j>(
    ty: &'j Json,
    common: Option<&'j serde_json::Map<String, Json>>,
) -> Option<&'j serde_json::Map<String, Json>> {
    match ty.get("type").and_then(Json::as_str)? {
        "Record" => ty.get("attributes").and_then(Json::as_object),
        "EntityOrCommon" => record(common?.get(ty.get("name").and_then(Json::as_str)?)?, None),
        name => record(common?.get(name)?, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_attributes_are_read_through_common_types() {
        let attrs = ContextAttrs::of_schema_text(
            r#"entity A; entity R;
            type Call = { "pid": String, "topic"?: String };
            action "send" appliesTo { principal: [A], resource: [R], context: Call };
            action "look" appliesTo { principal: [A], resource: [R], context: { "pid": String } };
            action "bare" appliesTo { principal: [A], resource: [R] };"#,
        );
        assert!(attrs.allows("send", "pid") && attrs.allows("send", "topic"));
        assert!(!attrs.allows("send", "owner"), "an attribute the schema does not declare is dropped");
        assert!(attrs.allows("look", "pid") && !attrs.allows("look", "topic"));
        assert!(!attrs.allows("bare", "pid"));
        assert!(attrs.allows("unknown", "anything"), "an action the reader did not find keeps its context");
        let meta = ContextAttrs::of_schema_text(
            r#"entity A; entity R;
            type Meta = { "tenant"?: String };
            action "spawn" appliesTo { principal: [A], resource: [R], context: { "pid": String, "actor_meta"?: Meta } };"#,
        );
        let given = AttrValue::Record(
            [("tenant".to_string(), AttrValue::from("acme")), ("secret".to_string(), AttrValue::Long(1))].into(),
        );
        let kept = AttrValue::Record([("tenant".to_string(), AttrValue::from("acme"))].into());
        assert_eq!(meta.narrow("spawn", "actor_meta", &given), kept, "only the declared meta keys pass");
        assert_eq!(meta.narrow("spawn", "pid", &AttrValue::from("<1>")), AttrValue::from("<1>"));
    }
}
