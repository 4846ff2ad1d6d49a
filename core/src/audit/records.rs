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
