//! `process.lua`, `function.lua` and `library.lua` entries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::app::manifest::{EntryCx, PendingImport, valid_id};
use crate::app::source::read_source;
use crate::app::yaml::{self, Node, SNode};
use crate::app::{Entry, EntryKind};

/// What the keys of a Lua entry have given so far.
#[derive(Default)]
struct Fields {
    source: Option<(PathBuf, Arc<str>)>,
    method: Option<String>,
    modules: Vec<String>,
    module_lines: Vec<u32>,
    imports: BTreeMap<String, String>,
    meta: serde_json::Value,
}

/// The process models an entry's `meta.model` may name (`models.md`): only `ao`, on a `process.lua` entry.
pub(crate) const MODELS: [&str; 1] = ["ao"];

/// A `meta.model` that names no model Corral runs, or a model on an entry that is not a process, is a problem:
/// otherwise the entry would run as a plain process and fail only at run time.
fn check_model(cx: &mut EntryCx<'_>, kind: EntryKind, meta: &serde_json::Value, value: &SNode) {
    let Some(model) = meta.get("model") else { return };
    let at = match &value.value {
        Node::Map(pairs) => pairs.iter().find(|(k, _)| k.value == "model").map(|(_, v)| v.referenced),
        _ => None,
    }
    .unwrap_or(value.referenced);
    match model.as_str() {
        Some(m) if MODELS.contains(&m) && kind == EntryKind::Process => {}
        Some(m) if MODELS.contains(&m) => {
            let message = format!("`meta.model: {m}` of entry `{}` needs a process.lua entry, not {kind}", cx.id);
            cx.problem(&at, message);
        }
        _ => {
            let shown: String = model.to_string().chars().take(64).collect();
            let message = format!("unknown `meta.model` {shown} of entry `{}` (models: {})", cx.id, MODELS.join(", "));
            cx.problem(&at, message);
        }
    }
}

/// Reads a Lua entry and its source; `None` when it has problems (each recorded in `cx`).
///
/// Accepted keys: `name`, `kind`, `source`, `method`, `modules`, `imports`, `meta`, and the
/// reference system's `pool` and `lifecycle`, which are ignored. Each import is queued in
/// `pending` so that, once every manifest is read, its target can be checked to be a
/// `library.lua` entry.
pub(crate) fn lua_entry(
    cx: &mut EntryCx<'_>,
    kind: EntryKind,
    pairs: &[(Spanned<String>, SNode)],
    pending: &mut Vec<PendingImport>,
) -> Option<Entry> {
    let dir = cx.file.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut fields = Fields::default();
    let mut has_source = false;
    for (key, value) in pairs {
        match key.value.as_str() {
            "name" | "kind" | "pool" | "lifecycle" => {}
            "source" => {
                has_source = true;
                fields.source = source(cx, &dir, value);
            }
            "method" => fields.method = method(cx, value),
            "modules" => (fields.modules, fields.module_lines) = modules(cx, value).into_iter().unzip(),
            "imports" => fields.imports = imports(cx, value, pending),
            "meta" => {
                fields.meta = value.value.to_json();
                check_model(cx, kind.clone(), &fields.meta, value);
            }
            other => {
                let message = format!("unknown key `{other}` in entry `{}`", cx.id);
                cx.problem(&key.referenced, message);
            }
        }
    }
    if !has_source {
        let message = format!("entry `{}` has no `source`", cx.id);
        cx.problem(&serde_saphyr::Location::UNKNOWN, message);
    }
    let (source_path, source) = fields.source.filter(|_| !cx.failed)?;
    Some(Entry {
        id: cx.id.to_string(),
        kind,
        source,
        source_path,
        method: fields.method.unwrap_or_else(|| "main".to_string()),
        modules: fields.modules,
        module_lines: fields.module_lines,
        imports: fields.imports,
        meta: fields.meta,
        file: cx.file.to_path_buf(),
        line: cx.line.unwrap_or(0),
        shared_id: cx.id.into(),
    })
}

fn source(cx: &mut EntryCx<'_>, dir: &Path, value: &SNode) -> Option<(PathBuf, Arc<str>)> {
    let Some(text) = value.value.as_str() else {
        let message = format!("`source` of entry `{}` must be a `file://` path, got {}", cx.id, value.value.describe());
        cx.problem(&value.referenced, message);
        return None;
    };
    match read_source(cx.root, dir, cx.id, text.trim()) {
        Ok(found) => Some(found),
        Err(message) => {
            cx.problem(&value.referenced, message);
            None
        }
    }
}

fn method(cx: &mut EntryCx<'_>, value: &SNode) -> Option<String> {
    match value.value.as_str().map(str::trim) {
        Some(name) if !name.is_empty() => Some(name.to_string()),
        _ => {
            let message = format!("`method` of entry `{}` must be a function name, got {}", cx.id, value.value.shown());
            cx.problem(&value.referenced, message);
            None
        }
    }
}

/// The module names, each with its line; which names exist is the sandbox's business, not the loader's.
fn modules(cx: &mut EntryCx<'_>, value: &SNode) -> Vec<(String, u32)> {
    let items = match &value.value {
        Node::Seq(items) => items,
        Node::Scalar(serde_json::Value::Null) => return Vec::new(),
        other => {
            let message = format!("`modules` of entry `{}` must be a list, got {}", cx.id, other.describe());
            cx.problem(&value.referenced, message);
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    for item in items {
        match item.value.as_str() {
            Some(name) if !name.trim().is_empty() => {
                let line = yaml::line(&item.referenced).or(cx.line).unwrap_or(0);
                names.push((name.trim().to_string(), line));
            }
            _ => {
                let message = format!("a module of entry `{}` must be a name, got {}", cx.id, item.value.shown());
                cx.problem(&item.referenced, message);
            }
        }
    }
    names
}

fn imports(cx: &mut EntryCx<'_>, value: &SNode, pending: &mut Vec<PendingImport>) -> BTreeMap<String, String> {
    let pairs = match &value.value {
        Node::Map(pairs) => pairs,
        Node::Scalar(serde_json::Value::Null) => return BTreeMap::new(),
        other => {
            let message = format!(
                "`imports` of entry `{}` must be a mapping of alias to entry id, got {}",
                cx.id,
                other.describe()
            );
            cx.problem(&value.referenced, message);
            return BTreeMap::new();
        }
    };
    let mut imports = BTreeMap::new();
    for (alias, target) in pairs {
        let Some(id) = target.value.as_str().map(str::trim).filter(|id| valid_id(id)) else {
            let message = format!(
                "import `{}` of entry `{}` must name an entry id `namespace:name`, got {}",
                alias.value,
                cx.id,
                target.value.shown()
            );
            cx.problem(&target.referenced, message);
            continue;
        };
        pending.push(PendingImport {
            file: cx.file.to_path_buf(),
            line: yaml::line(&target.referenced).or(cx.line),
            entry: cx.id.to_string(),
            alias: alias.value.clone(),
            target: id.to_string(),
        });
        imports.insert(alias.value.clone(), id.to_string());
    }
    imports
}
