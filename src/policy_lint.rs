//! What `corral check` warns about in a policy folder (issue 12): a policy or `corral.toml` naming an actor or
//! tenant that `entities.json` lacks, and an unconditional `forbid` that denies every request of an action.
//!
//! Each `.cedar` file is parsed with `cedar-policy` (the same parse the loader does) and read through its JSON
//! form: the entity literals of its scope and conditions, and whether it is a `forbid` with no condition and
//! no principal or resource constraint. Warnings do not fail the check: an actor named directly by a policy
//! needs no entity, and a forbid may be meant.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use corral_policy::PolicySet;
use serde_json::Value as Json;

/// The most JSON nodes of one policy that are looked at (a policy is bounded by the loader; this bounds the
/// walk whatever it holds).
const MAX_NODES: usize = 100_000;

/// The warnings for the policy folder `dir` (loaded as `policies`), whose `entities.json` holds `entities`
/// (type, id) when it exists, and for the app's `corral.toml` `actors` (the `[root]` actor and the
/// `[quotas.actors]` keys, each with the line that names it).
pub fn warnings(
    dir: &Path,
    policies: &PolicySet,
    entities: Option<&BTreeSet<(String, String)>>,
    toml: &Path,
    actors: &[(String, Option<usize>)],
) -> Vec<String> {
    let mut warnings = Vec::new();
    let entities_file = dir.join("entities.json");
    let lacks = |t: &str, id: &str| entities.is_some_and(|e| !e.contains(&(t.to_string(), id.to_string())));
    let mut files: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "cedar") && p.is_file());
    files.sort();
    let ids = policies.policy_ids();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let Ok(set) = cedar_policy::PolicySet::from_str(&text) else { continue };
        let mut parsed: Vec<&cedar_policy::Policy> = set.policies().collect();
        parsed.sort_by_key(|p| p.id().to_string().trim_start_matches("policy").parse::<usize>().unwrap_or(usize::MAX));
        let name = file.file_name();
        let of_file =
            ids.iter().filter(|id| policies.policy_location(id).is_some_and(|(path, _)| path.file_name() == name));
        for (policy, id) in parsed.into_iter().zip(of_file) {
            let Ok(json) = policy.to_json() else { continue };
            let at = match policies.policy_location(id) {
                Some((path, Some(line))) => format!("{}:{line}", path.display()),
                Some((path, None)) => path.display().to_string(),
                None => file.display().to_string(),
            };
            for (t, e) in
                entity_literals(&json).into_iter().filter(|(t, e)| (t == "Actor" || t == "Tenant") && lacks(t, e))
            {
                warnings.push(format!(
                    "{at}: policy `{id}` names {t}::\"{e}\", which {} lacks (it has no parents or attributes)",
                    entities_file.display()
                ));
            }
            if let Some(action) = forbids_every(&json) {
                let scope = policies.policy_scope(id).map(|s| format!(" of scope `{s}`")).unwrap_or_default();
                warnings.push(format!(
                    "{at}: policy `{id}` forbids every {action}{scope} unconditionally: no permit can allow one"
                ));
            }
        }
    }
    for (actor, line) in actors.iter().filter(|(a, _)| lacks("Actor", a)) {
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        warnings.push(format!(
            "{}{at}: actor \"{actor}\" is not an Actor of {} (it has no parents or attributes)",
            toml.display(),
            entities_file.display()
        ));
    }
    warnings
}

/// Every `{"type": T, "id": I}` object of a policy's JSON form (entity literals, in its scope or conditions),
/// walked without recursion and at most [`MAX_NODES`] nodes.
pub fn entity_literals(json: &Json) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut stack = vec![json];
    let mut seen = 0usize;
    while let Some(node) = stack.pop() {
        seen += 1;
        if seen > MAX_NODES {
            break;
        }
        match node {
            Json::Object(map) => {
                if let (Some(Json::String(t)), Some(Json::String(id))) = (map.get("type"), map.get("id")) {
                    found.insert((t.clone(), id.clone()));
                }
                stack.extend(map.values());
            }
            Json::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

/// For a `forbid` with no condition and no principal or resource constraint: the actions it denies every
/// request of, as a phrase: `` `process.send` request ``, or `request of every action`.
fn forbids_every(json: &Json) -> Option<String> {
    let any = |key: &str| json.get(key).and_then(|c| c.get("op")).and_then(Json::as_str) == Some("All");
    let unconditional = json.get("conditions").and_then(Json::as_array).is_none_or(Vec::is_empty);
    if json.get("effect").and_then(Json::as_str) != Some("forbid")
        || !unconditional
        || !any("principal")
        || !any("resource")
    {
        return None;
    }
    let action = json.get("action")?;
    let id = |e: &Json| e.get("id").and_then(Json::as_str).map(|id| format!("`{id}`"));
    match action.get("op").and_then(Json::as_str)? {
        "All" => Some("request of every action".to_string()),
        "==" => action.get("entity").and_then(id).map(|a| format!("{a} request")),
        "in" => {
            let names: Vec<String> = match (action.get("entity"), action.get("entities")) {
                (Some(e), _) => id(e).into_iter().collect(),
                (None, Some(Json::Array(es))) => es.iter().filter_map(id).collect(),
                _ => vec![],
            };
            (!names.is_empty()).then(|| format!("{} request", names.join(", ")))
        }
        _ => None,
    }
}
