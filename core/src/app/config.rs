//! `corral.toml`: the app's settings that are not entries.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::app::error::Problems;
use crate::app::units::parse_memory_size;
use crate::audit::{AuditOptions, Levels, Rule};

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
/// sync_interval = "2ms"     # audit_options.sync_interval
/// rotate_size = "64MiB"     # audit_options.rotate_bytes
/// [[audit.rules]]           # audit_levels, first match wins
/// actions = ["process.send"]
/// level = "none"            # none | metadata | request
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
    /// `[audit] sync_interval` and `rotate_size`: how the log is batched, synced and rotated.
    pub audit_options: AuditOptions,
    /// `[[audit.rules]]`: the level of decision records per action pattern.
    pub audit_levels: Levels,
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
    sync_interval: Option<toml::Spanned<String>>,
    rotate_size: Option<toml::Spanned<String>>,
    #[serde(default)]
    rules: Vec<Rule>,
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
    let audit_options =
        audit_options(&raw.audit, &text).map_err(|(line, message)| problems.push(&file, Some(line), message)).ok()?;
    let config = AppConfig {
        root_actor: raw.root.actor,
        root_scopes: raw.root.scopes,
        root_host: raw.root.host.map(toml::Spanned::into_inner),
        wippy: raw.compat.wippy,
        audit: raw.audit.file.map(|f| root.join(f)),
        audit_options,
        audit_levels: Levels::new(raw.audit.rules),
    };
    Some(LoadedConfig { config, host_line })
}

/// `[audit] sync_interval` (a humantime duration) and `rotate_size` (a size, e.g. `64MiB`) over the defaults.
/// Errors: the line and the message.
fn audit_options(raw: &RawAudit, text: &str) -> Result<AuditOptions, (u32, String)> {
    let mut options = AuditOptions::default();
    if let Some(interval) = &raw.sync_interval {
        options.sync_interval = humantime::parse_duration(interval.get_ref()).map_err(|e| {
            (line_at(text, interval.span().start), format!("bad `[audit] sync_interval` `{}`: {e}", interval.get_ref()))
        })?;
    }
    if let Some(size) = &raw.rotate_size {
        options.rotate_bytes = parse_memory_size(size.get_ref()).filter(|n| *n > 0).ok_or_else(|| {
            (
                line_at(text, size.span().start),
                format!("bad `[audit] rotate_size` `{}`: use e.g. `64MiB`", size.get_ref()),
            )
        })?;
    }
    Ok(options)
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> u32 {
    let before = text.get(..offset).unwrap_or(text);
    let newlines = before.bytes().filter(|b| *b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}
