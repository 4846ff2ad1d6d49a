//! Apps on a node: checking a deployed folder as `corral check` does, activating it atomically, replacing a
//! revision, removing an app, and bringing the apps of the last run back at boot (`spec/node.md`, "Apps").
//!
//! A deploy goes: unpack into a staging folder of the data folder ([`super::archive`]) → check everything
//! ([`crate::boot::problems`]: manifests, scripts, policies, policy tests; the problems' files made relative
//! to the app's root) → compute the revision (a SHA-256 over the files) → under the activation lock, refuse a
//! namespace another app declares (`409`) → rename the staging folder to `<data>/apps/<name>/<revision>` →
//! boot the app's runtime → swap it into the node's map → record it in `state.json`. Everything before the
//! swap runs off the request path (`spawn_blocking`); any refusal leaves the running revision untouched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use corral_core::app::App;
use corral_core::service::Services;
use corral_core::{ErrorKind, Runtime};
use corral_policy::PolicySet;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::AppArgs;
use crate::boot::{self, Loaded};
use crate::node::Node;
use crate::node::archive::{self, Limits};
use crate::node::error::{ApiError, Problem};
use crate::node::store::StateApp;

/// A deployed app: its runtime and what the API shows of it.
pub struct AppSlot {
    /// The app's name.
    pub name: String,
    /// The app's runtime (node name = the app's name).
    pub runtime: Runtime,
    /// The hex digest of its files.
    pub revision: String,
    /// When this revision was deployed, RFC 3339.
    pub deployed_at: String,
    /// The ids of its Lua entries, sorted.
    pub entries: Vec<String>,
    /// The ids of its services.
    pub service_ids: Vec<String>,
    /// Its supervised services (shared by the slots of successive revisions: a replace keeps the unchanged
    /// ones running).
    pub services: Arc<Services>,
    /// The actor that deployed it (services without `lifecycle.security.actor` run as it).
    pub deployer: Option<String>,
    /// The namespaces its entries and hosts declare.
    pub namespaces: BTreeSet<String>,
}

impl AppSlot {
    /// Stops the app: its services with their `stop_timeout`, then every process is terminated and its
    /// runtime writes `runtime.stop`.
    pub async fn stop(&self) {
        self.services.stop().await;
        self.runtime.shutdown().await;
    }
}

/// The answer to a deploy (`201` new, `200` replaced).
#[derive(Clone, Debug, Serialize)]
pub struct Deployed {
    /// The app's name.
    pub name: String,
    /// The hex digest of its files.
    pub revision: String,
    /// Its entry ids.
    pub entries: Vec<String>,
    /// Its service ids.
    pub services: Vec<String>,
    /// Whether an earlier revision was replaced.
    #[serde(skip)]
    pub replaced: bool,
}

/// A valid app name: 1 to 63 of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit (it becomes a folder
/// name and the node part of PIDs). Errors: `INVALID` naming it.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        return Ok(());
    }
    let shown: String = name.chars().take(80).collect();
    Err(ApiError::new(
        ErrorKind::Invalid,
        format!("bad app name `{shown}`: use 1 to 63 of a-z, 0-9, `-`, `_`, starting with a letter or digit"),
    ))
}

/// What a checked staging folder holds.
struct Checked {
    staging: PathBuf,
    revision: String,
    namespaces: BTreeSet<String>,
}

/// Where the files of a deploy come from.
pub enum Source {
    /// A request body: a tar or gzipped tar.
    Archive(axum::body::Bytes),
    /// A folder on the node's disk (`--apps`, or a revision in the data folder).
    Folder(PathBuf),
}

impl Node {
    /// Deploys `source` as app `name` (a new app or a new revision) for the actor `deployer` (`None` at boot:
    /// services then need their own `lifecycle.security.actor`). Errors: `422` with the archive's or the
    /// app's problems, `409` for a namespace another app declares, `500`-kind `Internal` when the data folder
    /// fails; on any error the running revision (if any) is untouched.
    pub async fn deploy(
        self: &Arc<Self>,
        name: &str,
        source: Source,
        deployer: Option<&str>,
    ) -> Result<Deployed, ApiError> {
        let node = self.clone();
        let name_owned = name.to_string();
        let checked = tokio::task::spawn_blocking(move || node.check(&name_owned, source))
            .await
            .map_err(|e| ApiError::new(ErrorKind::Internal, format!("the check of app `{name}` failed: {e}")))??;
        let _one = self.activating.lock().await;
        if let Some(running) = self.app(name).filter(|slot| slot.revision == checked.revision) {
            // The same files again: nothing to replace.
            let _ = std::fs::remove_dir_all(&checked.staging);
            return Ok(Deployed {
                name: name.to_string(),
                revision: running.revision.clone(),
                entries: running.entries.clone(),
                services: running.service_ids.clone(),
                replaced: true,
            });
        }
        if let Err(e) = self.free_namespaces(name, &checked.namespaces) {
            let _ = std::fs::remove_dir_all(&checked.staging);
            return Err(e);
        }
        let dir = self.store.keep(&checked.staging, name, &checked.revision).map_err(internal)?;
        let deployed_at = corral_core::audit::now_rfc3339();
        let revision = checked.revision.clone();
        let (slot, replaced) = match self.app(name) {
            Some(old) => (self.replace(&old, &dir, &revision, &deployed_at, checked.namespaces).await?, true),
            None => {
                let deployer = deployer.map(str::to_string);
                (self.boot_app(name, &dir, &revision, &deployed_at, checked.namespaces, deployer)?, false)
            }
        };
        let slot = Arc::new(slot);
        let answer = Deployed {
            name: name.to_string(),
            revision: revision.clone(),
            entries: slot.entries.clone(),
            services: slot.service_ids.clone(),
            replaced,
        };
        let saved = StateApp { revision: revision.clone(), deployed_at, deployer: slot.deployer.clone() };
        self.put_app(Some(slot), name);
        self.store.set(name, Some(saved)).map_err(internal)?;
        self.store.prune(name, Some(&revision));
        Ok(answer)
    }

    /// A new revision of a running app: `Runtime::replace_app` (new spawns use the new code, running
    /// processes keep theirs), then the services whose entry or source changed are restarted.
    async fn replace(
        &self,
        old: &AppSlot,
        dir: &Path,
        revision: &str,
        deployed_at: &str,
        namespaces: BTreeSet<String>,
    ) -> Result<AppSlot, ApiError> {
        let (app, policies, policy_dir) = self.load_revision(dir)?;
        let entries: Vec<String> = app.entries.keys().cloned().collect();
        let service_ids: Vec<String> = app.services.keys().cloned().collect();
        old.runtime.replace_app(Arc::new(app), policies, &policy_dir, revision).map_err(|e| internal(e.to_string()))?;
        let restarted = old.services.redeploy().await;
        tracing::info!(app = %old.name, %revision, restarted = ?restarted, "replaced");
        Ok(AppSlot {
            name: old.name.clone(),
            runtime: old.runtime.clone(),
            revision: revision.to_string(),
            deployed_at: deployed_at.to_string(),
            entries,
            service_ids,
            services: old.services.clone(),
            deployer: old.deployer.clone(),
            namespaces,
        })
    }

    /// Removes app `name`: stops it, forgets it, deletes its files. Errors: `NOT_FOUND`.
    pub async fn remove(&self, name: &str) -> Result<(), ApiError> {
        let _one = self.activating.lock().await;
        let Some(slot) = self.put_app(None, name) else {
            return Err(ApiError::new(ErrorKind::NotFound, format!("no app `{name}`")));
        };
        slot.stop().await;
        self.store.set(name, None).map_err(internal)?;
        self.store.prune(name, None);
        Ok(())
    }

    /// Brings back the apps of `state.json`, then deploys each subfolder of `--apps` (named after it) whose
    /// files differ from what runs. A saved app that no longer boots is logged and skipped. Errors: a
    /// `--apps` folder has problems (each listed), naming the app.
    pub async fn boot_apps(self: &Arc<Self>) -> Result<(), String> {
        for (name, saved) in self.store.state().apps {
            let dir = self.store.revision_dir(&name, &saved.revision);
            if let Err(e) = self.restore(&name, &dir, &saved).await {
                tracing::error!(app = %name, "cannot bring back revision `{}`: {}", saved.revision, describe(&e));
            }
        }
        let Some(apps) = self.settings.apps.clone() else { return Ok(()) };
        let read =
            std::fs::read_dir(&apps).map_err(|e| format!("cannot read the apps folder `{}`: {e}", apps.display()))?;
        let mut folders: Vec<PathBuf> = read.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        folders.sort();
        for folder in folders {
            let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            check_name(&name).map_err(|e| format!("`{}`: {}", folder.display(), describe(&e)))?;
            let revision = revision_of(&folder).map_err(|e| format!("`{}`: {e}", folder.display()))?;
            if self.app(&name).is_some_and(|slot| slot.revision == revision) {
                continue;
            }
            match self.deploy(&name, Source::Folder(folder.clone()), None).await {
                Ok(d) => tracing::info!(app = %name, revision = %d.revision, "deployed at boot"),
                Err(e) => {
                    return Err(format!("app `{name}` (`{}`) was not deployed:\n{}", folder.display(), describe(&e)));
                }
            }
        }
        Ok(())
    }

    async fn restore(&self, name: &str, dir: &Path, saved: &StateApp) -> Result<(), ApiError> {
        check_name(name)?;
        let app = App::load(dir).map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?;
        let namespaces = namespaces(&app);
        let _one = self.activating.lock().await;
        self.free_namespaces(name, &namespaces)?;
        let slot = self.boot_app(name, dir, &saved.revision, &saved.deployed_at, namespaces, saved.deployer.clone())?;
        self.put_app(Some(Arc::new(slot)), name);
        Ok(())
    }

    /// Unpacks or copies `source` into a staging folder and checks it. Runs on a blocking thread.
    fn check(&self, name: &str, source: Source) -> Result<Checked, ApiError> {
        let staging = self.store.staging().map_err(internal)?;
        let result = self.check_in(name, source, &staging);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }

    fn check_in(&self, name: &str, source: Source, staging: &Path) -> Result<Checked, ApiError> {
        let limits = self.settings.limits;
        match source {
            Source::Archive(bytes) => {
                archive::unpack(&bytes, staging, limits)
                    .map_err(|e| ApiError::Problems(vec![Problem { file: e.entry, line: None, message: e.message }]))?;
            }
            Source::Folder(folder) => copy_folder(&folder, staging, limits).map_err(|e| {
                ApiError::Problems(vec![Problem { file: folder.display().to_string(), line: None, message: e }])
            })?,
        }
        let args = AppArgs { app: staging.to_path_buf(), policies: None };
        let (loaded, problems) = boot::problems(&args);
        let Some(loaded) = loaded else {
            return Err(ApiError::Problems(problems.iter().map(|p| parse_problem(p, staging)).collect()));
        };
        tracing::debug!(app = %name, entries = loaded.app.entries.len(), "checked");
        let revision = revision_of(staging).map_err(internal)?;
        Ok(Checked { staging: staging.to_path_buf(), revision, namespaces: namespaces(&loaded.app) })
    }

    /// `409` when another app declares one of `namespaces`.
    fn free_namespaces(&self, name: &str, namespaces: &BTreeSet<String>) -> Result<(), ApiError> {
        for (other, slot) in self.apps() {
            if other == name {
                continue;
            }
            if let Some(taken) = slot.namespaces.intersection(namespaces).next() {
                return Err(ApiError::new(
                    ErrorKind::AlreadyExists,
                    format!("namespace `{taken}` belongs to app `{other}`"),
                ));
            }
        }
        Ok(())
    }

    /// Loads the checked revision at `dir`, boots its runtime (`runtime.start`, `policy.load`, synced) and
    /// starts its auto-start services.
    fn boot_app(
        &self,
        name: &str,
        dir: &Path,
        revision: &str,
        deployed_at: &str,
        namespaces: BTreeSet<String>,
        deployer: Option<String>,
    ) -> Result<AppSlot, ApiError> {
        let (app, policies, policy_dir) = self.load_revision(dir)?;
        let entries: Vec<String> = app.entries.keys().cloned().collect();
        let service_ids: Vec<String> = app.services.keys().cloned().collect();
        let loaded = Loaded { app: Arc::new(app), policies, policy_dir };
        let runtime = boot::node_as(name, loaded, self.audit.clone(), self.shared.clone()).map_err(internal)?;
        let actor = deployer.as_ref().map(|id| Arc::new(corral_policy::Actor::new(id.clone())));
        let services = Arc::new(Services::start(&runtime, actor));
        Ok(AppSlot {
            name: name.to_string(),
            runtime,
            revision: revision.to_string(),
            deployed_at: deployed_at.to_string(),
            entries,
            service_ids,
            services,
            deployer,
            namespaces,
        })
    }

    /// The app and policies of the checked revision at `dir`. The node's `[audit]` rules replace the app's
    /// own (and the node's `[quotas]` hold through [`Node::shared`]): a tenant does not set its own bounds or
    /// what of it is recorded.
    fn load_revision(&self, dir: &Path) -> Result<(App, PolicySet, PathBuf), ApiError> {
        let mut app = App::load(dir).map_err(|e| internal(e.to_string()))?;
        app.config.audit_levels = self.settings.app_config.audit_levels.clone();
        let policy_dir = dir.join("policies");
        let policies = PolicySet::load_dir(&policy_dir).map_err(|e| internal(e.to_string()))?;
        Ok((app, policies, policy_dir))
    }
}

fn internal(message: String) -> ApiError {
    ApiError::new(ErrorKind::Internal, message)
}

/// An error as text for the log and boot failures.
pub fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Kind(kind, message) => format!("{}: {message}", kind.as_str()),
        ApiError::Unauthenticated => "unauthenticated".into(),
        ApiError::TooLarge(bound) => format!("over {bound} bytes"),
        ApiError::Problems(problems) => problems
            .iter()
            .map(|p| match p.line {
                Some(line) => format!("{}:{line}: {}", p.file, p.message),
                None => format!("{}: {}", p.file, p.message),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The namespaces an app's entries and hosts declare.
fn namespaces(app: &App) -> BTreeSet<String> {
    app.entries
        .keys()
        .chain(app.hosts.keys())
        .filter_map(|id| id.split_once(':').map(|(ns, _)| ns.to_string()))
        .collect()
}

/// A problem line of [`boot::problems`] (`file:line: message`, `file: message`, `syntax error: file:line:
/// message (entry ...)`) as a [`Problem`] whose file is relative to `root` (`lua/main.lua`, no `./`).
pub fn parse_problem(text: &str, root: &Path) -> Problem {
    let prefix = format!("{}/", root.display());
    let text = text.replace(&prefix, "").replace(&root.display().to_string(), ".");
    let (lead, rest) = match text.strip_prefix("syntax error: ") {
        Some(rest) => ("syntax error: ", rest),
        None => ("", text.as_str()),
    };
    let Some((head, message)) = rest.split_once(": ") else {
        return Problem { file: String::new(), line: None, message: text.clone() };
    };
    if head.contains(' ') {
        return Problem { file: String::new(), line: None, message: text.clone() };
    }
    let (file, line) = match head.rsplit_once(':') {
        Some((file, line)) if line.parse::<u32>().is_ok() => (file, line.parse().ok()),
        _ => (head, None),
    };
    Problem { file: file.trim_start_matches("./").to_string(), line, message: format!("{lead}{message}") }
}

/// The revision of a folder: SHA-256 hex over its regular files in path order (each path, a NUL, its length
/// and its bytes), skipping audit logs (`*.jsonl`) a local run may have left. Errors: a file cannot be read.
pub fn revision_of(root: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files, usize::MAX).map_err(|e| format!("cannot read `{}`: {e}", root.display()))?;
    files.sort();
    let mut hash = Sha256::new();
    for relative in files {
        let bytes = std::fs::read(root.join(&relative)).map_err(|e| format!("cannot read `{relative}`: {e}"))?;
        hash.update(relative.as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Ok(hex::encode(hash.finalize()))
}

/// The regular files under `dir` (relative, `/`-separated), skipping `*.jsonl`; symbolic links are not
/// followed. Stops with an error past `max` files.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>, max: usize) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(dir))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let relative = dir.join(entry.file_name());
        if kind.is_dir() {
            walk(root, &relative, out, max)?;
        } else if kind.is_file() && relative.extension().is_none_or(|e| e != "jsonl") {
            out.push(relative.to_string_lossy().replace('\\', "/"));
            if out.len() > max {
                return Err(std::io::Error::other(format!("more than {max} files")));
            }
        }
    }
    Ok(())
}

/// Copies the regular files of `from` into `to` under the archive bounds. Errors: the reason.
fn copy_folder(from: &Path, to: &Path, limits: Limits) -> Result<(), String> {
    let mut files = Vec::new();
    walk(from, Path::new(""), &mut files, limits.max_entries).map_err(|e| e.to_string())?;
    let mut total = 0u64;
    for relative in files {
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        total = total
            .saturating_add(std::fs::copy(from.join(&relative), &target).map_err(|e| format!("`{relative}`: {e}"))?);
        if total > limits.max_unpacked_bytes {
            return Err(format!("the files pass the bound of {} bytes", limits.max_unpacked_bytes));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_relative_to_the_app_root() {
        let root = Path::new("/data/staging/3");
        let p = parse_problem("syntax error: /data/staging/3/lua/main.lua:4: Expected <eof> (entry `app:main`)", root);
        assert_eq!(
            p,
            Problem {
                file: "lua/main.lua".into(),
                line: Some(4),
                message: "syntax error: Expected <eof> (entry `app:main`)".into()
            }
        );
        let p = parse_problem("/data/staging/3/_index.yaml: no entries", root);
        assert_eq!((p.file.as_str(), p.line), ("_index.yaml", None));
    }

    #[test]
    fn names_are_plain() {
        assert!(check_name("shop-1").is_ok());
        for bad in ["", "_node", "a/b", "..", "Shop", &"a".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
