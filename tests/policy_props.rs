//! Property tests of the policy loader (`corral-policy`, used as the binary uses it): arbitrary or mangled
//! text in a `.cedar` file, and in `entities.json`, never panics, and every problem names the file it is in.
//! Bounded case counts: a few seconds in all.

use std::path::Path;

use corral_policy::PolicySet;
use proptest::prelude::*;

#[path = "../core/tests/support/mangle.rs"]
mod mangle;

fn config() -> ProptestConfig {
    mangle::bounded(96)
}

/// A policy that loads against the built-in schema, the seed of the mutations.
const GOOD: &str = r#"@id("tenant.spawn")
permit (principal in Tenant::"acme", action in [Action::"process.spawn", Action::"process.host"], resource)
when { context.pid like "*" && principal has role && principal.role == "admin" };
forbid (principal, action == Action::"process.send", resource) unless { context has topic };
"#;

/// Pieces of Cedar, in any order.
fn cedarish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("permit".to_string()),
        Just("forbid".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("principal".to_string()),
        Just("action".to_string()),
        Just("resource".to_string()),
        Just(",".to_string()),
        Just(";".to_string()),
        Just(" == ".to_string()),
        Just(" in ".to_string()),
        Just(" when { ".to_string()),
        Just(" unless { ".to_string()),
        Just("}".to_string()),
        Just("Actor::\"user:a\"".to_string()),
        Just("Action::\"process.spawn\"".to_string()),
        Just("Nope::\"x\"".to_string()),
        Just("@id(\"p\")".to_string()),
        Just("?principal".to_string()),
        Just("context.pid".to_string()),
        Just("\"".to_string()),
        Just("\n".to_string()),
        Just("// comment\n".to_string()),
        Just("/* ".to_string()),
        "[ -~]{0,10}".prop_map(String::from),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    proptest::collection::vec(token, 0..30).prop_map(|parts| parts.join(" "))
}

/// Loads the files; every problem must name one of them and say something.
fn check(files: &[(String, String)]) -> Result<(), TestCaseError> {
    if let Err(err) = PolicySet::from_files(files) {
        prop_assert!(!err.problems.is_empty(), "an error without problems");
        for problem in &err.problems {
            let named = files.iter().any(|(name, _)| problem.file == Path::new(name));
            prop_assert!(named, "problem in {} names no loaded file: {}", problem.file.display(), problem.message);
            prop_assert!(!problem.message.trim().is_empty(), "an empty message in {}", problem.file.display());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_cedar_text_never_panics_and_problems_name_the_file(text in cedarish()) {
        check(&[("base.cedar".into(), GOOD.into()), ("fuzz.cedar".into(), text)])?;
    }

    #[test]
    fn mangled_policies_never_panic_and_problems_name_the_file(text in mangle::mangled(GOOD)) {
        check(&[("fuzz.cedar".into(), text)])?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(text in "\\PC{0,200}") {
        check(&[("fuzz.cedar".into(), text)])?;
    }

    #[test]
    fn arbitrary_entities_never_panic_and_problems_name_the_file(
        text in prop_oneof![
            "\\PC{0,80}",
            Just(r#"[{"uid": {"type": "Actor", "id": "user:a"}, "attrs": {"role": 7}, "parents": []}]"#.to_string()),
            Just(r#"[{"uid": {"type": "Nope", "id": "x"}, "attrs": {}, "parents": []}]"#.to_string()),
            Just(r#"[{"uid": {"type": "Actor", "id": "a"}, "attrs": {}, "parents": [{"type": "Actor", "id": "a"}]}]"#.to_string()),
        ]
    ) {
        check(&[("base.cedar".into(), GOOD.into()), ("entities.json".into(), text)])?;
    }
}

#[test]
fn the_seed_policy_loads() {
    let loaded = PolicySet::from_files(&[("base.cedar".into(), GOOD.into())]);
    assert!(loaded.is_ok(), "{:?}", loaded.err().map(|e| e.to_string()));
}
