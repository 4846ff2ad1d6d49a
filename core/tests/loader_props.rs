//! Property tests of the app loader: arbitrary, YAML-ish or mangled manifest text and arbitrary `corral.toml`
//! text never panic, and every problem names a file of the app. Bounded case counts: a few seconds in all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use corral_core::app::App;
use proptest::prelude::*;

#[path = "support/mangle.rs"]
mod mangle;

fn config() -> ProptestConfig {
    mangle::bounded(96)
}

/// A good manifest, the seed of the mutations.
const GOOD: &str = r#"version: "1.0"
namespace: app
entries:
  - name: procs
    kind: process.host
    workers: 2
    memory_limit: 4MiB
    time_slice: 2ms
  - name: lib
    kind: library.lua
    source: file://lib.lua
  - name: main
    kind: process.lua
    source: file://main.lua
    modules: [time]
    imports: {lib: app:lib}
    meta: {type: test}
"#;

/// Pieces YAML is made of, in any order: keys the loader knows, indentation, flow and block syntax, anchors,
/// tags, quotes, numbers of every size, and the odd byte.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("version: \"1.0\"\n".to_string()),
        Just("namespace: app\n".to_string()),
        Just("entries:\n".to_string()),
        Just("  - name: x\n".to_string()),
        Just("    kind: process.lua\n".to_string()),
        Just("    kind: process.host\n".to_string()),
        Just("    kind: library.lua\n".to_string()),
        Just("    source: file://main.lua\n".to_string()),
        Just("    source: file://../../etc/passwd\n".to_string()),
        Just("    imports: {a: app:x}\n".to_string()),
        Just("    memory_limit: 99999999999999999999GiB\n".to_string()),
        Just("    workers: -1\n".to_string()),
        "[ -~]{0,12}".prop_map(String::from),
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("&a ".to_string()),
        Just("*a ".to_string()),
        Just("!!binary ".to_string()),
        Just("<<: *a\n".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("---\n".to_string()),
        Just("\t".to_string()),
        Just("\u{feff}".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
}

/// A fresh app folder with `lib.lua`, `main.lua` and the given manifest and settings.
fn app(name: &str, manifest: &str, settings: Option<&str>) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("loader-props-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("_index.yaml"), manifest).unwrap();
    std::fs::write(dir.join("lib.lua"), "return {}").unwrap();
    std::fs::write(dir.join("main.lua"), "return { main = function() return true end }").unwrap();
    if let Some(settings) = settings {
        std::fs::write(dir.join("corral.toml"), settings).unwrap();
    }
    dir
}

/// Loads `dir` and checks the outcome: an app, or problems that each name a file inside the app with a
/// message. (`App::load` catching a panic would be a bug too: it is not caught here, so it fails the test.)
fn check(dir: &Path) -> Result<(), TestCaseError> {
    if let Err(err) = App::load(dir) {
        prop_assert!(!err.problems.is_empty(), "an error without problems");
        for problem in &err.problems {
            prop_assert!(problem.file.starts_with(dir), "{} is outside the app", problem.file.display());
            prop_assert!(
                !problem.message.trim().is_empty(),
                "a problem without a message at {}",
                problem.file.display()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn yamlish_manifests_never_panic_and_problems_name_the_file(text in yamlish()) {
        check(&app("yamlish", &text, None))?;
    }

    #[test]
    fn mangled_manifests_never_panic_and_problems_name_the_file(text in mangle::mangled(GOOD)) {
        check(&app("mangled", &text, None))?;
    }

    #[test]
    fn arbitrary_settings_never_panic_and_problems_name_corral_toml(
        text in prop_oneof![
            "[ -~\n]{0,80}",
            proptest::collection::vec(prop_oneof![
                Just("[root]\n"), Just("[quotas]\n"), Just("[quotas.actors]\n"), Just("[audit]\n"),
                Just("default = { processes = 0 }\n"), Just("\"u\" = { memory = \"9999999999999TiB\" }\n"),
                Just("sync_interval = \"-1s\"\n"), Just("rotate_size = 0\n"), Just("host = \"app:procs\"\n"),
                Just("actor = 7\n"), Just("= \n"), Just("[[audit.rules]]\n"), Just("level = \"loud\"\n"),
            ], 0..12).prop_map(|parts| parts.concat()),
        ]
    ) {
        let dir = app("settings", GOOD, Some(&text));
        check(&dir)?;
        if let Err(err) = App::load(&dir) {
            prop_assert!(err.problems.iter().all(|p| p.file == dir.join("corral.toml")), "{err}");
        }
    }
}

#[test]
fn the_seed_manifest_loads() {
    let dir = app("seed", GOOD, None);
    let loaded = App::load(&dir);
    assert!(loaded.is_ok(), "{:?}", loaded.err().map(|e| e.to_string()));
}
