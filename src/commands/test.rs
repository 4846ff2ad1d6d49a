//! `corral test`: every `meta.type: test` entry in its own root process, one line each.

use std::time::Duration;

use clap::Args;
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

/// 0 when every test passes, 1 otherwise, 2 for bad input.
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
    tokio.block_on(async move {
        let node = match boot::node(loaded, audit) {
            Ok(node) => node,
            Err(e) => {
                boot::error(e);
                return BAD_INPUT;
            }
        };
        let (mut passed, mut failed) = (0, 0);
        for id in tests {
            let spec = RootSpec {
                entry: id.clone(),
                host: root.host.clone(),
                args: vec![],
                actor: root.actor.clone(),
                scopes: root.scopes.clone(),
            };
            let outcome = match node.start_root(spec) {
                Err(e) => Err(e.to_string()),
                Ok((_, exit)) => match tokio::time::timeout(args.timeout, exit).await {
                    Ok(Ok(exit)) => verdict(&exit),
                    Ok(Err(_)) => Err("the test process vanished".into()),
                    Err(_) => Err(format!("timed out after {:?}", args.timeout)),
                },
            };
            match outcome {
                Ok(()) => {
                    passed += 1;
                    boot::out(format_args!("ok   {id}"));
                }
                Err(e) => {
                    failed += 1;
                    boot::out(format_args!("FAIL {id}: {e}"));
                }
            }
        }
        node.shutdown().await;
        boot::out(format_args!("{passed} passed, {failed} failed"));
        u8::from(failed > 0)
    })
}
