//! `corral test`: every `meta.type: test` entry as the root process of a runtime of its own; verdicts as text,
//! JSON lines or JUnit XML.

use std::time::Duration;

use clap::{Args, ValueEnum};
use corral_core::runtime::RootSpec;
use corral_core::{Exit, Value};

use crate::boot::{self, BAD_INPUT};
use crate::{AppArgs, RootArgs};

/// Arguments of `corral test`.
#[derive(Args, Debug)]
pub struct TestArgs {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    root: RootArgs,
    /// The audit log file (default: `<app>/audit.test.jsonl`, apart from `corral run`'s log).
    #[arg(long)]
    audit: Option<std::path::PathBuf>,
    /// How long one test may run before it fails.
    #[arg(long, default_value = "30s", value_parser = humantime_duration)]
    timeout: Duration,
    /// How the verdicts are printed: `text` (a line each), `json` (an object each) or `junit` (XML for CI).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Run only tests whose entry id contains this.
    filter: Option<String>,
}

fn humantime_duration(text: &str) -> Result<Duration, String> {
    humantime_parse(text)
}

fn humantime_parse(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.trim().split_at(text.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("bad duration `{text}`"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration `{text}`: use ms, s or m")),
    }
}

/// A test fails when it raises, returns `false`, or returns a second value that is not nil.
fn verdict(exit: &Exit) -> Result<(), String> {
    match &exit.result {
        Ok(Value::Bool(false)) => Err("returned false".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.clone()),
    }
}

/// `--format`: how the verdicts are printed on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `ok   ID` or `FAIL ID: error`, one line each, then `N passed, M failed`.
    #[default]
    Text,
    /// One JSON object per test (`{"test", "ok", "error", "duration_ms"}`), then `{"passed", "failed"}`.
    Json,
    /// One JUnit XML report (a `testsuite` named after the app folder, a `testcase` per test).
    Junit,
}

/// One test's outcome.
struct Outcome {
    id: String,
    result: Result<(), String>,
    took: Duration,
}

/// 0 when every test passes, 1 otherwise, 2 for bad input.
///
/// Each test runs in a runtime of its own, booted on the app and a fresh load of its policy folder and shut
/// down after it: nothing a test started (a process, a registered name, a timer) reaches the next. Every
/// runtime writes to the same audit log (`runtime.start` ... `runtime.stop` per test).
pub fn run(args: TestArgs) -> u8 {
    let Some(loaded) = boot::load(&args.app) else { return BAD_INPUT };
    let prepared = (|| {
        let root = boot::root(&loaded.app, &args.root)?;
        let audit = boot::audit_sink(&loaded.app, args.audit.as_deref(), boot::LogFor::Test)?;
        let tokio = boot::tokio()?;
        Ok::<_, String>((root, audit, tokio))
    })();
    let (root, audit, tokio) = match prepared {
        Ok(p) => p,
        Err(e) => {
            boot::error(e);
            return BAD_INPUT;
        }
    };
    let tests: Vec<String> = loaded
        .app
        .tests()
        .into_iter()
        .map(|e| e.id.clone())
        .filter(|id| args.filter.as_deref().is_none_or(|f| id.contains(f)))
        .collect();
    let (app, policy_dir) = (loaded.app.clone(), loaded.policy_dir.clone());
    let mut first = Some(loaded.policies);
    let outcomes = tokio.block_on(async move {
        let mut outcomes = Vec::with_capacity(tests.len());
        for id in tests {
            let started = std::time::Instant::now();
            // The first test uses the set `load` checked; each later one loads the folder again (a set is
            // owned by its runtime's gate).
            let policies = match first.take() {
                Some(p) => Ok(p),
                None => corral_policy::PolicySet::load_dir(&policy_dir).map_err(|e| e.to_string()),
            };
            let loaded =
                policies.map(|policies| boot::Loaded { app: app.clone(), policies, policy_dir: policy_dir.clone() });
            let node = match loaded.and_then(|l| boot::node(l, audit.clone())) {
                Ok(node) => node,
                Err(e) => return Err(e),
            };
            let spec = RootSpec {
                entry: id.clone(),
                host: root.host.clone(),
                args: vec![],
                actor: root.actor.clone(),
                scopes: root.scopes.clone(),
            };
            let result = match node.start_root(spec) {
                Err(e) => Err(e.to_string()),
                Ok((_, exit)) => match tokio::time::timeout(args.timeout, exit).await {
                    Ok(Ok(exit)) => verdict(&exit),
                    Ok(Err(_)) => Err("the test process vanished".into()),
                    Err(_) => Err(format!("timed out after {:?}", args.timeout)),
                },
            };
            node.shutdown().await;
            let outcome = Outcome { id, result, took: started.elapsed() };
            if args.format == Format::Text {
                print_text(&outcome);
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    });
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(e) => {
            boot::error(e);
            return BAD_INPUT;
        }
    };
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let passed = outcomes.len() - failed;
    match args.format {
        Format::Text => boot::out(format_args!("{passed} passed, {failed} failed")),
        Format::Json => {
            for o in &outcomes {
                boot::out(serde_json::json!({
                    "test": o.id,
                    "ok": o.result.is_ok(),
                    "error": o.result.as_ref().err(),
                    "duration_ms": u64::try_from(o.took.as_millis()).unwrap_or(u64::MAX),
                }));
            }
            boot::out(serde_json::json!({ "passed": passed, "failed": failed }));
        }
        Format::Junit => match junit(&args.app.app, &outcomes) {
            Ok(xml) => boot::out(xml.trim_end()),
            Err(e) => {
                boot::error(format_args!("cannot write the JUnit report: {e}"));
                return BAD_INPUT;
            }
        },
    }
    u8::from(failed > 0)
}

fn print_text(o: &Outcome) {
    match &o.result {
        Ok(()) => boot::out(format_args!("ok   {}", o.id)),
        Err(e) => boot::out(format_args!("FAIL {}: {e}", o.id)),
    }
}

/// The JUnit XML report: one `testsuite` named after the app folder, one `testcase` per test (name the entry
/// id, classname its namespace), a failed one with a `failure` whose message is the error.
fn junit(app: &std::path::Path, outcomes: &[Outcome]) -> Result<String, quick_junit::SerializeError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let name = app
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| app.display().to_string());
    let mut suite = TestSuite::new(name.as_str());
    for o in outcomes {
        let status = match &o.result {
            Ok(()) => TestCaseStatus::success(),
            Err(e) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(e.as_str());
                s
            }
        };
        let mut case = TestCase::new(o.id.as_str(), status);
        case.set_classname(o.id.split_once(':').map_or(o.id.as_str(), |(ns, _)| ns));
        case.set_time(o.took);
        suite.add_test_case(case);
    }
    let mut report = Report::new("corral test");
    report.add_test_suite(suite);
    report.to_string()
}
