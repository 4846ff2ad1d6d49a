//! Loading policy folders: what loads, and every problem of what does not, with file and line.

use std::collections::BTreeSet;
use std::error::Error;
use std::path::{Path, PathBuf};

use corral_policy::{LoadError, PolicySet, Problem};

type TestResult = Result<(), Box<dyn Error>>;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn files(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect()
}

/// The problems of a set that must not load.
fn problems(result: Result<PolicySet, LoadError>) -> Result<Vec<Problem>, String> {
    match result {
        Ok(set) => Err(format!("loaded, but should not have: {set:?}")),
        Err(error) => Ok(error.problems),
    }
}

/// `(file name, line, policy)` of each problem.
fn places(problems: &[Problem]) -> Vec<(String, Option<u32>, Option<String>)> {
    problems
        .iter()
        .map(|p| {
            let name = p.file.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), p.line, p.policy.clone())
        })
        .collect()
}

fn place(file: &str, line: u32, policy: Option<&str>) -> (String, Option<u32>, Option<String>) {
    (file.to_owned(), Some(line), policy.map(str::to_owned))
}

const SEND: &str = r#"permit (principal, action == Action::"process.send", resource is Process);"#;

#[test]
fn the_basic_fixture_loads() -> TestResult {
    let set = PolicySet::load_dir(&fixture("basic"))?;
    let expected = [
        "capabilities",
        "own-processes",
        "acme-spawn",
        "acme-host",
        "admins-exec",
        "upgrade-by-role-pattern",
        "no-secrets",
        "admin-terminate",
        "30-scoped.cedar:6",
    ];
    assert_eq!(set.policy_ids(), expected);
    let scopes: BTreeSet<String> = ["admin", "registry"].map(String::from).into();
    assert_eq!(set.scopes(), scopes);
    assert_eq!(set.policy_scope("admin-terminate"), Some("admin"));
    let (file, line) = set.policy_location("no-secrets").ok_or("no location")?;
    assert_eq!((file.file_name(), line), (Some("20-forbid.cedar".as_ref()), Some(2)));
    assert_eq!(set.revision().len(), 64);
    Ok(())
}

#[test]
fn every_problem_of_a_folder_is_reported() -> TestResult {
    let found = problems(PolicySet::load_dir(&fixture("broken")))?;
    let expected = vec![
        place("a.cedar", 3, None),
        place("b.cedar", 3, Some("unknown-attribute")),
        place("b.cedar", 6, Some("unknown-action")),
        place("c.cedar", 2, Some("fine")),
        place("entities.json", 3, None),
        place("entities.json", 8, None),
    ];
    assert_eq!(places(&found), expected, "{found:#?}");
    assert!(found[1].message.contains("department"));
    assert!(found[2].message.contains("process.teleport"));
    assert!(found[4].message.contains("role"));
    assert!(found[5].message.contains("Planet"));
    Ok(())
}

#[test]
fn a_parse_error_names_file_and_line() -> TestResult {
    let text = format!("{SEND}\n\n@id(\"x\")\npermit (principal, action, resource) when {{ 1 + }};\n");
    let found = problems(PolicySet::from_files(&files(&[("base.cedar", &text)])))?;
    assert_eq!(places(&found), [place("base.cedar", 4, None)], "{found:#?}");
    Ok(())
}

#[test]
fn validation_errors_name_file_line_and_policy() -> TestResult {
    let attribute =
        "@id(\"attr\")\npermit (principal, action, resource is Process)\n  when { resource.owner == principal };\n";
    let action = format!("{SEND}\npermit (principal, action == Action::\"nope\", resource);\n");
    let found = problems(PolicySet::from_files(&files(&[("b.cedar", &action), ("a.cedar", attribute)])))?;
    let expected = [place("a.cedar", 3, Some("attr")), place("b.cedar", 2, Some("b.cedar:2"))];
    assert_eq!(places(&found), expected, "{found:#?}");
    assert!(found[0].message.contains("owner"), "{found:#?}");
    assert!(found[1].message.contains("nope"), "{found:#?}");
    Ok(())
}

#[test]
fn strict_validation_rejects_an_unguarded_optional_attribute() -> TestResult {
    let text = "permit (principal, action, resource) when { principal.role == \"admin\" };";
    let found = problems(PolicySet::from_files(&files(&[("base.cedar", text)])))?;
    assert_eq!(places(&found), [place("base.cedar", 1, Some("base.cedar:1"))]);
    Ok(())
}

#[test]
fn a_schema_error_names_the_schema_and_line() -> TestResult {
    let schema = "entity Actor;\n\nentity Entry in [Nowhere];\n";
    let found = problems(PolicySet::from_files(&files(&[("schema.cedarschema", schema), ("base.cedar", SEND)])))?;
    assert_eq!(places(&found), [place("schema.cedarschema", 3, None)], "{found:#?}");
    let broken = "entity Actor;\nentity Entry in [\n";
    let found = problems(PolicySet::from_files(&files(&[("schema.cedarschema", broken)])))?;
    assert_eq!(places(&found)[0].0, "schema.cedarschema");
    Ok(())
}

#[test]
fn bad_entities_name_the_file_and_line() -> TestResult {
    let syntax = "[\n  { \"uid\": { \"type\": \"Tenant\", \"id\": \"a\" },\n  \"attrs\": {} \n]";
    let found = problems(PolicySet::from_files(&files(&[("entities.json", syntax)])))?;
    assert_eq!(places(&found), [place("entities.json", 4, None)], "{found:#?}");
    let undeclared_parent = r#"[
  { "uid": { "type": "Tenant", "id": "acme" }, "attrs": {}, "parents": [] },
  {
    "uid": { "type": "Tenant", "id": "globex" },
    "attrs": {},
    "parents": [{ "type": "Tenant", "id": "acme" }]
  }
]"#;
    let found = problems(PolicySet::from_files(&files(&[("entities.json", undeclared_parent)])))?;
    assert_eq!(places(&found), [place("entities.json", 3, None)], "{found:#?}");
    Ok(())
}

#[test]
fn a_duplicate_id_names_both_places() -> TestResult {
    let first = format!("// the first\n@id(\"dup\")\n{SEND}\n");
    let second = format!("\n\n\n@id(\"dup\")\n{SEND}\n");
    let found = problems(PolicySet::from_files(&files(&[("b.cedar", &second), ("a.cedar", &first)])))?;
    assert_eq!(places(&found), [place("b.cedar", 4, Some("dup"))], "{found:#?}");
    assert!(found[0].message.contains("a.cedar:2"), "{found:#?}");
    Ok(())
}

#[test]
fn problems_display_one_per_line() {
    let bad = "permit (principal, action, resource) when { principal.nope };\n";
    let error = PolicySet::from_files(&files(&[("a.cedar", "permit("), ("b.cedar", bad)]));
    let text = error.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("a.cedar:1: "), "{text}");
    assert!(lines[1].starts_with("b.cedar:1: [b.cedar:1] "), "{text}");
}

#[test]
fn two_files_with_one_name_are_a_problem() -> TestResult {
    let found = problems(PolicySet::from_files(&files(&[("a/base.cedar", SEND), ("b/base.cedar", SEND)])))?;
    let second = found.iter().find(|p| p.message.contains("second file named `base.cedar`"));
    assert_eq!(second.map(|p| p.file.as_path()), Some(Path::new("b/base.cedar")), "{found:#?}");
    Ok(())
}

#[test]
fn templates_are_refused() -> TestResult {
    let text = "permit (principal == ?principal, action, resource);";
    let found = problems(PolicySet::from_files(&files(&[("base.cedar", text)])))?;
    assert_eq!(places(&found), [place("base.cedar", 1, None)]);
    Ok(())
}

#[test]
fn a_missing_folder_is_a_problem() -> TestResult {
    let found = problems(PolicySet::load_dir(&fixture("no-such-folder")))?;
    assert_eq!(found.len(), 1);
    assert!(found[0].message.contains("cannot read"));
    Ok(())
}

#[test]
fn the_revision_follows_the_loaded_files() -> TestResult {
    let base = files(&[("base.cedar", SEND), ("README.md", "notes")]);
    let one = PolicySet::from_files(&base)?;
    // File order and files that are not loaded do not matter.
    let mut reordered = files(&[("README.md", "other notes"), ("other.cedar", "")]);
    reordered.push(base[0].clone());
    let two = PolicySet::from_files(&reordered)?;
    assert_ne!(one.revision(), two.revision(), "other.cedar is loaded");
    let three = PolicySet::from_files(&files(&[("base.cedar", SEND)]))?;
    assert_eq!(one.revision(), three.revision());
    // A change of one byte changes it.
    let changed = SEND.replace("process.send", "process.link");
    let four = PolicySet::from_files(&files(&[("base.cedar", &changed)]))?;
    assert_ne!(one.revision(), four.revision());
    // The built-in schema counts as `schema.cedarschema`.
    let explicit = files(&[("base.cedar", SEND), ("schema.cedarschema", corral_policy::DEFAULT_SCHEMA)]);
    assert_eq!(PolicySet::from_files(&explicit)?.revision(), one.revision());
    Ok(())
}

#[test]
fn a_folder_loads_the_same_as_its_files() -> TestResult {
    let dir = fixture("basic");
    let mut pairs = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path.file_name().ok_or("no name")?.to_string_lossy().into_owned();
        pairs.push((name, std::fs::read_to_string(&path)?));
    }
    let from_dir = PolicySet::load_dir(&dir)?;
    let from_files = PolicySet::from_files(&pairs)?;
    assert_eq!(from_dir.revision(), from_files.revision());
    assert_eq!(from_dir.policy_ids(), from_files.policy_ids());
    Ok(())
}

#[test]
fn a_schema_without_corrals_entity_types_or_actions_is_a_problem_naming_it() -> TestResult {
    let schema =
        "entity Actor;\nentity Entry;\naction \"process.spawn\" appliesTo { principal: [Actor], resource: [Entry] };\n";
    let found = problems(PolicySet::from_files(&files(&[("schema.cedarschema", schema)])))?;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(places(&found)[0].0, "schema.cedarschema");
    let message = &found[0].message;
    for part in ["entity type `Host`", "entity type `Process`", "entity type `Capability`", "action `process.send`"] {
        assert!(message.contains(part), "{message}");
    }
    assert!(!message.contains("entity type `Actor`") && !message.contains("action `process.spawn`"), "{message}");
    // The built-in schema has every part: a folder without a schema loads.
    PolicySet::from_files(&files(&[("base.cedar", SEND)]))?;
    Ok(())
}
