//! The fields of the `policy.*` records, built in one place so that loading at startup and reloading write
//! the same shape (`docs/audit-log.md`). The runtime writes them (it adds `node`
//! and `incarnation`; the sink adds `v`, `seq`, `ts`, `kind` and `prev`.

use std::collections::BTreeSet;
use std::path::Path;

use corral_policy::{PolicySet, Problem};
use serde_json::{Map, Value as Json, json};

/// The kind of the record of the policy set a node starts with.
pub const POLICY_LOAD: &str = "policy.load";
/// The kind of the record of a policy set that replaced the one in force.
pub const POLICY_RELOAD: &str = "policy.reload";
/// The kind of the record of a policy folder that was rejected (the set in force stays).
pub const POLICY_REJECT: &str = "policy.reject";

/// `policy.load`: `source` (the folder), `revision`, `policies` (ids in file order), `scopes`.
pub fn policy_load(source: &Path, set: &PolicySet) -> Map<String, Json> {
    let mut fields = Map::new();
    fields.insert("source".into(), source.display().to_string().into());
    fields.insert("revision".into(), set.revision().into());
    fields.insert("policies".into(), set.policy_ids().into());
    fields.insert("scopes".into(), set.scopes().into_iter().collect::<Vec<_>>().into());
    fields
}

/// `policy.reload`: the `policy.load` fields of the new set, plus `previous` (the revision it replaced) and
/// `added` / `removed` (policy ids, sorted).
pub fn policy_reload(source: &Path, previous: &PolicySet, set: &PolicySet) -> Map<String, Json> {
    let mut fields = policy_load(source, set);
    let old: BTreeSet<String> = previous.policy_ids().into_iter().collect();
    let new: BTreeSet<String> = set.policy_ids().into_iter().collect();
    fields.insert("previous".into(), previous.revision().into());
    fields.insert("added".into(), new.difference(&old).cloned().collect::<Vec<_>>().into());
    fields.insert("removed".into(), old.difference(&new).cloned().collect::<Vec<_>>().into());
    fields
}

/// `policy.reject`: `source`, `revision` (the set that stays in force) and `problems`, each
/// `{file, line, policy, message}` (`line` and `policy` null when unknown).
pub fn policy_reject(source: &Path, in_force: &PolicySet, problems: &[Problem]) -> Map<String, Json> {
    let problems: Vec<Json> = problems
        .iter()
        .map(
            |p| json!({"file": p.file.display().to_string(), "line": p.line, "policy": p.policy, "message": p.message}),
        )
        .collect();
    let mut fields = Map::new();
    fields.insert("source".into(), source.display().to_string().into());
    fields.insert("revision".into(), in_force.revision().into());
    fields.insert("problems".into(), problems.into());
    fields
}

/// The fields of an `authz.decision` record (`docs/audit-log.md`), borrowed from the request and the decision
/// and serialised straight into the writer's batch: no map, no per-field `format!`.
#[derive(serde::Serialize)]
pub(crate) struct DecisionRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) node: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) incarnation: Option<u64>,
    pub(crate) op: u64,
    pub(crate) principal: Option<&'a str>,
    pub(crate) action: &'a str,
    pub(crate) resource: super::summary::Shown<'a, corral_policy::Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) target_entry: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) target_actor: Option<&'a str>,
    pub(crate) decision: &'static str,
    pub(crate) basis: &'static str,
    pub(crate) policies: &'a [String],
    pub(crate) errors: &'a [String],
    pub(crate) revision: &'a str,
    pub(crate) cached: bool,
    pub(crate) pid: Option<&'a str>,
    pub(crate) entry: Option<&'a str>,
    pub(crate) scopes: &'a [String],
    /// Microseconds, rounded to a tenth.
    pub(crate) eval_us: f64,
    pub(crate) level: &'static str,
    /// `"api"` for a request of a node's API caller (no PID: a bearer token's actor); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) via: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) context: Option<RequestContext<'a>>,
}

/// `context` of a decision at level `request`: the request's context attributes and `payload_bytes`.
pub(crate) struct RequestContext<'a> {
    pub(crate) attrs: &'a [(String, corral_policy::AttrValue)],
    pub(crate) payload_bytes: Option<usize>,
}

impl serde::Serialize for RequestContext<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.attrs {
            map.serialize_entry(key, value)?;
        }
        if let Some(bytes) = self.payload_bytes {
            map.serialize_entry("payload_bytes", &bytes)?;
        }
        map.end()
    }
}

/// The fields of a lifecycle record as `(name, value)` pairs followed by `node` and `incarnation`, written as
/// one object without building a map (fields named like the sink's own are left out).
pub(crate) struct Pairs<'a> {
    pub(crate) fields: &'a [(&'a str, Json)],
    pub(crate) node: &'a str,
    pub(crate) incarnation: u64,
}

impl serde::Serialize for Pairs<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.fields {
            if !super::RESERVED.contains(key) && *key != "node" && *key != "incarnation" {
                map.serialize_entry(key, value)?;
            }
        }
        map.serialize_entry("node", self.node)?;
        map.serialize_entry("incarnation", &self.incarnation)?;
        map.end()
    }
}

/// The fields of a `proc.spawn` record (`docs/audit-log.md`, "Lifecycle"), borrowed and written in this
/// order with no map in between.
#[derive(serde::Serialize)]
pub(crate) struct SpawnRecord<'a> {
    pub(crate) pid: &'a str,
    pub(crate) parent: Option<&'a str>,
    pub(crate) entry: &'a str,
    pub(crate) host: &'a str,
    pub(crate) actor: Option<&'a str>,
    pub(crate) scopes: &'a [String],
    pub(crate) monitored: bool,
    pub(crate) linked: bool,
    pub(crate) args_bytes: usize,
    /// The op ids of the grants the child was given.
    pub(crate) grants: &'a [u64],
    pub(crate) limits: SpawnLimits,
    pub(crate) node: &'a str,
    pub(crate) incarnation: u64,
}

/// `limits` of a `proc.spawn` record: mailbox messages, memory bytes, compute units.
#[derive(serde::Serialize)]
pub(crate) struct SpawnLimits {
    pub(crate) mailbox: usize,
    pub(crate) memory: u64,
    pub(crate) compute: u64,
}

/// The fields of a `proc.exit` record (`docs/audit-log.md`, "Lifecycle"), borrowed.
#[derive(serde::Serialize)]
pub(crate) struct ExitRecord<'a> {
    pub(crate) pid: &'a str,
    pub(crate) entry: &'a str,
    pub(crate) actor: Option<&'a str>,
    pub(crate) reason: &'a str,
    /// The error text (cut to its bound), `null` for a normal exit.
    pub(crate) error: Option<&'a str>,
    pub(crate) counters: ExitCounters,
    pub(crate) node: &'a str,
    pub(crate) incarnation: u64,
}

/// `counters` of a `proc.exit` record.
#[derive(serde::Serialize)]
pub(crate) struct ExitCounters {
    pub(crate) messages_in: u64,
    pub(crate) messages_out: u64,
    pub(crate) peak_memory_bytes: u64,
    pub(crate) instructions: u64,
    pub(crate) wall_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(policies: &str) -> Result<PolicySet, String> {
        PolicySet::from_files(&[("a.cedar".into(), policies.into())]).map_err(|e| e.to_string())
    }

    #[test]
    fn a_reload_names_the_policies_it_added_and_removed() -> Result<(), String> {
        let old = set("@id(\"one\") permit (principal, action, resource);")?;
        let new = set("@id(\"two\") permit (principal, action, resource);")?;
        let fields = policy_reload(Path::new("policies"), &old, &new);
        assert_eq!(fields["added"], json!(["two"]));
        assert_eq!(fields["removed"], json!(["one"]));
        assert_eq!(fields["previous"], json!(old.revision()));
        assert_eq!(fields["revision"], json!(new.revision()));
        Ok(())
    }
}
