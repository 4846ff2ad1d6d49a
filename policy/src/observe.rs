//! What the policies of a set can observe of a request, computed once when the set is loaded.
//!
//! The decision cache keys a request on what can change its answer, and no more: a caller's PID that no
//! policy reads, or a target's PID that no policy can tell apart from another, would make every new
//! (caller, target) pair a cold miss. Leaving an input out of the key is only sound when the answer cannot
//! depend on it, so every rule here errs towards keeping an input:
//!
//! - **Context attributes.** An attribute is *read* when some policy that can apply to the action names it
//!   (`context.a`, `context["a"]`, `context has a`). A policy that uses `context` any other way (compares
//!   the whole record, or a form this reader does not know) reads every attribute. An attribute the schema
//!   does not declare for the action is never passed to Cedar (see `context.rs`), so it is not in the key.
//!   A declared attribute that is not read still decides whether the request is valid (its type), so the
//!   key keeps its *shape*: its kind, and for sets and records the shapes inside, without strings, numbers
//!   or booleans (see `cache.rs`).
//! - **The target's PID.** A `Process` entity's uid is its PID, and Cedar can only compare uids with
//!   uids: the request's other entities are an actor, entries, hosts and namespaces, and no context or
//!   meta value can be an entity. So the PID can change an answer only through a `Process` uid written in
//!   a policy (an entity literal, in the scope or the conditions) or stored in `entities.json` (as an
//!   entity, a parent, or an attribute or tag value). With neither, renaming the target process changes no
//!   expression's value, and the decision (allowed, deciding policies) is the same for every PID. Only the
//!   *text* of an error can name the PID, so decisions with errors are cached under the exact key only.
//!   A schema that makes `Process` an enumerated type (whose valid ids it lists) keeps the PID too.

use std::collections::BTreeSet;

use cedar_policy as cedar;
use serde_json::Value as Json;

use crate::context::ContextAttrs;
use crate::source::LoadedPolicy;

/// The entity type whose uid is a request's own process PID.
const PROCESS: &str = "Process";

/// What one policy reads of a request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Reads {
    /// The context attributes it names; `None` when it uses the context as a whole (or in a form not
    /// understood), which reads every attribute.
    pub(crate) context: Option<BTreeSet<String>>,
    /// Whether it names a `Process` entity literal, and so can tell processes apart by PID.
    pub(crate) process_literal: bool,
}

impl Reads {
    /// What `policy` reads. A policy whose JSON form cannot be had reads everything.
    pub(crate) fn of(policy: &cedar::Policy) -> Reads {
        let process_literal = policy.entity_literals().iter().any(|uid| uid.type_name().basename() == PROCESS);
        let context = match policy.to_json() {
            Ok(json) => {
                let mut names = BTreeSet::new();
                context_names(&json, &mut names).then_some(names)
            }
            Err(_) => None,
        };
        Reads { context, process_literal }
    }
}

/// Collects into `names` the attributes read off `context` in the policy's JSON (EST) form. Returns
/// `false` when `context` is used other than as the left side of an attribute access or `has`.
fn context_names(json: &Json, names: &mut BTreeSet<String>) -> bool {
    match json {
        Json::Object(map) => {
            if map.get("Var").and_then(Json::as_str) == Some("context") {
                return false;
            }
            for (key, value) in map {
                if key == "." || key == "has" {
                    let left = value.get("left");
                    let attr = value.get("attr").and_then(Json::as_str);
                    if let (Some(left), Some(attr)) = (left, attr)
                        && left.get("Var").and_then(Json::as_str) == Some("context")
                    {
                        names.insert(attr.to_owned());
                        continue;
                    }
                }
                if !context_names(value, names) {
                    return false;
                }
            }
            true
        }
        Json::Array(items) => items.iter().all(|item| context_names(item, names)),
        _ => true,
    }
}

/// What the policies that can apply to one action observe: the key the decision cache uses for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    /// Whether the target process's PID is in the key.
    pub(crate) pid: bool,
    /// The action's number in its set, which stands for the action's name in the key; [`UNNUMBERED`] for an
    /// action nothing is known about, whose name is keyed.
    pub(crate) action: u32,
    /// The attributes the schema declares for the action, each with how it enters the key: its value when
    /// some policy reads it, else its shape.
    attrs: Attrs,
    /// How an attribute not in `attrs` enters the key: [`Kept::Dropped`] when the schema declares the
    /// action's attributes (Cedar never sees another), else as its value or shape.
    others: Kept,
}

/// Attribute names with how each enters the key. A few (a schema's context type declares a dozen or so) are
/// found by a scan of the names of the same length, cheaper than hashing the name; more are hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attrs {
    /// Sorted by length, then name. The names of length `l` are `names[starts[l]..starts[l + 1]]`; a name
    /// longer than any listed (`l + 1 >= starts.len()`) is not listed.
    Few {
        names: Vec<(String, Kept)>,
        starts: Vec<u8>,
    },
    Many(hashbrown::HashMap<String, (Kept, u32)>),
}

/// The number of an action or attribute that has none: its name is keyed instead.
pub(crate) const UNNUMBERED: u32 = u32::MAX;

/// At most this many attributes are scanned rather than hashed (fewer than `u8::MAX`: `starts` counts them
/// in a `u8`).
const SCANNED: usize = 24;

impl Attrs {
    fn new(attrs: impl IntoIterator<Item = (String, Kept)>) -> Attrs {
        let mut names: Vec<(String, Kept)> = attrs.into_iter().collect();
        if names.len() <= SCANNED {
            names.sort_by(|a, b| (a.0.len(), &a.0, a.1).cmp(&(b.0.len(), &b.0, b.1)));
            names.dedup_by(|a, b| a.0 == b.0);
            let longest = names.last().map_or(0, |(name, _)| name.len());
            // starts[l] = how many names are shorter than l, for l in 0..=longest + 1.
            let starts = (0..=longest + 1)
                .map(|l| u8::try_from(names.partition_point(|(name, _)| name.len() < l)).unwrap_or(u8::MAX))
                .collect();
            Attrs::Few { names, starts }
        } else {
            let numbered = names.into_iter().zip(0u32..).map(|((name, kept), slot)| (name, (kept, slot)));
            Attrs::Many(numbered.collect())
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Attrs::Few { names, .. } => names.is_empty(),
            Attrs::Many(many) => many.is_empty(),
        }
    }

    /// How `name` enters the key, and its number (unique among the attributes).
    fn get(&self, name: &str) -> Option<(Kept, u32)> {
        match self {
            Attrs::Few { names, starts } => {
                let len = name.len();
                let (start, end) = (*starts.get(len)?, *starts.get(len.checked_add(1)?)?);
                let same_length = names.get(usize::from(start)..usize::from(end))?;
                let first = name.as_bytes().first();
                let mut numbered = same_length.iter().zip(u32::from(start)..);
                let ((_, kept), slot) = numbered.find(|((n, _), _)| n.as_bytes().first() == first && n == name)?;
                Some((*kept, slot))
            }
            Attrs::Many(many) => many.get(name).copied(),
        }
    }
}

/// How a context attribute enters the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kept {
    /// Not at all: Cedar never sees it.
    Dropped,
    /// Its shape only: no policy reads it, but its type decides whether the request is valid.
    Shape,
    /// Its value.
    Value,
}

/// The key of an action nothing is known about (not in the schema): every input, by value.
pub(crate) static EXACT: std::sync::LazyLock<Observed> = std::sync::LazyLock::new(Observed::exact);

impl Observed {
    /// The key of an action nothing is known about: every input, by value.
    pub(crate) fn exact() -> Observed {
        Observed {
            pid: true,
            action: UNNUMBERED,
            attrs: Attrs::Few { names: Vec::new(), starts: Vec::new() },
            others: Kept::Value,
        }
    }

    /// A key that keeps the PID when `pid`, the attributes `attrs` as given, and others as `others`.
    #[cfg(test)]
    pub(crate) fn with(pid: bool, attrs: &[(&str, Kept)], others: Kept) -> Observed {
        let attrs = Attrs::new(attrs.iter().map(|(name, kept)| ((*name).to_owned(), *kept)));
        Observed { pid, action: UNNUMBERED, attrs, others }
    }

    /// How the context attribute `name` enters the key.
    pub(crate) fn kept(&self, name: &str) -> Kept {
        self.slot(name).0
    }

    /// How the context attribute `name` enters the key, and its number, which stands for its name in the
    /// key ([`UNNUMBERED`] for an attribute the schema does not declare, whose name is keyed).
    pub(crate) fn slot(&self, name: &str) -> (Kept, u32) {
        if self.attrs.is_empty() {
            return (self.others, UNNUMBERED);
        }
        self.attrs.get(name).unwrap_or((self.others, UNNUMBERED))
    }
}

/// How an attribute some policy reads (`read`) or none reads enters the key.
fn by_reads(read: bool) -> Kept {
    if read { Kept::Value } else { Kept::Shape }
}

/// The key of each of the schema's actions, from the policies that can apply to it, the attributes the
/// schema declares for it, and whether the stored entities mention a `Process` uid.
pub(crate) fn per_action(
    schema: &cedar::Schema,
    policies: &[LoadedPolicy],
    context_attrs: &ContextAttrs,
    store_names_process: bool,
) -> hashbrown::HashMap<String, Observed> {
    let reads: Vec<Reads> = policies.iter().map(|p| Reads::of(&p.policy)).collect();
    let mut out = hashbrown::HashMap::new();
    for (action, number) in schema.actions().zip(0u32..) {
        let name = action.id().unescaped();
        let applicable: Vec<&Reads> = policies
            .iter()
            .zip(&reads)
            .filter(|(p, _)| p.actions.as_ref().is_none_or(|actions| actions.contains(name)))
            .map(|(_, r)| r)
            .collect();
        let pid = store_names_process || applicable.iter().any(|r| r.process_literal);
        let whole_context = applicable.iter().any(|r| r.context.is_none());
        let read: BTreeSet<&str> =
            applicable.iter().filter_map(|r| r.context.as_ref()).flatten().map(String::as_str).collect();
        let is_read = |attr: &str| whole_context || read.contains(attr);
        let observed = match context_attrs.declared(name) {
            Some(declared) => Observed {
                pid,
                action: number,
                attrs: Attrs::new(declared.iter().map(|attr| (attr.clone(), by_reads(is_read(attr))))),
                others: Kept::Dropped,
            },
            None => Observed {
                pid,
                action: number,
                attrs: Attrs::new(read.iter().map(|attr| ((*attr).to_owned(), Kept::Value))),
                others: by_reads(whole_context),
            },
        };
        out.insert(name.to_owned(), observed);
    }
    out
}

/// Whether the schema makes `Process` an enumerated entity type (`entity Process enum [...]`), whose valid
/// ids the schema lists: then a request's validity depends on the PID. A schema text that cannot be read
/// counts as one that does.
pub(crate) fn process_is_enum(schema_text: &str) -> bool {
    let Ok((fragment, _)) = cedar::SchemaFragment::from_cedarschema_str(schema_text) else { return true };
    let Ok(json) = fragment.to_json_value() else { return true };
    let Some(namespaces) = json.as_object() else { return true };
    namespaces.values().any(|namespace| {
        let entity_type = namespace.get("entityTypes").and_then(|types| types.get(PROCESS));
        entity_type.is_some_and(|ty| ty.get("enum").is_some())
    })
}

/// Whether any stored entity is a `Process`, or names one as a parent or in an attribute or tag.
pub(crate) fn store_names_process(store: &cedar::Entities, references: &crate::slice::References) -> bool {
    store.iter().any(|entity| {
        let uid = entity.uid();
        uid.type_name().basename() == PROCESS
            || references.of_uid(&uid).iter().any(|r| r.type_name().basename() == PROCESS)
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn reads(text: &str) -> Reads {
        // A policy that does not parse reads nothing here, and fails the assertions that expect reads.
        cedar::Policy::from_str(text).map(|policy| Reads::of(&policy)).unwrap_or_default()
    }

    fn names(list: &[&str]) -> Option<BTreeSet<String>> {
        Some(list.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn attributes_read_off_the_context_are_found() {
        let policy = r#"permit (principal, action, resource)
            when { context.topic == "a" && context has owner && context["tenant"] == principal.tenant }
            unless { context has scopes && context.scopes.contains("x") };"#;
        assert_eq!(
            reads(policy),
            Reads { context: names(&["owner", "scopes", "tenant", "topic"]), process_literal: false }
        );
        assert_eq!(
            reads("permit (principal, action, resource);"),
            Reads { context: names(&[]), process_literal: false }
        );
    }

    #[test]
    fn the_context_used_whole_reads_everything() {
        for policy in [
            r#"permit (principal, action, resource) when { context == { "pid": "x" } };"#,
            r#"permit (principal, action, resource) when { [context].contains({ "pid": "x" }) };"#,
            r#"permit (principal, action, resource) when { context.topic == "a" && context != {} };"#,
        ] {
            assert_eq!(reads(policy).context, None, "{policy}");
        }
    }

    /// Names of one length and one prefix are told apart, each has its own number, and a name not listed
    /// enters as the others do, unnumbered.
    #[test]
    fn attribute_lookups_tell_similar_names_apart() {
        let names = ["owner", "owner_entry", "owner_actor", "actor", "topic", "owner_entrx", "", "a"];
        let listed: Vec<(&str, Kept)> =
            names.iter().enumerate().map(|(i, n)| (*n, if i % 2 == 0 { Kept::Value } else { Kept::Shape })).collect();
        let observed = Observed::with(false, &listed, Kept::Dropped);
        let mut slots = BTreeSet::new();
        for (name, kept) in &listed {
            let (found, slot) = observed.slot(name);
            assert_eq!(found, *kept, "{name}");
            assert!(slot != UNNUMBERED && slots.insert(slot), "{name}: {slot}");
        }
        for name in ["owner_entr", "owner_entryy", "Topic", "b", "topic "] {
            assert_eq!(observed.slot(name), (Kept::Dropped, UNNUMBERED), "{name}");
        }
        let many: Vec<String> = (0..100).map(|i| format!("attr{i}")).collect();
        let listed: Vec<(&str, Kept)> = many.iter().map(|n| (n.as_str(), Kept::Value)).collect();
        let observed = Observed::with(false, &listed, Kept::Shape);
        let slots: BTreeSet<u32> = many.iter().map(|n| observed.slot(n).1).collect();
        assert_eq!(slots.len(), many.len());
        assert!(!slots.contains(&UNNUMBERED));
        assert_eq!(observed.slot("attr100"), (Kept::Shape, UNNUMBERED));
    }

    #[test]
    fn an_enumerated_process_type_is_found() {
        assert!(!process_is_enum(crate::load::DEFAULT_SCHEMA));
        assert!(process_is_enum(r#"entity Process enum ["a", "b"]; entity Actor;"#));
        assert!(!process_is_enum(r#"entity Color enum ["a", "b"]; entity Process;"#), "enums parse");
        assert!(process_is_enum("not a schema"));
    }

    #[test]
    fn process_literals_are_found_in_scope_and_conditions() {
        for policy in [
            r#"permit (principal, action, resource == Process::"<1>");"#,
            r#"permit (principal, action, resource in Process::"<1>");"#,
            r#"permit (principal, action, resource) when { resource == Process::"<1>" };"#,
            r#"permit (principal, action, resource) when { [Process::"<1>"].contains(resource) };"#,
        ] {
            assert!(reads(policy).process_literal, "{policy}");
        }
        for policy in [
            r#"permit (principal, action, resource is Process in Namespace::"a");"#,
            r#"permit (principal, action, resource == Entry::"a:b");"#,
        ] {
            assert!(!reads(policy).process_literal, "{policy}");
        }
    }
}
