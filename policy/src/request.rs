//! What a caller asks and what it gets back: [`Request`], [`Actor`], [`AttrValue`], [`Resource`], [`Decision`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// One authorization request: may `principal` do `action` on `resource`, given `context`?
///
/// The spec's `(principal = actor, action, resource, context)`, plus the caller's scope names, which select the
/// `@scope` policies that apply besides the unscoped ones.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The actor the caller acts for. `None` is always denied with the error `no actor` (fail closed).
    pub principal: Option<&'a Actor>,
    /// The action name as the schema declares it, e.g. `process.send` for `Action::"process.send"`.
    pub action: &'a str,
    /// What the action is done to.
    pub resource: &'a Resource,
    /// The context record, e.g. `[("pid", Str(..)), ("topic", Str(..))]`; must fit the action's context type
    /// in the schema, or the request is denied.
    pub context: &'a [(String, AttrValue)],
    /// The caller's scope names; unknown names select nothing.
    pub scopes: &'a [String],
}

/// Who a process acts for: `Actor::"<id>"`.
///
/// If `entities.json` declares the actor, it keeps that entity's parents and attributes, and `meta` is merged
/// over the attributes; otherwise `meta` becomes the attributes of a new actor without parents.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actor {
    /// The actor id, e.g. `user:alice`.
    pub id: String,
    /// Attributes, e.g. from `security.new_actor(id, meta)`. Keys the schema does not declare are kept; a
    /// policy that reads a mistyped one fails to evaluate, which is a deny.
    pub meta: BTreeMap<String, AttrValue>,
}

impl Actor {
    /// An actor without attributes of its own.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into(), meta: BTreeMap::new() }
    }
}

/// A Cedar value, as attributes and context hold them. Serialized untagged, as the plain JSON (or YAML) value:
/// `true`, `42`, `"text"`, `[...]` for a set, `{...}` for a record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer (Cedar's `Long`).
    Long(i64),
    /// A string.
    Str(String),
    /// A set; duplicates collapse.
    Set(Vec<AttrValue>),
    /// A record.
    Record(BTreeMap<String, AttrValue>),
}

impl From<&str> for AttrValue {
    fn from(value: &str) -> Self {
        Self::Str(value.to_owned())
    }
}

impl From<String> for AttrValue {
    fn from(value: String) -> Self {
        Self::Str(value)
    }
}

impl From<i64> for AttrValue {
    fn from(value: i64) -> Self {
        Self::Long(value)
    }
}

impl From<bool> for AttrValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// What an action is done to, and so which Cedar entity (with its ancestors) a request carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `Entry::"<id>"` for a manifest entry `namespace:name`; parent `Namespace::"<namespace>"`, whose parent
    /// is the namespace without its last segment (`acme.workers` -> `acme`).
    Entry {
        /// The entry id, e.g. `acme.workers:handler`.
        id: String,
    },
    /// `Host::"<id>"` for a process host `namespace:name`; parents as for an entry.
    Host {
        /// The host id, e.g. `acme:processes`.
        id: String,
    },
    /// `Process::"<pid>"`, a live process; parent its entry, attributes `actor` and `host`.
    Process {
        /// The process id. Shared text (`Arc<str>`): a process's PID, entry, host and actor are made once and
        /// every request about it reuses them.
        pid: Arc<str>,
        /// The id of the entry the process runs.
        entry: Arc<str>,
        /// The id of the host the process runs on.
        host: Arc<str>,
        /// The id of the actor the process acts for.
        actor: Arc<str>,
    },
    /// `Name::"<name>"`, a registry name.
    Name {
        /// The registered name.
        name: String,
    },
    /// `Capability::"<name>"`, the seed's fixed resources `context` and `security`.
    Capability {
        /// `context` or `security`.
        name: String,
    },
    /// `App::"<name>"`, an app deployed on a node: the resource of the node actions `node.deploy`,
    /// `node.remove` and `node.inspect` (`docs/policy-model.md`, "The node's policies"). Only a node's policy
    /// folder declares it; an app's schema does not, so a request about an app is denied there.
    App {
        /// The app's name, e.g. `acme`.
        name: String,
    },
    /// `EventSystem::"<name>"`, a system of the reference dialect's event bus (`events.send` on the
    /// event's system, `events.subscribe` on the pattern subscribed to, e.g. `orders.*`).
    EventSystem {
        /// The system or pattern, e.g. `orders`.
        name: String,
    },
}

impl Resource {
    /// The Cedar entity type name of the resource.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Entry { .. } => "Entry",
            Self::Host { .. } => "Host",
            Self::Process { .. } => "Process",
            Self::Name { .. } => "Name",
            Self::Capability { .. } => "Capability",
            Self::App { .. } => "App",
            Self::EventSystem { .. } => "EventSystem",
        }
    }

    /// The Cedar entity id of the resource.
    pub fn id(&self) -> &str {
        match self {
            Self::Entry { id } | Self::Host { id } => id,
            Self::Process { pid, .. } => pid,
            Self::Name { name } | Self::Capability { name } | Self::App { name } | Self::EventSystem { name } => name,
        }
    }
}

/// Cedar's entity syntax, e.g. `Process::"<pid>"` or `Entry::"app:worker"`, escaped as Cedar escapes ids.
impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.id();
        f.write_str(self.type_name())?;
        f.write_str("::\"")?;
        // Most ids (PIDs, entry and host ids) are printable ASCII without a quote or a backslash, which
        // `escape_debug` leaves as they are: written at once, not char by char.
        if id.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
            f.write_str(id)?;
        } else {
            write!(f, "{}", id.escape_debug())?;
        }
        f.write_str("\"")
    }
}

/// The answer to one [`Request`]. Deciding never fails: whatever goes wrong is a deny with the reason in
/// `errors`.
///
/// Its fields `allowed`, `policies`, `errors` and `revision` are those of the shared [`Answer`] it derefs to
/// (`decision.allowed`, `&decision.policies`), so a copy costs one reference count: a cached decision costs
/// no allocation and one atomic increment.
#[derive(Clone, Debug)]
pub struct Decision {
    answer: Arc<Answer>,
    /// Whether the answer came from the set's decision cache rather than from evaluating policies. Cached
    /// answers are exact: the cache key holds every input of the decision that the policies can observe (see
    /// [`PolicySet::decide`]).
    ///
    /// [`PolicySet::decide`]: crate::PolicySet::decide
    pub cached: bool,
}

/// What a [`Decision`] says, shared by its copies (a [`Decision`] derefs to it).
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The ids of the deciding policies, sorted: the permits that allowed, or the forbids that denied; empty
    /// for a default deny and for a deny caused by errors.
    pub policies: Arc<[String]>,
    /// Request-building and evaluation errors. Any error makes the decision a deny (spec: "an evaluation
    /// error counts as deny").
    pub errors: Arc<[String]>,
    /// The revision of the policy set that decided.
    pub revision: Arc<str>,
}

impl Decision {
    /// A decision that was evaluated (not [cached](Decision::cached)).
    pub(crate) fn new(allowed: bool, policies: Arc<[String]>, errors: Arc<[String]>, revision: Arc<str>) -> Decision {
        Decision { answer: Arc::new(Answer { allowed, policies, errors, revision }), cached: false }
    }

    /// The same answer, marked [`Decision::cached`] as given.
    pub(crate) fn marked(&self, cached: bool) -> Decision {
        Decision { answer: Arc::clone(&self.answer), cached }
    }
}

impl std::ops::Deref for Decision {
    type Target = Answer;

    fn deref(&self) -> &Answer {
        &self.answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_display_as_cedar_entities() {
        let entry = Resource::Entry { id: "app:worker".into() };
        assert_eq!(entry.to_string(), r#"Entry::"app:worker""#);
        let process = Resource::Process {
            pid: "p\"1".into(),
            entry: "app:worker".into(),
            host: "app:host".into(),
            actor: "user:alice".into(),
        };
        assert_eq!(process.to_string(), r#"Process::"p\"1""#);
        for id in ["plain {local@1|app:h|2}", "tab\there", "quote\"", "back\\slash", "é", "\u{7f}", "nul\0"] {
            let name = Resource::Name { name: id.into() };
            assert_eq!(name.to_string(), format!("Name::\"{}\"", id.escape_debug()), "{id:?}");
        }
    }
}
