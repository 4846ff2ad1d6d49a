//! Unpacking a deployed app's archive: tenant input, so every bound is checked while reading.
//!
//! The body of `PUT /v1/apps/{name}` is a tar or a gzipped tar (told apart by the gzip magic bytes `1f 8b`,
//! whatever the `Content-Type`, `spec/node.md`). Only regular files and folders are accepted; an entry with an
//! absolute path, a `..` or any other non-plain component, a link (symbolic or hard), a device or a FIFO, more
//! entries than [`Limits::max_entries`] or more unpacked bytes than [`Limits::max_unpacked_bytes`] is refused
//! with an [`ArchiveError`] naming the entry. Nothing is written outside the staging folder, and a refused
//! archive leaves only that folder behind (the caller removes it).

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// The bounds of one archive (`[node]` settings `max_archive_size`, `max_unpacked_size`, `max_archive_entries`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of the request body, compressed or not (default 16 MiB): over it is `413`.
    pub max_archive_bytes: u64,
    /// The most bytes of all files once unpacked (default 64 MiB).
    pub max_unpacked_bytes: u64,
    /// The most entries (files and folders, default 4096).
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_archive_bytes: 16 << 20, max_unpacked_bytes: 64 << 20, max_entries: 4096 }
    }
}

/// Why an archive was refused: the entry (its path as written in the archive, or `archive` for the whole)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("archive entry `{entry}`: {message}")]
pub struct ArchiveError {
    /// The entry's path as the archive names it, or `archive` when the archive itself is unreadable.
    pub entry: String,
    /// What is wrong: lowercase, no final period.
    pub message: String,
}

impl ArchiveError {
    fn new(entry: impl Into<String>, message: impl Into<String>) -> ArchiveError {
        ArchiveError { entry: entry.into(), message: message.into() }
    }
}

/// Whether `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Unpacks `bytes` (tar or gzipped tar) into `into`, which must exist and be empty. Returns the number of
/// regular files written. Errors: the first entry that breaks a rule or a bound, or an unreadable archive.
pub fn unpack(bytes: &[u8], into: &Path, limits: Limits) -> Result<usize, ArchiveError> {
    // The decompressed stream is capped one byte past the bound (the tar headers count against it too), so a
    // gzip bomb stops being inflated as soon as it passes the bound.
    let cap = limits.max_unpacked_bytes.saturating_add(limits.max_entries as u64 * 1024).saturating_add(1);
    if is_gzip(bytes) {
        let reader = flate2::read::GzDecoder::new(bytes).take(cap);
        unpack_tar(reader, into, limits)
    } else {
        unpack_tar(bytes.take(cap), into, limits)
    }
}

fn unpack_tar(reader: impl Read, into: &Path, limits: Limits) -> Result<usize, ArchiveError> {
    let unreadable = |e: io::Error| ArchiveError::new("archive", format!("not a readable tar archive: {e}"));
    let mut archive = tar::Archive::new(reader);
    let mut entries = 0usize;
    let mut files = 0usize;
    let mut total = 0u64;
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        entries += 1;
        if entries > limits.max_entries {
            return Err(ArchiveError::new(name, format!("over the bound of {} entries", limits.max_entries)));
        }
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            // A pax global header (`git archive` writes one) carries metadata, not a file.
            continue;
        }
        let relative = plain_path(&name)?;
        let target = into.join(&relative);
        if relative.as_os_str().is_empty() && !kind.is_dir() {
            return Err(ArchiveError::new(name, "an entry with an empty path is not accepted"));
        }
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| ArchiveError::new(&name, format!("cannot create: {e}")))?;
            continue;
        }
        if !kind.is_file() {
            return Err(ArchiveError::new(
                name,
                format!("only files and folders are accepted, not {}", kind_name(kind)),
            ));
        }
        let size = entry.header().size().map_err(|e| ArchiveError::new(&name, format!("bad size: {e}")))?;
        total = total.saturating_add(size);
        if total > limits.max_unpacked_bytes {
            return Err(ArchiveError::new(
                name,
                format!("the files pass the bound of {} unpacked bytes", limits.max_unpacked_bytes),
            ));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ArchiveError::new(&name, format!("cannot create: {e}")))?;
        }
        let write = |e: io::Error| ArchiveError::new(&name, format!("cannot unpack: {e}"));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&target).map_err(write)?;
        // At most the header's size is copied: a lying header cannot make the file bigger.
        io::copy(&mut (&mut entry).take(size), &mut file).map_err(write)?;
        files += 1;
    }
    Ok(files)
}

/// `name` as a relative path of plain components (empty for `./`). Errors: absolute, or holding `..` or a
/// prefix.
fn plain_path(name: &str) -> Result<PathBuf, ArchiveError> {
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(ArchiveError::new(name, "a path with `..` is not accepted")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(ArchiveError::new(name, "an absolute path is not accepted"));
            }
        }
    }
    Ok(out)
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        tar::EntryType::Fifo => "a fifo",
        _ => "this entry type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("corral-archive-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A tar whose one entry has a raw `name` (the tar crate's builder refuses `..`, so the header is
    /// written by hand).
    fn raw_tar(name: &str, kind: tar::EntryType, body: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_entry_type(kind);
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
        out
    }

    #[test]
    fn plain_files_unpack_and_gzip_is_told_apart() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, "lua/main.lua", &b"hello"[..]).unwrap();
        let plain = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &plain).unwrap();
        let gz = gz.finish().unwrap();
        assert!(is_gzip(&gz) && !is_gzip(&plain));
        for (i, bytes) in [plain, gz].iter().enumerate() {
            let dir = temp(&format!("plain{i}"));
            assert_eq!(unpack(bytes, &dir, Limits::default()), Ok(1));
            assert_eq!(std::fs::read(dir.join("lua/main.lua")).unwrap(), b"hello");
        }
    }

    #[test]
    fn hostile_entries_are_named() {
        let cases = [
            ("../escape.lua", tar::EntryType::Regular, "`..`"),
            ("a/../../escape.lua", tar::EntryType::Regular, "`..`"),
            ("/etc/passwd", tar::EntryType::Regular, "absolute"),
            ("link", tar::EntryType::Symlink, "symbolic link"),
            ("hard", tar::EntryType::Link, "hard link"),
            ("dev", tar::EntryType::Char, "device"),
            ("pipe", tar::EntryType::Fifo, "fifo"),
        ];
        for (name, kind, says) in cases {
            let dir = temp("hostile");
            let err = unpack(&raw_tar(name, kind, b""), &dir, Limits::default()).unwrap_err();
            assert_eq!(err.entry, name);
            assert!(err.message.contains(says), "{name}: {}", err.message);
            assert!(!dir.parent().unwrap().join("escape.lua").exists());
        }
    }

    #[test]
    fn a_pax_global_header_is_metadata_not_a_file() {
        let dir = temp("pax");
        let archive = raw_tar("pax_global_header", tar::EntryType::XGlobalHeader, b"52 comment=0123\n");
        assert_eq!(unpack(&archive, &dir, Limits::default()), Ok(0));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn bounds_name_the_entry_that_passes_them() {
        let dir = temp("big");
        let limits = Limits { max_unpacked_bytes: 10, ..Limits::default() };
        let err = unpack(&raw_tar("big.lua", tar::EntryType::Regular, &[b'x'; 11]), &dir, limits).unwrap_err();
        assert_eq!(err.entry, "big.lua");
        let mut builder = tar::Builder::new(Vec::new());
        for i in 0..3 {
            let mut header = tar::Header::new_gnu();
            header.set_size(0);
            header.set_cksum();
            builder.append_data(&mut header, format!("f{i}"), &b""[..]).unwrap();
        }
        let dir = temp("many");
        let err = unpack(&builder.into_inner().unwrap(), &dir, Limits { max_entries: 2, ..Limits::default() });
        assert_eq!(err.unwrap_err().entry, "f2");
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_bound() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        io::Write::write_all(&mut gz, &raw_tar("bomb", tar::EntryType::Regular, &vec![0u8; 8 << 20])).unwrap();
        let dir = temp("bomb");
        let limits = Limits { max_unpacked_bytes: 1 << 20, ..Limits::default() };
        assert_eq!(unpack(&gz.finish().unwrap(), &dir, limits).unwrap_err().entry, "bomb");
    }
}
