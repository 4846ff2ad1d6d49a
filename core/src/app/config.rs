//! `corral.toml`: the app's settings that are not entries.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::app::error::Problems;

/// The file name of an app's settings, at the app's root.
pub const CONFIG_FILE: &str = "corral.toml";

/// An app's `corral.toml` (`spec/cli-and-manifest.md`); every field is empty when the file is
/// absent. The command line wins over each of these.
///
/// ```toml
/// [root]
/// actor = "user:alice"      # root_actor
/// scopes = ["tenant_acme"]  # root_scopes
/// host = "app:processes"    # root_host
/// [compat]
/// wippy = true              # wippy
/// [audit]
/// file = "audit.jsonl"      # audit
/// ```
#[derive(Clone, Debug, Default)]
pub struct AppConfig {
    /// `[root] actor`: the actor the root process runs as (`user:alice` becomes
    /// `Actor::"user:alice"`).
    pub root_actor: Option<String>,
    /// `[root] scopes`: the scopes granted to the root process.
    pub root_scopes: Vec<String>,
    /// `[root] host`: the host the root process runs on; it must be a `process.host` entry of
    /// the app.
    pub root_host: Option<String>,
    /// `[compat] wippy`: the reference system's Lua dialect (see the spec's compatibility
    /// section); default false.
    pub wippy: bool,
    /// `[audit] file`: the audit log, resolved against the app root (an absolute path stays
    /// as written).
    pub audit: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    root: RawRoot,
    #[serde(default)]
    compat: RawCompat,
    #[serde(default)]
    audit: RawAudit,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    actor: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    host: Option<toml::Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCompat {
    #[serde(default)]
    wippy: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    file: Option<PathBuf>,
}

/// The parsed settings, with the line of `[root] host` so it can be checked against the hosts.
pub(crate) struct LoadedConfig {
    pub(crate) config: AppConfig,
    pub(crate) host_line: Option<u32>,
}

/// Reads `<root>/corral.toml`; defaults when it is absent, `None` after recording a problem.
pub(crate) fn load(root: &Path, problems: &mut Problems) -> Option<LoadedConfig> {
    let file = root.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => {
            problems.push(&file, None, format!("cannot read settings: {err}"));
            return None;
        }
    };
    let raw: RawConfig = match toml::from_str(&text) {
        Ok(raw) => raw,
        Err(err) => {
            let line = err.span().map(|span| line_at(&text, span.start));
            problems.push(&file, line, format!("invalid settings: {}", err.message()));
            return None;
        }
    };
    let host_line = raw.root.host.as_ref().map(|h| line_at(&text, h.span().start));
    let config = AppConfig {
        root_actor: raw.root.actor,
        root_scopes: raw.root.scopes,
        root_host: raw.root.host.map(toml::Spanned::into_inner),
        wippy: raw.compat.wippy,
        audit: raw.audit.file.map(|f| root.join(f)),
    };
    Some(LoadedConfig { config, host_line })
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> u32 {
    let before = text.get(..offset).unwrap_or(text);
    let newlines = before.bytes().filter(|b| *b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}
