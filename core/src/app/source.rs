//! Finding manifests, and resolving and reading the Luau sources they name.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::app::error::Problems;

/// The manifest file name looked for at every depth of an app.
pub(crate) const MANIFEST: &str = "_index.yaml";

/// Every `_index.yaml` under `root`, in a sorted depth-first walk (a folder's manifest before
/// its subfolders'). Hidden folders (`.git`...) are skipped and symbolic links to folders are not
/// followed, so a walk always ends. Unreadable folders are problems.
pub(crate) fn manifests(root: &Path, problems: &mut Problems) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(root, &mut found, problems);
    found
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>, problems: &mut Problems) {
    let listing = match fs::read_dir(dir).and_then(|rd| rd.collect::<io::Result<Vec<_>>>()) {
        Ok(listing) => listing,
        Err(err) => return problems.push(dir, None, format!("cannot read folder: {err}")),
    };
    let mut subdirs = Vec::new();
    for entry in listing {
        let path = entry.path();
        let name = entry.file_name();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !name.to_string_lossy().starts_with('.') {
            subdirs.push(path);
        } else if name == MANIFEST {
            match regular_file(&path) {
                Ok(()) => found.push(path),
                Err(what) => problems.push(&path, None, what),
            }
        }
    }
    subdirs.sort();
    for sub in subdirs {
        walk(&sub, found, problems);
    }
}

/// Resolves a `source:` value (`file://path`, relative to the manifest's folder `dir`, which
/// lies under `root`) and reads the file as UTF-8.
///
/// Returns the file's path (under `root`, `.` and `..` resolved) and its text, or a message
/// naming entry `id`. A path that is absolute, leaves the app folder through `..` or through a
/// symbolic link, is missing, unreadable or not UTF-8 is an error: an app is sealed in its folder.
pub(crate) fn read_source(root: &Path, dir: &Path, id: &str, value: &str) -> Result<(PathBuf, Arc<str>), String> {
    let Some(relative) = value.strip_prefix("file://") else {
        return Err(format!("source `{value}` of entry `{id}` must be a `file://` path"));
    };
    let escapes = || format!("source `{value}` of entry `{id}` leaves the app folder");
    let base = dir.strip_prefix(root).unwrap_or(Path::new(""));
    let inside = normalize(&base.join(relative)).ok_or_else(escapes)?;
    if inside.as_os_str().is_empty() {
        return Err(format!("source `{value}` of entry `{id}` names no file"));
    }
    let path = root.join(&inside);
    // INVARIANT: a symbolic link must not lead a source outside the app folder either.
    if let (Ok(real_root), Ok(real)) = (fs::canonicalize(root), fs::canonicalize(&path))
        && !real.starts_with(&real_root)
    {
        return Err(escapes());
    }
    if let Err(what) = regular_file(&path) {
        return Err(format!("source `{}` of entry `{id}` {what}", path.display()));
    }
    let bytes = fs::read(&path).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => {
            format!("source file `{}` of entry `{id}` does not exist", path.display())
        }
        _ => format!("cannot read source `{}` of entry `{id}`: {err}", path.display()),
    })?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("source `{}` of entry `{id}` is not UTF-8", path.display()))?;
    Ok((path, Arc::from(text)))
}

/// Whether `path` (following links) is a regular file, checked before it is opened: opening a FIFO waits for
/// a writer, and reading a device may never end. `Err` says what it is instead (`is a FIFO, not a regular
/// file`); a path that does not exist is `Ok` (the read that follows says so).
pub(crate) fn regular_file(path: &Path) -> Result<(), String> {
    let Ok(meta) = fs::metadata(path) else { return Ok(()) };
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() { "a folder" } else { special(&kind) };
    Err(format!("is {what}, not a regular file"))
}

/// What a file that is neither a regular file nor a folder is.
#[cfg(unix)]
fn special(kind: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

/// What a file that is neither a regular file nor a folder is.
#[cfg(not(unix))]
fn special(_kind: &fs::FileType) -> &'static str {
    "a special file"
}

/// `path` with `.` and `..` resolved lexically; `None` when it is absolute or climbs above its
/// start.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}
