//! The data folder: one node's deployed apps, their revisions, its audit log, and the lock that keeps a
//! second node out (`spec/node.md`, "Starting it").
//!
//! ```text
//! <data>/node.lock                       held (an exclusive OS file lock) while the node runs
//! <data>/state.json                      {"apps": {"<name>": {"revision", "deployed_at"}}}, replaced atomically
//! <data>/apps/<name>/<revision>/...      the files of each deployed revision
//! <data>/staging/<n>/                    an archive being unpacked and checked (removed at boot)
//! <data>/audit/audit.jsonl               the node's audit log (rotated files beside it)
//! <data>/policies/                       the node's policies, unless `[node] policies` names another folder
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// What a restart brings back: each deployed app's revision.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// App name -> its active revision.
    pub apps: BTreeMap<String, StateApp>,
}

/// One deployed app in [`State`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateApp {
    /// The hex digest of its files (`<data>/apps/<name>/<revision>`).
    pub revision: String,
    /// When it was deployed, RFC 3339.
    pub deployed_at: String,
    /// The actor that deployed it (its services run as it unless they name their own).
    #[serde(default)]
    pub deployer: Option<String>,
}

/// An open, locked data folder.
pub struct Store {
    root: PathBuf,
    /// Held for the node's life: dropping the file releases the lock.
    _lock: File,
    next_staging: AtomicU64,
    /// Serialises writes of `state.json`.
    state: std::sync::Mutex<State>,
}

impl Store {
    /// Opens (creating it if needed) and locks `root`. Errors: the folder cannot be made or read, its
    /// `state.json` is corrupt, or another node holds the lock; each message names the folder as given.
    pub fn open(root: &Path) -> Result<Store, String> {
        let in_folder = |e: std::io::Error| format!("data folder `{}`: {e}", root.display());
        std::fs::create_dir_all(root.join("apps")).map_err(in_folder)?;
        std::fs::create_dir_all(root.join("audit")).map_err(in_folder)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join("node.lock"))
            .map_err(in_folder)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "data folder `{}` is in use by another node (its `node.lock` is held)",
                    root.display()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(in_folder(e)),
        }
        // Whatever a killed node left half-unpacked is not an app.
        let staging = root.join("staging");
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(in_folder)?;
        let state = match std::fs::read(root.join("state.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("data folder `{}`: `state.json` is corrupt: {e}", root.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(in_folder(e)),
        };
        Ok(Store { root: root.to_path_buf(), _lock: lock, next_staging: AtomicU64::new(1), state: state.into() })
    }

    /// `<data>/audit/audit.jsonl`.
    pub fn audit_path(&self) -> PathBuf {
        self.root.join("audit").join("audit.jsonl")
    }

    /// `<data>/policies`, the default node policy folder.
    pub fn default_policies(&self) -> PathBuf {
        self.root.join("policies")
    }

    /// A new, empty staging folder. Errors: it cannot be made.
    pub fn staging(&self) -> Result<PathBuf, String> {
        let n = self.next_staging.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.join("staging").join(n.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make `{}`: {e}", dir.display()))?;
        Ok(dir)
    }

    /// Where revision `revision` of app `name` lives.
    pub fn revision_dir(&self, name: &str, revision: &str) -> PathBuf {
        self.root.join("apps").join(name).join(revision)
    }

    /// Moves a checked staging folder to its revision's place (an atomic rename; when that revision is already
    /// there, the staging copy is dropped: same digest, same files). Errors: the rename failed.
    pub fn keep(&self, staging: &Path, name: &str, revision: &str) -> Result<PathBuf, String> {
        let dir = self.revision_dir(name, revision);
        if dir.is_dir() {
            let _ = std::fs::remove_dir_all(staging);
            return Ok(dir);
        }
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot make `{}`: {e}", parent.display()))?;
        }
        std::fs::rename(staging, &dir).map_err(|e| format!("cannot move `{}` into place: {e}", staging.display()))?;
        Ok(dir)
    }

    /// The apps of the last run.
    pub fn state(&self) -> State {
        crate::node::lock(&self.state).clone()
    }

    /// Records `name` at `revision` (or, with `None`, its removal), writing `state.json` through a temporary
    /// file, synced, then renamed over the old one. Errors: the write failed (the old state stays).
    pub fn set(&self, name: &str, app: Option<StateApp>) -> Result<(), String> {
        let mut state = crate::node::lock(&self.state);
        let mut next = state.clone();
        match app {
            Some(app) => next.apps.insert(name.to_string(), app),
            None => next.apps.remove(name),
        };
        let bytes = serde_json::to_vec_pretty(&next).map_err(|e| e.to_string())?;
        let tmp = self.root.join("state.json.tmp");
        let write = |e: std::io::Error| format!("cannot write `{}`: {e}", tmp.display());
        let mut file = File::create(&tmp).map_err(write)?;
        file.write_all(&bytes).map_err(write)?;
        file.sync_all().map_err(write)?;
        std::fs::rename(&tmp, self.root.join("state.json")).map_err(write)?;
        *state = next;
        Ok(())
    }

    /// Removes every revision of `name` but `keep` (all of them with `None`). Failures are logged: a leftover
    /// folder is disk space, not state.
    pub fn prune(&self, name: &str, keep: Option<&str>) {
        let dir = self.root.join("apps").join(name);
        let Ok(read) = std::fs::read_dir(&dir) else { return };
        for entry in read.flatten() {
            if keep.is_some_and(|k| entry.file_name() == k) {
                continue;
            }
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!("cannot remove `{}`: {e}", entry.path().display());
            }
        }
        if keep.is_none() {
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_is_refused_naming_the_folder_and_state_survives() {
        let dir = std::env::temp_dir().join(format!("corral-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        let err = Store::open(&dir).err().unwrap();
        assert!(err.contains(&format!("`{}`", dir.display())), "{err}");
        let app = StateApp { revision: "ab".into(), deployed_at: "now".into(), deployer: None };
        store.set("shop", Some(app.clone())).unwrap();
        drop(store);
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.state().apps.get("shop"), Some(&app));
    }
}
