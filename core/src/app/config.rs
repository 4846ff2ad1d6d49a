//! `corral.toml`: the app's settings that are not entries.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::app::error::Problems;
use crate::app::units::parse_memory_size;
use crate::audit::{Allows, AuditOptions, Levels, Rule};
use crate::limits::{Quota, Quotas};

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
/// allows = "summary"        # audit_options.allows: "summary" | "each"
/// summary_interval = "1s"   # audit_options.summary_interval
/// [[audit.rules]]           # audit_levels, first match wins
/// actions = ["process.send"]
/// level = "none"            # none | metadata | request
/// [quotas]                  # quotas: per actor, across every host
/// default = { processes = 1000, memory = "1GiB" }
/// [quotas.actors]
/// "user:alice" = { processes = 5000 }   # memory falls back to the default's
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
    /// `[audit] sync_interval`, `rotate_size`, `allows` and `summary_interval`: how the log is batched,
    /// synced and rotated, and how repeated cached allows are recorded.
    pub audit_options: AuditOptions,
    /// `[[audit.rules]]`: the level of decision records per action pattern.
    pub audit_levels: Levels,
    /// `[quotas]`: what one actor may hold across all hosts (live processes, the sum of their memory
    /// limits); a spawn over it is `LIMIT_EXCEEDED`. Empty (no quota) when the section is absent.
    pub quotas: Quotas,
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
    #[serde(default)]
    quotas: RawQuotas,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQuotas {
    default: Option<RawQuota>,
    #[serde(default)]
    actors: std::collections::BTreeMap<String, RawQuota>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    processes: Option<toml::Spanned<i64>>,
    memory: Option<toml::Spanned<toml::Value>>,
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
    allows: Option<toml::Spanned<String>>,
    summary_interval: Option<toml::Spanned<String>>,
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
    if let Err(what) = crate::app::source::regular_file(&file) {
        problems.push(&file, None, what);
        return None;
    }
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
    if raw.root.actor.as_deref().is_some_and(|a| a.trim().is_empty()) {
        problems.push(&file, None, "`[root] actor` must name an actor, got an empty string");
        return None;
    }
    let audit_options =
        audit_options(&raw.audit, &text).map_err(|(line, message)| problems.push(&file, Some(line), message)).ok()?;
    let quotas =
        quotas(&raw.quotas, &text).map_err(|(line, message)| problems.push(&file, Some(line), message)).ok()?;
    let config = AppConfig {
        root_actor: raw.root.actor,
        root_scopes: raw.root.scopes,
        root_host: raw.root.host.map(toml::Spanned::into_inner),
        wippy: raw.compat.wippy,
        audit: raw.audit.file.map(|f| root.join(f)),
        audit_options,
        audit_levels: Levels::new(raw.audit.rules),
        quotas,
    };
    Some(LoadedConfig { config, host_line })
}

/// `[audit] sync_interval` (a humantime duration), `rotate_size` (a size, e.g. `64MiB`), `allows` (`summary`
/// or `each`) and `summary_interval` (a humantime duration above zero) over the defaults. Errors: the line and
/// the message.
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
    if let Some(allows) = &raw.allows {
        options.allows = match allows.get_ref().as_str() {
            "summary" => Allows::Summary,
            "each" => Allows::Each,
            other => {
                return Err((
                    line_at(text, allows.span().start),
                    format!("bad `[audit] allows` `{other}`: use `summary` or `each`"),
                ));
            }
        };
    }
    if let Some(interval) = &raw.summary_interval {
        let bad = |why: String| {
            (
                line_at(text, interval.span().start),
                format!("bad `[audit] summary_interval` `{}`: {why}", interval.get_ref()),
            )
        };
        let parsed = humantime::parse_duration(interval.get_ref()).map_err(|e| bad(e.to_string()))?;
        if parsed.is_zero() || parsed > crate::audit::MAX_SUMMARY_INTERVAL {
            return Err(bad("use a duration above zero and at most 1h, e.g. `1s`".into()));
        }
        options.summary_interval = parsed;
    }
    Ok(options)
}

/// `[quotas]`: `processes` a count of at least 1, `memory` a size (`"1GiB"`, or bytes as an integer) of at
/// least 1 byte. Errors: the line and the message, naming the key (`[quotas.actors] "user:a"`).
fn quotas(raw: &RawQuotas, text: &str) -> Result<Quotas, (u32, String)> {
    let mut quotas = Quotas::default();
    if let Some(default) = &raw.default {
        quotas.default = quota(default, "[quotas] default", text)?;
    }
    for (actor, own) in &raw.actors {
        quotas.actors.insert(actor.clone(), quota(own, &format!("[quotas.actors] \"{actor}\""), text)?);
    }
    Ok(quotas)
}

fn quota(raw: &RawQuota, what: &str, text: &str) -> Result<Quota, (u32, String)> {
    let processes = match &raw.processes {
        None => None,
        Some(n) => Some(usize::try_from(*n.get_ref()).ok().filter(|n| *n > 0).ok_or_else(|| {
            (
                line_at(text, n.span().start),
                format!("bad `{what}` processes `{}`: use a count of at least 1", n.get_ref()),
            )
        })?),
    };
    let memory = match &raw.memory {
        None => None,
        Some(size) => {
            let bytes = match size.get_ref() {
                toml::Value::String(s) => parse_memory_size(s),
                toml::Value::Integer(n) => u64::try_from(*n).ok(),
                _ => None,
            };
            Some(bytes.filter(|n| *n > 0).ok_or_else(|| {
                (
                    line_at(text, size.span().start),
                    format!("bad `{what}` memory `{}`: use e.g. `\"1GiB\"`", size.get_ref()),
                )
            })?)
        }
    };
    Ok(Quota { processes, memory })
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> u32 {
    let before = text.get(..offset).unwrap_or(text);
    let newlines = before.bytes().filter(|b| *b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[quotas]` of `text`, or the line and message of its problem.
    fn parse(text: &str) -> Result<Quotas, (u32, String)> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| (0, e.message().to_string()))?;
        quotas(&raw.quotas, text)
    }

    #[test]
    fn bad_quota_values_name_their_line_and_key() {
        let cases = [
            ("[quotas]\ndefault = { processes = 0 }", 2, "`[quotas] default` processes `0`"),
            ("[quotas]\n\ndefault = { processes = -5 }", 3, "processes `-5`"),
            ("[quotas]\ndefault = { memory = \"0MiB\" }", 2, "memory `\"0MiB\"`"),
            ("[quotas.actors]\n\"user:x\" = { memory = 1.5 }", 2, "`[quotas.actors] \"user:x\"` memory `1.5`"),
            ("[quotas.actors]\n\"user:x\" = { memory = -1 }", 2, "memory `-1`"),
        ];
        for (text, line, part) in cases {
            let err = parse(text).err();
            assert_eq!(err.as_ref().map(|e| e.0), Some(line), "{text}: {err:?}");
            assert!(err.as_ref().is_some_and(|e| e.1.contains(part)), "{text}: {err:?}");
        }
        // a key the section does not know is the toml parser's error, with its span
        assert!(parse("[quotas]\ndefault = { cpu = 1 }").err().is_some_and(|e| e.1.contains("cpu")));
    }

    #[test]
    fn good_quota_values_are_read() {
        let q =
            parse("[quotas]\ndefault = { processes = 2, memory = \"3KiB\" }\n[quotas.actors]\n\"u\" = { memory = 7 }");
        let q = q.ok();
        assert_eq!(q.as_ref().map(|q| q.default), Some(Quota { processes: Some(2), memory: Some(3 << 10) }));
        assert_eq!(q.map(|q| q.of("u")), Some(Quota { processes: Some(2), memory: Some(7) }));
    }

    fn audit(text: &str) -> Result<AuditOptions, (u32, String)> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| (0, e.message().to_string()))?;
        audit_options(&raw.audit, text)
    }

    #[test]
    fn summary_settings_are_read_and_bad_ones_name_their_line() {
        let defaults = audit("").ok();
        assert_eq!(defaults.as_ref().map(|o| o.allows), Some(Allows::Summary));
        assert_eq!(defaults.map(|o| o.summary_interval), Some(std::time::Duration::from_secs(1)));
        let set = audit("[audit]\nallows = \"each\"\nsummary_interval = \"250ms\"").ok();
        assert_eq!(set.as_ref().map(|o| o.allows), Some(Allows::Each));
        assert_eq!(set.map(|o| o.summary_interval), Some(std::time::Duration::from_millis(250)));
        let cases = [
            ("[audit]\nallows = \"some\"", 2, "bad `[audit] allows` `some`"),
            ("[audit]\n\nsummary_interval = \"0s\"", 3, "bad `[audit] summary_interval` `0s`"),
            ("[audit]\nsummary_interval = \"2h\"", 2, "at most 1h"),
            ("[audit]\nsummary_interval = \"soon\"", 2, "bad `[audit] summary_interval` `soon`"),
        ];
        for (text, line, part) in cases {
            let err = audit(text).err();
            assert_eq!(err.as_ref().map(|e| e.0), Some(line), "{text}: {err:?}");
            assert!(err.as_ref().is_some_and(|e| e.1.contains(part)), "{text}: {err:?}");
        }
    }
}
