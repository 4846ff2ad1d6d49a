//! Loading an app: a folder of `_index.yaml` manifests, Luau sources and a `corral.toml`.
//!
//! The layout is the contract of `spec/cli-and-manifest.md`, which takes the seeds' reference
//! system (Wippy) as its model so that its apps load unchanged:
//!
//! - every `_index.yaml` under the app folder, at any depth, declares the entries of one
//!   `namespace`; an entry's id is `namespace:name`;
//! - `process.lua`, `function.lua` and `library.lua` entries become [`Entry`] values with their
//!   Luau source read; `process.host` entries become [`HostSpec`] values, their options flat or
//!   nested under `host:`;
//! - entries of the reference system's other kinds (any kind with a dot: `http.service`,
//!   `registry.entry`, `env.variable`...) are skipped with a warning, since corral does not run
//!   them; a near miss of a kind corral runs (two edits or fewer, e.g. `process.lau`) is a problem;
//! - `<root>/corral.toml` gives the [`AppConfig`].
//!
//! [`App::load`] reads everything and reports every problem at once ([`AppError`]), each naming
//! its file and line, so `corral check` can list them all.
//!
//! ```no_run
//! use corral_core::app::App;
//!
//! match App::load(std::path::Path::new("examples/hello")) {
//!     Ok(app) => println!("{} entries, {} hosts", app.entries.len(), app.hosts.len()),
//!     Err(err) => eprintln!("{err}"), // one `file:line: message` per problem
//! }
//! ```

mod config;
mod error;
mod host;
mod lua;
mod manifest;
mod service;
mod source;
mod units;
mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use config::{AppConfig, CONFIG_FILE};
pub use error::{AppError, Problem};
pub use host::{HostSpec, Isolation, MAX_WORKERS, Placement};
pub use service::{Lifecycle, MAX_INPUT, MAX_LIFECYCLE_DURATION, Restart, ServiceSpec, start_order};
pub use units::parse_memory_size;

use error::Problems;
use manifest::{HOST_KIND, Loader};
use service::SERVICE_KIND;

/// A loaded app: its Lua entries, its hosts and its settings, all checked.
#[derive(Clone, Debug)]
pub struct App {
    /// The app folder, as given to [`App::load`].
    pub root: PathBuf,
    /// The `process.lua`, `function.lua` and `library.lua` entries, by id `namespace:name`.
    pub entries: BTreeMap<String, Arc<Entry>>,
    /// The `process.host` entries, by id `namespace:name`.
    pub hosts: BTreeMap<String, HostSpec>,
    /// The `process.service` entries, by id `namespace:name` (`spec/node.md`, "Services").
    pub services: BTreeMap<String, ServiceSpec>,
    /// The settings of `<root>/corral.toml`; all defaults when the file is absent.
    pub config: AppConfig,
}

/// The kind of a Lua entry, as the manifest's `kind:` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// `process.lua`: a process, spawned by others or run as the root.
    Process,
    /// `function.lua`: runs once, with a PID and mailbox like a process; `meta.type: test` ones
    /// are what `corral test` runs.
    Function,
    /// `library.lua`: a module that other entries `require` through their `imports`.
    Library,
}

impl EntryKind {
    /// The kind for a manifest's `kind:` value, `None` when it is not a Lua kind.
    pub fn from_kind(kind: &str) -> Option<EntryKind> {
        match kind {
            "process.lua" => Some(EntryKind::Process),
            "function.lua" => Some(EntryKind::Function),
            "library.lua" => Some(EntryKind::Library),
            _ => None,
        }
    }

    /// The manifest spelling: `process.lua`, `function.lua` or `library.lua`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Process => "process.lua",
            EntryKind::Function => "function.lua",
            EntryKind::Library => "library.lua",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Lua entry of the manifest, with its source read.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The id, `namespace:name`.
    pub id: String,
    /// `process.lua`, `function.lua` or `library.lua`.
    pub kind: EntryKind,
    /// The Luau source text (parsed later, by the sandbox).
    pub source: Arc<str>,
    /// The `.lua` file, under the app root (`source: file://x.lua`, relative to the manifest's
    /// folder).
    pub source_path: PathBuf,
    /// `method:`, the function the source returns or defines to call; default `main`.
    pub method: String,
    /// `modules:`, the built-in modules it may `require` (`time`, `security`, `ctx`). Names are
    /// not checked here (core knows no Lua): `corral` checks them against the sandbox's built-ins
    /// before anything runs. A `library.lua` entry's own `modules:` and `imports:` are what its
    /// code may `require`; its importers' grants do not apply to it.
    pub modules: Vec<String>,
    /// The 1-based line in `file` of each of `modules` (same order); the entry's line when unknown.
    pub module_lines: Vec<u32>,
    /// `imports:`, alias to the id of a `library.lua` entry of the app.
    pub imports: BTreeMap<String, String>,
    /// `meta:`, free-form; `Null` when absent.
    pub meta: serde_json::Value,
    /// The `_index.yaml` that declares the entry.
    pub file: PathBuf,
    /// The 1-based line of the entry in `file` (its `- name:` line); 0 if unknown.
    pub line: u32,
    /// `id`, shared by every process of the entry (`Entry::shared_id`).
    pub(crate) shared_id: Arc<str>,
}

impl Entry {
    /// The id as a shared string: every process of the entry names it with this one allocation.
    pub fn shared_id(&self) -> &Arc<str> {
        &self.shared_id
    }
}

impl App {
    /// Loads every `_index.yaml` under `root` (any depth, sorted walk, hidden folders skipped),
    /// reads each source file (`file://x.lua`, relative to the manifest's folder) and
    /// `<root>/corral.toml`.
    ///
    /// # Errors
    /// [`AppError`] with every problem found, each naming its file and line where it has one:
    /// invalid YAML, unknown keys or kinds, a kind with a dot that is a near miss of one Corral
    /// runs (`process.lau`: "did you mean `process.lua`?"; other dotted kinds are warnings), a bad
    /// or duplicate id, a missing source, one that leaves the app folder or is not a regular file
    /// (a FIFO, a device, a folder: checked before it is opened), a malformed host value
    /// (`memory_limit: lots`, `workers` over [`MAX_WORKERS`]), an import of an id
    /// that is not a `library.lua` entry of the app, invalid settings or a `[root] host` that is
    /// not a host of the app, and a folder with no manifest at all.
    pub fn load(root: &Path) -> Result<App, AppError> {
        let mut loader = Loader {
            root,
            problems: Problems::default(),
            entries: BTreeMap::new(),
            hosts: BTreeMap::new(),
            declared: BTreeMap::new(),
            imports: Vec::new(),
            services: BTreeMap::new(),
            service_refs: Vec::new(),
        };
        if !root.is_dir() {
            let mut problems = Problems::default();
            problems.push(root, None, "the app folder does not exist");
            problems.finish()?;
        }
        let manifests = source::manifests(root, &mut loader.problems);
        if manifests.is_empty() {
            loader.problems.push(root, None, "no `_index.yaml` in the app folder");
        }
        for file in &manifests {
            loader.manifest(file);
        }
        check_imports(&mut loader);
        check_services(&mut loader);
        let config = config::load(root, &mut loader.problems);
        if let Some(loaded) = &config {
            check_root_host(&mut loader, loaded);
        }
        loader.problems.finish()?;
        Ok(App {
            root: root.to_path_buf(),
            entries: loader.entries,
            hosts: loader.hosts,
            services: loader.services,
            config: config.map(|c| c.config).unwrap_or_default(),
        })
    }

    /// The `function.lua` entries whose `meta.type` is `"test"`, sorted by id: what
    /// `corral test` runs (`spec/cli-and-manifest.md`). Every entry of a loaded app is
    /// problem-free.
    pub fn tests(&self) -> Vec<&Entry> {
        // `entries` is a BTreeMap: iteration is already sorted by id.
        self.entries
            .values()
            .filter(|e| e.kind == EntryKind::Function)
            .filter(|e| e.meta.get("type").and_then(|t| t.as_str()) == Some("test"))
            .map(|e| &**e)
            .collect()
    }
}

/// Every import must name a `library.lua` entry of the app.
fn check_imports(loader: &mut Loader<'_>) {
    for import in std::mem::take(&mut loader.imports) {
        let found = loader.declared.get(&import.target).map(|d| d.kind.as_str());
        let what = match found {
            Some("library.lua") => continue,
            Some(kind) => format!("a `{kind}` entry, not a library.lua entry"),
            None => "which is not an entry of the app".to_string(),
        };
        let message =
            format!("import `{}` of entry `{}` names `{}`, {what}", import.alias, import.entry, import.target);
        loader.problems.push(&import.file, import.line, message);
    }
}

/// Every `process` of a service must name a `process.lua` entry, every `host` a `process.host` entry and
/// every `requires` a `process.service` entry of the app, with no cycle among them.
fn check_services(loader: &mut Loader<'_>) {
    for pending in std::mem::take(&mut loader.service_refs) {
        let found = loader.declared.get(&pending.target).map(|d| d.kind.as_str());
        let wanted = match pending.key {
            "process" => "process.lua",
            "host" => HOST_KIND,
            _ => SERVICE_KIND,
        };
        if found == Some(wanted) {
            continue;
        }
        let what = match found {
            Some(kind) => format!("a `{kind}` entry, not a {wanted} entry"),
            None => "which is not an entry of the app".to_string(),
        };
        let message = format!("`{}` of service `{}` names `{}`, {what}", pending.key, pending.service, pending.target);
        loader.problems.push(&pending.file, pending.line, message);
    }
    if let Err(cycle) = service::start_order(&loader.services) {
        let first = cycle.first().and_then(|id| loader.services.get(id));
        let (file, line) =
            first.map(|s| (s.file.clone(), Some(s.line))).unwrap_or_else(|| (loader.root.to_path_buf(), None));
        let message = format!("services require each other in a cycle: {}", cycle.join(" -> "));
        loader.problems.push(&file, line, message);
    }
}

/// `[root] host` must name a `process.host` entry of the app.
fn check_root_host(loader: &mut Loader<'_>, loaded: &config::LoadedConfig) {
    let Some(host) = &loaded.config.root_host else {
        return;
    };
    let found = loader.declared.get(host).map(|d| d.kind.as_str());
    if found != Some(HOST_KIND) {
        let message = format!("`[root] host` names `{host}`, which is not a process.host entry of the app");
        loader.problems.push(&loader.root.join(CONFIG_FILE), loaded.host_line, message);
    }
}
