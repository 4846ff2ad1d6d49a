//! `corral serve`: run a node with the HTTP API until SIGTERM or SIGINT (`spec/node.md`, "Starting it").

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use corral_core::app::App;
use corral_core::audit::JsonlAudit;
use corral_policy::PolicySet;

use crate::boot::{self, BAD_INPUT, Loaded};
use crate::node::config::{self, Flags, Settings};
use crate::node::store::Store;
use crate::node::tokens::Tokens;
use crate::node::{CONTROL, Node};

/// Arguments of `corral serve`; each flag wins over the same `[node]` setting of the config file.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The config file (default: `corral.toml` in the working folder, if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The address to listen on (default `127.0.0.1:7480`; port 0 picks a free one).
    #[arg(long)]
    listen: Option<String>,
    /// The data folder: deployed apps, their revisions, the audit log (default `./corral-data`).
    #[arg(long)]
    data: Option<PathBuf>,
    /// A folder of app folders deployed at boot, each named after its folder.
    #[arg(long)]
    apps: Option<PathBuf>,
    /// The tokens file: SHA-256 digests of bearer tokens with their actors and scopes.
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// The node's policy folder (default `<data>/policies`).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// `text` (default) or `json` log lines on stderr.
    #[arg(long)]
    log_format: Option<String>,
}

impl ServeArgs {
    fn flags(&self) -> Flags {
        Flags {
            config: self.config.clone(),
            listen: self.listen.clone(),
            data: self.data.clone(),
            apps: self.apps.clone(),
            tokens: self.tokens.clone(),
            policies: self.policies.clone(),
            log_format: self.log_format.clone(),
        }
    }

    /// Whether logs are JSON lines (read before logging starts).
    pub fn log_json(&self) -> bool {
        config::log_json(&self.flags())
    }
}

/// 0 after a drain; 2 for bad settings, a locked data folder, a node policy folder or a boot app with
/// problems.
pub fn run(args: ServeArgs) -> u8 {
    let settings = match config::load(&args.flags()) {
        Ok(s) => s,
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
    tokio.block_on(async move {
        match serve(settings).await {
            Ok(()) => 0,
            Err(e) => {
                boot::error(e);
                BAD_INPUT
            }
        }
    })
}

async fn serve(settings: Settings) -> Result<(), String> {
    let store = Store::open(&settings.data)?;
    let tokens = match &settings.tokens {
        Some(path) => Tokens::load(path)?,
        None => {
            tracing::warn!("no tokens file (`[node] tokens`): every API request but health is 401");
            Tokens::default()
        }
    };
    tracing::info!(tokens = tokens.len(), "tokens loaded");
    let audit = Arc::new(
        JsonlAudit::open(&store.audit_path(), settings.app_config.audit_options.clone()).map_err(|e| e.to_string())?,
    );
    let policy_dir = settings.policies.clone().unwrap_or_else(|| store.default_policies());
    let shared = corral_core::runtime::Shared {
        quotas: Some(Arc::new(settings.app_config.quotas.clone())),
        ..Default::default()
    };
    let control = control_runtime(&policy_dir, &settings, audit.clone(), shared.clone())?;
    reload_on_hangup(&control, &policy_dir);
    let node = Arc::new(Node::new(settings, store, audit, tokens, control, shared));
    node.boot_apps().await?;
    let listener = tokio::net::TcpListener::bind(node.settings.listen)
        .await
        .map_err(|e| format!("cannot listen on `{}`: {e}", node.settings.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    boot::out(format_args!("listening on http://{address}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = crate::node::http::router(node.clone());
    #[allow(clippy::disallowed_methods, reason = "the HTTP server belongs to the node, not a process")]
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    signalled().await;
    tracing::info!("draining");
    node.drain().await;
    let _ = stop.send(());
    // In-flight requests get a moment to finish; the node's state is already saved and its log synced.
    if tokio::time::timeout(std::time::Duration::from_secs(5), server).await.is_err() {
        tracing::warn!("requests still open after the drain were dropped");
    }
    Ok(())
}

/// The control runtime: an app of no entries whose gate holds the node policies (`policy.load` recorded).
/// Errors: the node policy folder does not load, or the audit log refuses the boot records.
pub(crate) fn control_runtime(
    dir: &std::path::Path,
    settings: &Settings,
    audit: Arc<JsonlAudit>,
    shared: corral_core::runtime::Shared,
) -> Result<corral_core::Runtime, String> {
    let policies = PolicySet::load_node_dir(dir)
        .map_err(|e| format!("the node policy folder `{}` does not load:\n{e}", dir.display()))?;
    let config = settings.app_config.clone();
    let app = App {
        root: dir.to_path_buf(),
        entries: Default::default(),
        hosts: Default::default(),
        services: Default::default(),
        config,
    };
    boot::node_as(CONTROL, Loaded { app: Arc::new(app), policies, policy_dir: dir.to_path_buf() }, audit, shared)
}

/// Reloads the node policy folder on each SIGHUP (Unix): validated whole, swapped atomically, recorded; a bad
/// folder keeps the running set (`policy.reject`).
fn reload_on_hangup(control: &corral_core::Runtime, dir: &std::path::Path) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!(target: "corral::policy", "cannot listen for SIGHUP");
            return;
        };
        let (control, dir) = (control.clone(), dir.to_path_buf());
        #[allow(clippy::disallowed_methods, reason = "the SIGHUP handler belongs to the node, not a process")]
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let (control, dir) = (control.clone(), dir.clone());
                // Problems are reported by the reload itself (stderr and the audit log).
                let _ = tokio::task::spawn_blocking(move || control.gate().reload_node_policies(&dir)).await;
            }
        });
    }
}

/// Resolves at the first SIGTERM or SIGINT.
async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                tracing::warn!("cannot listen for SIGINT and SIGTERM; stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
