//! Which context attributes each action's schema declares.
//!
//! The runtime passes more context than older schemas know (issue 9: a spawn carries the child's entry,
//! actor and scopes; a registry call the process a name is bound to). Cedar rejects a request whose context
//! has an attribute its action's context type does not declare, so each request is given only the attributes
//! the folder's schema declares for its action: a folder written before an attribute existed keeps deciding
//! as it did, and a policy can read an attribute only once its schema declares it (strict validation).

use std::collections::{BTreeSet, HashMap};

use cedar_policy as cedar;
use serde_json::Value as Json;

/// Action name -> the context attribute names its schema declares. An action missing from the map (a schema
/// the reader does not understand) keeps every attribute, so Cedar's own validation decides.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContextAttrs(HashMap<String, BTreeSet<String>>);

impl ContextAttrs {
    /// Reads the declared attributes from the schema's text (`schema.cedarschema`). A text that does not
    /// parse or serialize gives an empty map (the schema was loaded already, so this is not expected).
    pub(crate) fn of_schema_text(text: &str) -> ContextAttrs {
        let Ok((fragment, _)) = cedar::SchemaFragment::from_cedarschema_str(text) else {
            return ContextAttrs::default();
        };
        let Ok(json) = fragment.to_json_value() else { return ContextAttrs::default() };
        let mut out = HashMap::new();
        let Some(namespaces) = json.as_object() else { return ContextAttrs(out) };
        for namespace in namespaces.values() {
            let common = namespace.get("commonTypes").and_then(Json::as_object);
            let Some(actions) = namespace.get("actions").and_then(Json::as_object) else { continue };
            for (action, spec) in actions {
                let context = spec.get("appliesTo").and_then(|a| a.get("context"));
                let names = match context {
                    None => Some(BTreeSet::new()),
                    Some(ty) => attributes(ty, common),
                };
                if let Some(names) = names {
                    out.insert(action.clone(), names);
                }
            }
        }
        ContextAttrs(out)
    }

    /// The attributes the schema declares for `action`; `None` when they are not known (every attribute
    /// is passed).
    pub(crate) fn declared(&self, action: &str) -> Option<&BTreeSet<String>> {
        self.0.get(action)
    }

    /// Whether `action`'s context may carry `attribute`.
    pub(crate) fn allows(&self, action: &str, attribute: &str) -> bool {
        self.0.get(action).is_none_or(|names| names.contains(attribute))
    }
}

/// The attribute names of a record type, following one common-type name; `None` when the shape is unknown.
fn attributes(ty: &Json, common: Option<&serde_json::Map<String, Json>>) -> Option<BTreeSet<String>> {
    match ty.get("type").and_then(Json::as_str)? {
        "Record" => Some(ty.get("attributes").and_then(Json::as_object)?.keys().cloned().collect()),
        "EntityOrCommon" => attributes(common?.get(ty.get("name").and_then(Json::as_str)?)?, None),
        name => attributes(common?.get(name)?, None),
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
    }
}
