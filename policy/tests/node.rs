//! A node's policy folder: the node schema (Corral's types and actions plus `App` and `node.*`), checked on
//! load; app folders are not asked for the node parts.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use corral_policy::{Actor, AttrValue, DEFAULT_SCHEMA, NODE_SCHEMA, PolicySet, Request, Resource};

fn files(schema: Option<&str>, policy: &str) -> Vec<(String, String)> {
    let mut files = vec![("node.cedar".to_string(), policy.to_string())];
    if let Some(schema) = schema {
        files.push(("schema.cedarschema".to_string(), schema.to_string()));
    }
    files
}

const ADMIN: &str = r#"@id("admin") permit (principal == Actor::"node:admin", action, resource);
@id("inspect.acme") permit (principal, action == Action::"node.inspect", resource == App::"acme");"#;

#[test]
fn a_node_folder_without_a_schema_decides_node_actions_on_apps() {
    let set = PolicySet::node_from_files(&files(None, ADMIN)).unwrap();
    let admin = Actor::new("node:admin");
    let guest = Actor::new("tenant-x:guest");
    let acme = Resource::App { name: "acme".into() };
    let other = Resource::App { name: "globex".into() };
    let context = [("pid".to_string(), AttrValue::from("api"))];
    let ask = |who: &Actor, action: &str, resource: &Resource| {
        set.decide(&Request { principal: Some(who), action, resource, context: &context, scopes: &[] }).allowed
    };
    assert!(ask(&admin, "node.deploy", &acme));
    assert!(ask(&admin, "node.remove", &other));
    assert!(ask(&guest, "node.inspect", &acme));
    assert!(!ask(&guest, "node.inspect", &other));
    assert!(!ask(&guest, "node.deploy", &acme));
    // Process actions are decided by the same folder.
    assert!(ask(&admin, "process.spawn", &Resource::Entry { id: "acme:worker".into() }));
    assert!(!ask(&guest, "process.spawn", &Resource::Entry { id: "acme:worker".into() }));
    assert_eq!(acme.to_string(), r#"App::"acme""#);
}

#[test]
fn a_node_schema_must_declare_the_app_type_and_the_node_actions() {
    // An app's schema is not enough for a node's folder.
    let err = PolicySet::node_from_files(&files(Some(DEFAULT_SCHEMA), "")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("entity type `App`"), "{text}");
    assert!(text.contains("action `node.deploy`") && text.contains("action `node.inspect`"), "{text}");
    assert!(text.contains("schema.cedarschema"), "{text}");
    // The node schema is a complete app schema too (a superset), so `corral policy test` loads the folder.
    assert!(PolicySet::from_files(&files(Some(NODE_SCHEMA), ADMIN)).is_ok());
    // ...and an app folder is never asked for node parts.
    assert!(PolicySet::from_files(&files(None, "")).is_ok());
    // A node schema lacking one node action names it.
    let lacking = NODE_SCHEMA.replace(r#""node.deploy", "#, "");
    let text = PolicySet::node_from_files(&files(Some(&lacking), "")).unwrap_err().to_string();
    assert!(text.contains("action `node.deploy`") && !text.contains("node.remove"), "{text}");
}

#[test]
fn an_app_folder_denies_node_actions_it_does_not_declare() {
    let set = PolicySet::from_files(&files(None, r#"@id("all") permit (principal, action, resource);"#)).unwrap();
    let alice = Actor::new("user:alice");
    let context = [("pid".to_string(), AttrValue::from("api"))];
    let resource = Resource::App { name: "acme".into() };
    let decision = set.decide(&Request {
        principal: Some(&alice),
        action: "node.deploy",
        resource: &resource,
        context: &context,
        scopes: &[],
    });
    assert!(!decision.allowed, "{decision:?}");
}

#[test]
fn the_example_node_folder_is_the_built_in_node_schema() {
    let example = include_str!("../../examples/node/policies/schema.cedarschema");
    assert_eq!(
        example, NODE_SCHEMA,
        "examples/node/policies/schema.cedarschema is a copy of policies/node.cedarschema"
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/node/policies");
    PolicySet::load_node_dir(&dir).unwrap();
}
