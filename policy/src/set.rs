//! The loaded policy set and what it tells about itself.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use cedar_policy as cedar;

use crate::cache::DecisionCache;
use crate::convert::Types;
use crate::decide::{Selections, Slices};
use crate::error::LoadError;
use crate::load;
use crate::source::LoadedPolicy;

/// A loaded, validated policy folder: policies, schema and static entities.
///
/// Immutable once loaded (a reload builds a new set and swaps it in), cheap to share behind an `Arc`, and
/// `Send + Sync`. [`PolicySet::decide`] answers requests.
pub struct PolicySet {
    pub(crate) revision: std::sync::Arc<str>,
    /// In file order: files sorted by name, policies in text order.
    pub(crate) policies: Vec<LoadedPolicy>,
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) schema: cedar::Schema,
    /// The context attributes the schema declares per action: a request passes only those.
    pub(crate) context_attrs: crate::context::ContextAttrs,
    /// The entities of `entities.json` and the schema's actions.
    pub(crate) entities: cedar::Entities,
    /// What each stored entity refers to, for taking a request's slice of `entities`.
    pub(crate) references: crate::slice::References,
    pub(crate) types: Types,
    pub(crate) authorizer: cedar::Authorizer,
    /// Built Cedar sets per (scopes, action) pre-selection.
    pub(crate) selections: Selections,
    /// Built request entities per (principal, resource, action, scopes).
    pub(crate) slices: Slices,
    /// What the policies that can apply to each action observe of a request: the decision cache's key.
    pub(crate) observed: hashbrown::HashMap<String, crate::observe::Observed>,
    /// Requests found valid against the schema, by their shape.
    pub(crate) valid_requests: crate::decide::ValidRequests,
    /// Decisions made by this set.
    pub(crate) decisions: DecisionCache,
}

impl PolicySet {
    /// Loads a policy folder: every `*.cedar` file (sorted by file name), `schema.cedarschema` (Corral's
    /// built-in schema when absent) and `entities.json` (optional; Cedar's JSON entity format). Other files
    /// are ignored.
    ///
    /// Every policy is validated against the schema in strict mode, and the entities against the schema.
    ///
    /// # Errors
    /// Every problem found at once, each naming its file (`dir` joined with the file name), line and policy:
    /// unreadable files, parse errors, schema errors, validation errors, duplicate `@id`s, templates, and
    /// `entities.json` errors.
    pub fn load_dir(dir: &Path) -> Result<PolicySet, LoadError> {
        load::build(load::read_dir(dir)?, load::Kind::App)
    }

    /// Loads a node's policy folder (`corral serve`'s `[node] policies`): as [`PolicySet::load_dir`], but the
    /// schema (the built-in [`crate::NODE_SCHEMA`] when the folder has none) must also declare the entity type
    /// `App` and the actions `node.deploy`, `node.remove` and `node.inspect`, besides Corral's types and
    /// `process.*` actions (API callers ask for those too).
    ///
    /// # Errors
    /// As for [`PolicySet::load_dir`]; a schema lacking a node part is a problem naming the schema file and
    /// what it lacks.
    pub fn load_node_dir(dir: &Path) -> Result<PolicySet, LoadError> {
        load::build(load::read_dir(dir)?, load::Kind::Node)
    }

    /// Like [`PolicySet::load_node_dir`], from in-memory `(file name, text)` pairs.
    ///
    /// # Errors
    /// As for [`PolicySet::load_node_dir`]; also two files with the same name.
    pub fn node_from_files(files: &[(String, String)]) -> Result<PolicySet, LoadError> {
        load::build(load::in_memory(files), load::Kind::Node)
    }

    /// Like [`PolicySet::load_dir`], from in-memory `(file name, text)` pairs, e.g. `("base.cedar", "...")`,
    /// `("schema.cedarschema", "...")`, `("entities.json", "...")`. Problems name the files as given.
    ///
    /// # Errors
    /// As for [`PolicySet::load_dir`]; also two files with the same name.
    pub fn from_files(files: &[(String, String)]) -> Result<PolicySet, LoadError> {
        load::build(load::in_memory(files), load::Kind::App)
    }

    /// Hex SHA-256 over the sorted `(file name, bytes)` of the loaded files: the policy revision decisions
    /// carry. It changes when any loaded file changes.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The policy ids in file order: `@id("...")`, or `<file name>:<line>` for a policy without one.
    pub fn policy_ids(&self) -> Vec<String> {
        self.policies.iter().map(|p| p.id.clone()).collect()
    }

    /// Every scope name some policy's `@scope("...")` uses.
    pub fn scopes(&self) -> BTreeSet<String> {
        self.scopes.clone()
    }

    /// Where a policy is: its file name and the line it starts on (its first annotation's line).
    pub fn policy_location(&self, id: &str) -> Option<(&Path, Option<u32>)> {
        let policy = self.policies.iter().find(|p| p.id == id)?;
        Some((policy.path.as_path(), policy.line))
    }

    /// The scope of a policy (`None` for an unscoped one or an unknown id).
    pub fn policy_scope(&self, id: &str) -> Option<&str> {
        self.policies.iter().find(|p| p.id == id)?.scope.as_deref()
    }
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySet")
            .field("revision", &self.revision)
            .field("policies", &self.policy_ids())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}
