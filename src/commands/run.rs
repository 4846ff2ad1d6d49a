//! `corral run`: boot, run the root entry, print its return value as JSON.

use std::path::PathBuf;

use clap::Args;
use corral_core::Value;
use corral_core::app::HostSpec;
use corral_core::runtime::RootSpec;

use crate::boot::{self, BAD_INPUT};
use crate::{AppArgs, RootArgs};

/// Arguments of `corral run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    root: RootArgs,
    /// The audit log file (default: `<app>/audit.jsonl`).
    #[arg(long)]
    audit: Option<PathBuf>,
    /// Do not watch the policy folder. By default a change to it is reloaded while the node runs (a bad
    /// edit keeps the running set); SIGHUP reloads on demand either way.
    #[arg(long)]
    no_watch: bool,
    /// The root entry id, `namespace:name`.
    entry: String,
    /// Arguments for `main(...)`, each a JSON value.
    args: Vec<String>,
}

/// Parses JSON arguments. Errors: the argument's position and text.
pub fn json_args(args: &[String]) -> Result<Vec<Value>, String> {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            serde_json::from_str::<serde_json::Value>(a)
                .map(|j| Value::from_json(&j))
                .map_err(|e| format!("argument {} `{a}` is not JSON: {e}", i + 1))
        })
        .collect()
}

/// Checks the root's arguments against its host's message bounds before anything boots (the spawn would
/// refuse them anyway, after the node started). Errors: the first argument (1-based) that is nested deeper
/// than `max_message_depth`, or at which the arguments' total size passes `max_message_bytes`.
pub fn within_bounds(values: &[Value], host: &HostSpec) -> Result<(), String> {
    let mut total = 0usize;
    for (i, value) in values.iter().enumerate() {
        let depth = value.depth();
        if depth > host.max_message_depth {
            return Err(format!(
                "argument {} is nested {depth} deep, over the bound of {} (`max_message_depth` of host `{}`)",
                i + 1,
                host.max_message_depth,
                host.id
            ));
        }
        total = total.saturating_add(value.size());
        if total > host.max_message_bytes {
            return Err(format!(
                "argument {} brings the arguments to {total} bytes, over the bound of {} (`max_message_bytes` of \
                 host `{}`)",
                i + 1,
                host.max_message_bytes,
                host.id
            ));
        }
    }
    Ok(())
}

/// The exit status after SIGINT or SIGTERM (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

/// SIGINT and SIGTERM, listened for from before the root starts (so neither can kill the node unrecorded).
struct Stops {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Stops {
    fn listen() -> Stops {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
                (Ok(int), Ok(term)) => Some((int, term)),
                _ => {
                    tracing::warn!("cannot listen for SIGINT and SIGTERM");
                    None
                }
            };
            Stops { signals }
        }
        #[cfg(not(unix))]
        Stops {}
    }

    /// The root's exit, or `None` when SIGINT or SIGTERM came first: the caller then shuts the node down, so
    /// every process is stopped and `runtime.stop` is written and synced before the command exits.
    async fn or<T>(self, exit: impl std::future::Future<Output = T>) -> Option<T> {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.signals {
            return tokio::select! {
                result = exit => Some(result),
                _ = int.recv() => None,
                _ = term.recv() => None,
            };
        }
        Some(exit.await)
    }
}

/// 0 normal exit, 1 abnormal exit, 2 bad input, 130 interrupted (SIGINT, SIGTERM).
pub fn run(args: RunArgs) -> u8 {
    let Some(loaded) = boot::load(&args.app) else { return BAD_INPUT };
    let prepared = (|| {
        let values = json_args(&args.args)?;
        let root = boot::root(&loaded.app, &args.root)?;
        if !loaded.app.entries.contains_key(&args.entry) {
            return Err(format!("unknown entry `{}`", args.entry));
        }
        let host = loaded.app.hosts.get(&root.host).cloned().unwrap_or_else(|| HostSpec::with_defaults(&root.host));
        within_bounds(&values, &host)?;
        let audit = boot::audit_sink(&loaded.app, args.audit.as_deref(), boot::LogFor::Run)?;
        Ok((values, root, audit))
    })();
    let (values, root, audit) = match prepared {
        Ok(p) => p,
        Err(e) => {
            boot::error(e);
            return BAD_INPUT;
        }
    };
    let tokio = match boot::tokio() {
        Ok(t) => t,
        Err(e) => {
            boot::error(e);
            return BAD_INPUT;
        }
    };
    let policy_dir = boot::policy_dir(&args.app);
    tokio.block_on(async move {
        let node = match boot::node(loaded, audit) {
            Ok(node) => node,
            Err(e) => {
                boot::error(e);
                return BAD_INPUT;
            }
        };
        let _watcher = if args.no_watch { None } else { watch(&node, &policy_dir) };
        reload_on_hangup(&node, &policy_dir);
        let stops = Stops::listen();
        // The app's auto-start services run beside the root, as the root's actor unless they name their own
        // (`lifecycle.security`), and are stopped with their `stop_timeout` when the root is done.
        let services = corral_core::service::Services::start(&node, root.actor.clone());
        let spec =
            RootSpec { entry: args.entry, host: root.host, args: values, actor: root.actor, scopes: root.scopes };
        let code = match node.start_root(spec) {
            Err(e) => {
                boot::error(e);
                1
            }
            Ok((_, exit)) => match stops.or(exit).await {
                None => {
                    boot::error("interrupted; stopping every process");
                    INTERRUPTED
                }
                Some(Ok(exit)) => match exit.result {
                    Ok(value) => {
                        boot::out(value.to_json());
                        0
                    }
                    Err(error) => {
                        boot::error(format_args!("{} ({})", error, exit.reason.as_str()));
                        1
                    }
                },
                Some(Err(_)) => {
                    boot::error("the root process vanished");
                    1
                }
            },
        };
        services.stop().await;
        node.shutdown().await;
        code
    })
}

/// Watches the policy folder; a folder that cannot be watched is a warning, not a failure.
fn watch(node: &corral_core::Runtime, dir: &std::path::Path) -> Option<corral_core::runtime::PolicyWatcher> {
    node.watch_policies(dir, corral_core::runtime::DEFAULT_DEBOUNCE)
        .map_err(|e| tracing::warn!(target: "corral::policy", "{e}; policies reload on SIGHUP only"))
        .ok()
}

/// Reloads the policy folder on each SIGHUP (Unix), as `kill -HUP <pid>` asks.
fn reload_on_hangup(node: &corral_core::Runtime, dir: &std::path::Path) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!(target: "corral::policy", "cannot listen for SIGHUP");
            return;
        };
        let node = node.clone();
        let dir = dir.to_path_buf();
        #[allow(clippy::disallowed_methods, reason = "the SIGHUP handler belongs to the node, not a process")]
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let (node, dir) = (node.clone(), dir.clone());
                // Problems are reported by the reload itself (stderr and the audit log).
                let _ = tokio::task::spawn_blocking(move || node.reload_policies(&dir)).await;
            }
        });
    }
}
