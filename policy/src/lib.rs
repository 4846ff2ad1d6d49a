//! Corral's policy engine: loads a folder of Cedar policies and decides every process API call against it.
//!
//! Every process API call is one or more requests `(principal = actor, action, resource, context)`
//! (see `docs/policy-model.md`). This crate knows nothing of Lua or of the runtime: it loads and validates
//! policy files, and answers requests. It never panics, and deciding never fails: anything that goes wrong
//! while deciding is a deny that carries the reason.
//!
//! # Principal types
//! - [`PolicySet`]: a loaded, validated policy folder (`*.cedar`, `schema.cedarschema`, `entities.json`),
//!   with its [revision](PolicySet::revision). Loaded by [`PolicySet::load_dir`] or
//!   [`PolicySet::from_files`]; shared behind an `Arc`.
//! - [`Request`]: who ([`Actor`]), which action, on what ([`Resource`]), in which context ([`AttrValue`]s),
//!   with which scopes.
//! - [`Decision`]: allowed or not, the ids of the deciding policies, the errors, the revision (its shared
//!   [`Answer`]), and whether it came from the cache.
//! - [`LoadError`]: every [`Problem`] of a folder that does not load, each with file, line and policy.
//!
//! # Policies
//! - `@id("...")` names a policy in decisions; without it the id is `<file name>:<line>`, e.g.
//!   `base.cedar:3`. Ids are unique across the folder.
//! - `@scope("name")` puts a policy in a scope. A request is decided by the unscoped policies plus those of
//!   the request's scopes.
//! - Entities of a request: those of `entities.json`, the principal (its declared parents and attributes
//!   with the request's `meta` merged over them), and the resource with its ancestors: an entry or host
//!   `a.b:x` is in `Namespace::"a.b"`, which is in `Namespace::"a"`; a process is in its entry and has
//!   attributes `actor` and `host`. So `resource in Namespace::"acme"` covers acme's entries, hosts and
//!   processes, and `resource.actor == principal` means "a process of my own".
//!
//! # Example
//! ```
//! use corral_policy::{Actor, AttrValue, PolicySet, Request, Resource};
//!
//! // No schema file: Corral's built-in schema is used.
//! let files = vec![(
//!     "base.cedar".to_owned(),
//!     r#"@id("own-processes")
//!        permit(principal, action == Action::"process.send", resource is Process)
//!        when { resource.actor == principal };"#
//!         .to_owned(),
//! )];
//! let policies = PolicySet::from_files(&files)?;
//!
//! let alice = Actor::new("user:alice");
//! let worker = Resource::Process {
//!     pid: "<1.0.7>".into(),
//!     entry: "acme.workers:handler".into(),
//!     host: "acme:processes".into(),
//!     actor: "user:alice".into(),
//! };
//! let context = [("pid".to_owned(), AttrValue::from("<1.0.1>"))];
//! let request = Request {
//!     principal: Some(&alice),
//!     action: "process.send",
//!     resource: &worker,
//!     context: &context,
//!     scopes: &[],
//! };
//! let decision = policies.decide(&request);
//! assert!(decision.allowed);
//! assert_eq!(*decision.policies, ["own-processes"]);
//! assert_eq!(&*decision.revision, policies.revision());
//!
//! // Without an actor, nothing is allowed.
//! let decision = policies.decide(&Request { principal: None, ..request });
//! assert!(!decision.allowed);
//! assert_eq!(*decision.errors, ["no actor"]);
//! # Ok::<(), corral_policy::LoadError>(())
//! ```

mod cache;
mod context;
mod convert;
mod decide;
mod entities;
mod error;
mod guard;
mod load;
mod observe;
mod request;
mod set;
mod slice;
mod source;
pub mod testing;

pub use error::{LoadError, Problem};
pub use load::OPTIONAL_ACTIONS;
pub use request::{Actor, Answer, AttrValue, Decision, Request, Resource};
pub use set::PolicySet;

/// The schema a policy folder without `schema.cedarschema` is validated against (Corral's own).
pub const DEFAULT_SCHEMA: &str = load::DEFAULT_SCHEMA;

/// The schema a node's policy folder without `schema.cedarschema` is validated against: [`DEFAULT_SCHEMA`]
/// plus the entity type `App` and the actions `node.deploy`, `node.remove` and `node.inspect`.
pub const NODE_SCHEMA: &str = load::NODE_SCHEMA;
