//! One `_index.yaml`: its header, and the dispatch of its entries by kind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_saphyr::{Location, Spanned};

use crate::app::error::Problems;
use crate::app::service::{self, PendingRef, SERVICE_KIND, ServiceSpec};
use crate::app::yaml::{self, Node, SNode};
use crate::app::{Entry, EntryKind, HostSpec, host, lua};

/// The kind of a `process.host` entry.
pub(crate) const HOST_KIND: &str = "process.host";

/// Where an id was first declared, and as what kind.
pub(crate) struct Declared {
    pub(crate) kind: String,
    pub(crate) file: PathBuf,
    pub(crate) line: Option<u32>,
}

/// An `imports:` item, checked once every manifest is read.
pub(crate) struct PendingImport {
    pub(crate) file: PathBuf,
    pub(crate) line: Option<u32>,
    pub(crate) entry: String,
    pub(crate) alias: String,
    pub(crate) target: String,
}

/// What a load has gathered so far.
pub(crate) struct Loader<'a> {
    pub(crate) root: &'a Path,
    pub(crate) problems: Problems,
    pub(crate) entries: BTreeMap<String, std::sync::Arc<Entry>>,
    pub(crate) hosts: BTreeMap<String, HostSpec>,
    /// Every id of every kind, ours or not: a duplicate is a duplicate whatever its kind.
    pub(crate) declared: BTreeMap<String, Declared>,
    pub(crate) imports: Vec<PendingImport>,
    pub(crate) services: BTreeMap<String, ServiceSpec>,
    /// The `process`, `host` and `requires` references of services, checked once every manifest is read.
    pub(crate) service_refs: Vec<PendingRef>,
}

/// The context of one entry being read: problems it records name its file and id.
pub(crate) struct EntryCx<'a> {
    pub(crate) root: &'a Path,
    pub(crate) file: &'a Path,
    pub(crate) id: &'a str,
    /// The line of the entry itself (its `- name:`), used when a problem has no line of its own.
    pub(crate) line: Option<u32>,
    pub(crate) problems: &'a mut Problems,
    /// Set by the first problem: the entry is then left out of the app.
    pub(crate) failed: bool,
}

impl EntryCx<'_> {
    /// Records a problem at `at` (or at the entry's line when `at` is unknown).
    pub(crate) fn problem(&mut self, at: &Location, message: impl Into<String>) {
        self.failed = true;
        let line = yaml::line(at).or(self.line);
        self.problems.push(self.file, line, message);
    }
}

/// The kinds Corral runs.
const OUR_KINDS: [&str; 5] = ["process.lua", "function.lua", "library.lua", HOST_KIND, SERVICE_KIND];

/// The kind Corral runs that `kind` (not one of them) is a near miss of: at most two edits away
/// (Damerau-Levenshtein, so a swap of two letters is one edit), ignoring case.
fn near_miss(kind: &str) -> Option<&'static str> {
    let kind = kind.to_ascii_lowercase();
    OUR_KINDS.into_iter().find(|ours| strsim::damerau_levenshtein(&kind, ours) <= 2)
}

/// Whether `part` is a valid name or namespace segment: `[A-Za-z0-9_-]+`.
pub(crate) fn valid_part(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `namespace` is dot-separated valid segments (`app`, `app.workers`).
pub(crate) fn valid_namespace(namespace: &str) -> bool {
    namespace.split('.').all(valid_part)
}

/// Whether `id` is `namespace:name` with a valid namespace and name.
pub(crate) fn valid_id(id: &str) -> bool {
    id.split_once(':').is_some_and(|(ns, name)| valid_namespace(ns) && valid_part(name))
}

/// The value of `key` in a mapping, with its key.
pub(crate) fn get<'n>(pairs: &'n [(Spanned<String>, SNode)], key: &str) -> Option<&'n SNode> {
    pairs.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
}

impl Loader<'_> {
    /// Reads one manifest, recording its problems and keeping its problem-free entries.
    pub(crate) fn manifest(&mut self, file: &Path) {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(err) => {
                return self.problems.push(file, None, format!("cannot read: {err}"));
            }
        };
        let doc = match yaml::parse(&text) {
            Ok(doc) => doc,
            Err((line, message)) => return self.problems.push(file, line, message),
        };
        let Node::Map(pairs) = &doc.value else {
            let message = "a manifest must be a mapping with `version`, `namespace` and `entries`";
            return self.problems.push(file, yaml::line(&doc.referenced), message);
        };
        let mut namespace = None;
        let mut entries = None;
        for (key, value) in pairs {
            match key.value.as_str() {
                "version" => self.version(file, value),
                "namespace" => namespace = self.namespace(file, value),
                "entries" => entries = Some(value),
                "meta" => {}
                other => {
                    let message = format!("unknown key `{other}` in manifest");
                    self.problems.push(file, yaml::line(&key.referenced), message);
                }
            }
        }
        let Some(namespace) = namespace else {
            if get(pairs, "namespace").is_none() {
                self.problems.push(file, None, "manifest has no `namespace`");
            }
            return;
        };
        match entries.map(|e| &e.value) {
            Some(Node::Seq(items)) => items.iter().for_each(|item| self.entry(file, &namespace, item)),
            None | Some(Node::Scalar(serde_json::Value::Null)) => {}
            Some(other) => {
                let line = entries.and_then(|e| yaml::line(&e.referenced));
                let message = format!("`entries` must be a list, got {}", other.describe());
                self.problems.push(file, line, message);
            }
        }
    }

    fn version(&mut self, file: &Path, value: &SNode) {
        let ok = match &value.value {
            Node::Scalar(serde_json::Value::String(s)) => s == "1.0" || s == "1",
            Node::Scalar(serde_json::Value::Number(n)) => n.as_f64() == Some(1.0),
            _ => false,
        };
        if !ok {
            let message = format!("unsupported manifest version {}, expected `1.0`", value.value.shown());
            self.problems.push(file, yaml::line(&value.referenced), message);
        }
    }

    fn namespace(&mut self, file: &Path, value: &SNode) -> Option<String> {
        let line = yaml::line(&value.referenced);
        match value.value.as_str() {
            Some(ns) if valid_namespace(ns) => Some(ns.to_string()),
            _ => {
                let message = format!(
                    "bad namespace {}: dot-separated segments of letters, digits, `_` and `-`",
                    value.value.shown()
                );
                self.problems.push(file, line, message);
                None
            }
        }
    }

    /// A required string key of an entry (`name`, `kind`); records a problem when absent.
    fn text_key(
        &mut self,
        file: &Path,
        line: Option<u32>,
        pairs: &[(Spanned<String>, SNode)],
        key: &str,
    ) -> Option<String> {
        match get(pairs, key) {
            Some(value) => match value.value.as_str() {
                Some(text) => Some(text.to_string()),
                None => {
                    let message = format!("`{key}` must be a string, got {}", value.value.describe());
                    self.problems.push(file, yaml::line(&value.referenced).or(line), message);
                    None
                }
            },
            None => {
                self.problems.push(file, line, format!("entry has no `{key}`"));
                None
            }
        }
    }

    fn entry(&mut self, file: &Path, namespace: &str, item: &SNode) {
        let line = yaml::line(&item.referenced);
        let Node::Map(pairs) = &item.value else {
            let message = format!("an entry must be a mapping, got {}", item.value.describe());
            return self.problems.push(file, line, message);
        };
        let name = self.text_key(file, line, pairs, "name");
        let kind = self.text_key(file, line, pairs, "kind");
        let (Some(name), Some(kind)) = (name, kind) else {
            return;
        };
        let id = format!("{namespace}:{name}");
        let ours = EntryKind::from_kind(&kind).is_some() || kind == HOST_KIND || kind == SERVICE_KIND;
        let bad_name = ours && !valid_part(&name);
        if bad_name {
            let at = get(pairs, "name").and_then(|n| yaml::line(&n.referenced)).or(line);
            let message = format!("bad name `{name}` of entry `{id}`: use letters, digits, `_` and `-`");
            self.problems.push(file, at, message);
        } else if !ours && !kind.contains('.') {
            let at = get(pairs, "kind").and_then(|k| yaml::line(&k.referenced)).or(line);
            self.problems.push(file, at, format!("unknown kind `{kind}` of entry `{id}`"));
        } else if let Some(meant) = near_miss(&kind).filter(|_| !ours) {
            // A typo of a kind Corral runs would otherwise be skipped as another system's, silently dropping it.
            let at = get(pairs, "kind").and_then(|k| yaml::line(&k.referenced)).or(line);
            self.problems.push(file, at, format!("unknown kind `{kind}` of entry `{id}`: did you mean `{meant}`?"));
            return;
        } else if !ours {
            tracing::warn!(entry = %id, %kind, "entry `{id}` of kind `{kind}` is not run by corral");
        }
        if !self.declare(file, line, &id, &kind) || !ours {
            return;
        }
        let mut cx = EntryCx { root: self.root, file, id: &id, line, problems: &mut self.problems, failed: bad_name };
        if let Some(kind) = EntryKind::from_kind(&kind) {
            if let Some(entry) = lua::lua_entry(&mut cx, kind, pairs, &mut self.imports) {
                self.entries.insert(id.clone(), std::sync::Arc::new(entry));
            }
        } else if kind == SERVICE_KIND {
            if let Some(spec) = service::service_entry(&mut cx, pairs, &mut self.service_refs) {
                self.services.insert(id.clone(), spec);
            }
        } else if let Some(spec) = host::host_entry(&mut cx, pairs) {
            self.hosts.insert(id.clone(), spec);
        }
    }

    /// Records `id` as declared; `false` (after a problem) when it already was.
    fn declare(&mut self, file: &Path, line: Option<u32>, id: &str, kind: &str) -> bool {
        if let Some(first) = self.declared.get(id) {
            let at = match first.line {
                Some(l) => format!("{}:{l}", first.file.display()),
                None => first.file.display().to_string(),
            };
            let message = format!("duplicate id `{id}`, first declared at {at}");
            self.problems.push(file, line, message);
            return false;
        }
        let declared = Declared { kind: kind.to_string(), file: file.to_path_buf(), line };
        self.declared.insert(id.to_string(), declared);
        true
    }
}
