//! The node's settings: `[node]` of `corral.toml` (or `--config FILE`), then the command line over it.
//!
//! ```toml
//! [node]
//! listen = "127.0.0.1:7480"      # port 0 picks a free one
//! data = "corral-data"           # relative paths are relative to the config file's folder
//! apps = "apps"                  # folders deployed at boot, one app per subfolder (optional)
//! tokens = "tokens.toml"         # SHA-256 digests of bearer tokens (optional: without it every request is 401)
//! policies = "node-policies"     # the node's policy folder (default `<data>/policies`)
//! metrics = "public"             # or "authenticated"
//! log_format = "text"            # or "json"
//! max_archive_size = "16MiB"     # a deploy body over it is 413
//! max_unpacked_size = "64MiB"    # an archive unpacking to more is 422
//! max_archive_entries = 4096     # an archive with more entries is 422
//! request_timeout = "60s"        # a request still unanswered then is 504 (a waited spawn has its own timeout)
//! [audit]                        # as for `corral run`: sync_interval, rotate_size, allows, rules, ...
//! [quotas]                       # as for `corral run`; applies to every app (an app's own `[quotas]` is ignored)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use corral_core::app::{App, AppConfig};
use serde::Deserialize;

use crate::node::archive::Limits;

/// Who may read `GET /metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsAccess {
    /// Anyone (the default).
    Public,
    /// Only a caller with a valid token.
    Authenticated,
}

/// The resolved settings of one `corral serve`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where to listen (default `127.0.0.1:7480`).
    pub listen: SocketAddr,
    /// The data folder (default `./corral-data`).
    pub data: PathBuf,
    /// The folder of apps deployed at boot.
    pub apps: Option<PathBuf>,
    /// The tokens file.
    pub tokens: Option<PathBuf>,
    /// The node's policy folder (`None`: `<data>/policies`).
    pub policies: Option<PathBuf>,
    /// Who may read the metrics.
    pub metrics: MetricsAccess,
    /// JSON log lines on stderr.
    pub log_json: bool,
    /// The bounds of a deployed archive.
    pub limits: Limits,
    /// The longest a request may take (a waited spawn's own `timeout` is bounded by it too).
    pub request_timeout: Duration,
    /// `[audit]` and `[quotas]`, parsed as for an app's `corral.toml`.
    pub app_config: AppConfig,
}

/// The command line's settings; each one given wins over the file's.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// `--apps`.
    pub apps: Option<PathBuf>,
    /// `--tokens`.
    pub tokens: Option<PathBuf>,
    /// `--policies`.
    pub policies: Option<PathBuf>,
    /// `--log-format`.
    pub log_format: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNode {
    listen: Option<String>,
    data: Option<PathBuf>,
    apps: Option<PathBuf>,
    tokens: Option<PathBuf>,
    policies: Option<PathBuf>,
    metrics: Option<MetricsAccess>,
    log_format: Option<String>,
    max_archive_size: Option<String>,
    max_unpacked_size: Option<String>,
    max_archive_entries: Option<usize>,
    request_timeout: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawFile {
    #[serde(default)]
    node: RawNode,
}

/// Reads the settings: `flags.config`, else `corral.toml` of the working folder if present, then the flags.
/// Errors (exit 2): the file cannot be read, an unknown key or a bad value, naming the file and key.
pub fn load(flags: &Flags) -> Result<Settings, String> {
    let file = flags.config.clone().or_else(|| Some(PathBuf::from("corral.toml")).filter(|p| p.is_file()));
    let (raw, app_config, base) = match &file {
        Some(path) => read(path)?,
        None => (RawNode::default(), AppConfig::default(), PathBuf::from(".")),
    };
    let at = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
    let named = file.as_ref().map(|f| f.display().to_string()).unwrap_or_else(|| "the command line".into());
    let listen = flags.listen.clone().or(raw.listen).unwrap_or_else(|| "127.0.0.1:7480".into());
    let listen = listen.parse().map_err(|e| format!("bad listen address `{listen}`: {e}"))?;
    let log_format = flags.log_format.clone().or(raw.log_format).unwrap_or_else(|| "text".into());
    let log_json = match log_format.as_str() {
        "text" => false,
        "json" => true,
        other => return Err(format!("bad log format `{other}`: use `text` or `json`")),
    };
    let size = |text: Option<String>, key: &str, default: u64| match text {
        None => Ok(default),
        Some(t) => corral_core::app::parse_memory_size(&t)
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{named}: bad `[node] {key}` `{t}`: use e.g. `16MiB`")),
    };
    let defaults = Limits::default();
    let limits = Limits {
        max_archive_bytes: size(raw.max_archive_size, "max_archive_size", defaults.max_archive_bytes)?,
        max_unpacked_bytes: size(raw.max_unpacked_size, "max_unpacked_size", defaults.max_unpacked_bytes)?,
        max_entries: match raw.max_archive_entries {
            Some(0) => return Err(format!("{named}: `[node] max_archive_entries` must be at least 1")),
            Some(n) => n,
            None => defaults.max_entries,
        },
    };
    let request_timeout = match raw.request_timeout {
        None => Duration::from_secs(60),
        Some(t) => humantime::parse_duration(&t)
            .ok()
            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(24 * 3600))
            .ok_or_else(|| format!("{named}: bad `[node] request_timeout` `{t}`: use e.g. `60s` (at most 24h)"))?,
    };
    Ok(Settings {
        listen,
        data: flags.data.clone().or_else(|| raw.data.map(at)).unwrap_or_else(|| PathBuf::from("corral-data")),
        apps: flags.apps.clone().or_else(|| raw.apps.map(at)),
        tokens: flags.tokens.clone().or_else(|| raw.tokens.map(at)),
        policies: flags.policies.clone().or_else(|| raw.policies.map(at)),
        metrics: raw.metrics.unwrap_or(MetricsAccess::Public),
        log_json,
        limits,
        request_timeout,
        app_config,
    })
}

/// Only the log format, read before logging starts (`--log-format`, else `[node] log_format`); any problem
/// is left for [`load`] to report.
pub fn log_json(flags: &Flags) -> bool {
    load(flags).map(|s| s.log_json).unwrap_or(false)
}

/// Reads a config file: its `[node]`, its other sections checked and parsed as an app's `corral.toml` is, and
/// the folder relative paths start from.
fn read(path: &Path) -> Result<(RawNode, AppConfig, PathBuf), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let raw: RawFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1).unwrap_or(0);
        format!("{}:{line}: {}", path.display(), e.message())
    })?;
    let app_config = other_sections(path, &text)?;
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| ".".into());
    Ok((raw.node, app_config, base))
}

/// `[audit]`, `[quotas]` (and anything else) parsed by the app loader's own rules, so the node accepts exactly
/// what `corral run` does: the file is copied with its `[node]` lines blanked (line numbers stay) into a
/// temporary app folder of one empty manifest. Problems name `path` and the line.
fn other_sections(path: &Path, text: &str) -> Result<AppConfig, String> {
    let mut in_node = false;
    let blanked: Vec<&str> = text
        .lines()
        .map(|line| {
            let head = line.trim_start();
            if head.starts_with('[') {
                let name = head.trim_start_matches('[').trim_start();
                in_node = name.starts_with("node]") || name.starts_with("node.") || name.starts_with("node ]");
            }
            if in_node { "" } else { line }
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("corral-node-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let made = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("corral.toml"), blanked.join("\n")))
        .and_then(|()| std::fs::write(dir.join("_index.yaml"), "version: \"1.0\"\nnamespace: node\nentries: []\n"));
    if let Err(e) = made {
        return Err(format!("cannot check `{}`: {e}", path.display()));
    }
    let loaded = App::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    match loaded {
        Ok(app) => Ok(app.config),
        Err(e) => {
            let problems: Vec<String> = e
                .problems
                .iter()
                .map(|p| match p.line {
                    Some(line) => format!("{}:{line}: {}", path.display(), p.message),
                    None => format!("{}: {}", path.display(), p.message),
                })
                .collect();
            Err(problems.join("\n"))
        }
    }
}
