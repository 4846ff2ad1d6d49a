//! The reference system's `errors` (`[compat] wippy = true` only; `wippy-compat.md`, "errors").
//!
//! The same [`LuaError`] object Corral's own API uses (`err:kind()`, `err:message()`, `tostring`, `..`),
//! with what the reference documents on top:
//!
//! - the kinds `CONFLICT`, `RATE_LIMITED` and `UNKNOWN` (inside the runtime they count as
//!   `ALREADY_EXISTS`, `LIMIT_EXCEEDED` and `INTERNAL`);
//! - `errors.new("message")` (kind `UNKNOWN`) and `errors.new{message, kind?, retryable?, details?}`;
//! - `errors.wrap(err, context)`: a new error `"context: message"` keeping kind, retryable, details and the
//!   stack of `err`;
//! - `err:retryable()`, `err:details()` (a fresh copy each call), `err:stack()`, `errors.call_stack(err)`.
//!
//! The boundary: a message is at most [`MAX_MESSAGE_BYTES`] (a longer one keeps its start and its end with
//! `…` between, so a wrapped chain keeps the newest context and the first cause); the details are copied
//! like a payload, within [`DETAILS_BOUNDS`]; at most [`MAX_FRAMES`] stack frames are kept. A wrap keeps
//! nothing of the chain but that text, so wrapping an error a million times costs what one error costs, and
//! nothing recurses over a chain. What the host holds for an error is charged to the process that made it,
//! as a ballast of the same size in its Lua heap, so the collector sees it too (`make`).

use std::sync::Arc;

use corral_core::ErrorKind;
use corral_core::value::Value as CoreValue;
use mlua::{Lua, Table, UserDataMethods, Value};

use crate::convert::Bounds;
use corral_core::limits::Charge;

use crate::modules::errors::{LuaError, parse_kind};

/// The longest message an error keeps, in bytes (8 KiB).
pub const MAX_MESSAGE_BYTES: usize = 8192;

/// What `details` may hold: 64 KiB counted as payloads are, nested at most 16 deep.
pub const DETAILS_BOUNDS: Bounds = Bounds { bytes: 64 * 1024, depth: 16 };

/// The most stack frames an error keeps.
pub const MAX_FRAMES: usize = 32;

/// The longest source name or function name of a kept frame, in bytes.
const MAX_NAME_BYTES: usize = 256;

/// The reference's kinds that Corral's own API does not have, with the kind they count as in the runtime.
const EXTRA_KINDS: [(&str, ErrorKind); 3] = [
    ("CONFLICT", ErrorKind::AlreadyExists),
    ("RATE_LIMITED", ErrorKind::LimitExceeded),
    ("UNKNOWN", ErrorKind::Internal),
];

/// One frame of an error's stack: the chunk's short source name, the line, the function's name (`?` when
/// Luau does not know it).
#[derive(Debug)]
pub struct Frame {
    /// The short source name of the chunk.
    pub source: String,
    /// The line, or 0 when unknown.
    pub line: usize,
    /// The function's name, `?` when Luau has none.
    pub name: String,
}

/// What an error of the reference dialect carries beside its kind and message.
#[derive(Debug, Default)]
pub struct Compat {
    /// The kind's name when it is one of the reference's extra kinds (`CONFLICT`, ...).
    pub kind: Option<&'static str>,
    /// `err:retryable()`: set by `errors.new{retryable = ...}`, else `nil`.
    pub retryable: Option<bool>,
    /// `err:details()`: a copy of the table given to `errors.new`.
    pub details: Option<Arc<CoreValue>>,
    /// Where the error was made, innermost first; shared by its wraps.
    pub frames: Arc<Vec<Frame>>,
    /// The PID of the process that made it.
    pub thread: String,
}

fn raise(kind: ErrorKind, message: String) -> mlua::Error {
    mlua::Error::runtime(format!("{}: {message}", kind.as_str()))
}

/// A Lua string's text, at most [`MAX_MESSAGE_BYTES`]: a longer one keeps its first and last halves (cut at
/// character boundaries) with `…` between. Only the kept bytes are read.
pub fn bounded_text(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_MESSAGE_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let half = MAX_MESSAGE_BYTES / 2 - 2;
    let mut end = half;
    while end > 0 && bytes.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    let mut start = bytes.len() - half;
    while start < bytes.len() && bytes.get(start).is_some_and(|b| b & 0xC0 == 0x80) {
        start += 1;
    }
    let head = bytes.get(..end).unwrap_or_default();
    let tail = bytes.get(start..).unwrap_or_default();
    format!("{}…{}", String::from_utf8_lossy(head), String::from_utf8_lossy(tail))
}

fn short(text: &str) -> String {
    bounded_text(text.as_bytes().get(..text.len().min(MAX_NAME_BYTES)).unwrap_or_default())
}

/// The calling script's stack: at most [`MAX_FRAMES`] Lua frames, innermost first.
fn capture(lua: &Lua) -> Vec<Frame> {
    let mut frames = Vec::new();
    // Level 0 is the host function itself; each level is read once, so this is bounded by the stack's depth
    // and by MAX_FRAMES.
    for level in 1..(MAX_FRAMES * 4) {
        let Some(frame) = lua.inspect_stack(level, |debug| {
            let source = debug.source();
            if source.what == "C" {
                return None;
            }
            let name = debug.names().name.map(|n| short(&n)).unwrap_or_else(|| "?".to_string());
            let src = source.short_src.map(|s| short(&s)).unwrap_or_else(|| "?".to_string());
            Some(Frame { source: src, line: debug.current_line().unwrap_or(0), name })
        }) else {
            break;
        };
        if let Some(frame) = frame {
            frames.push(frame);
            if frames.len() == MAX_FRAMES {
                break;
            }
        }
    }
    frames
}

fn frames_bytes(frames: &[Frame]) -> usize {
    frames.iter().map(|f| f.source.len() + f.name.len() + 16).sum()
}

/// The `retryable` of an error the runtime made (not `errors.new`): the reference's table of kinds that are
/// typically retryable and those that are not; `nil` for the others.
fn default_retryable(kind: &str) -> Option<bool> {
    match kind {
        "TIMEOUT" | "UNAVAILABLE" | "RATE_LIMITED" => Some(true),
        "INVALID" | "NOT_FOUND" | "PERMISSION_DENIED" | "ALREADY_EXISTS" => Some(false),
        _ => None,
    }
}

/// A kind name (a core kind or one of the reference's extra kinds): the runtime's kind and, for an extra
/// one, its name.
fn kind_of(name: &[u8]) -> Option<(ErrorKind, Option<&'static str>)> {
    let name = std::str::from_utf8(name).ok()?;
    if let Some(kind) = parse_kind(name) {
        return Some((kind, None));
    }
    EXTRA_KINDS.iter().find(|(n, _)| *n == name).map(|(n, k)| (*k, Some(*n)))
}

fn unknown_kind(name: &[u8]) -> mlua::Error {
    let shown: String = String::from_utf8_lossy(name.get(..name.len().min(64)).unwrap_or_default()).into_owned();
    raise(ErrorKind::Invalid, format!("errors.new: unknown error kind `{shown}`"))
}

struct Parts {
    kind: ErrorKind,
    extra: Option<&'static str>,
    message: String,
    retryable: Option<bool>,
    details: Option<Arc<CoreValue>>,
    frames: Option<Arc<Vec<Frame>>>,
}

/// The error object of `parts`, as a Lua value. What the host holds for it is charged to the process as a
/// ballast string of the same size in the process's Lua heap (the object's user value), so it counts
/// against the memory limit like any Lua value and the collector sees it: a loop making errors (a chain of
/// wraps) has its garbage collected at the pace it is made. (An external `errors::charge` alone would be invisible
/// to the collector, and a million garbage wraps would end the process at its memory limit.)
fn make(lua: &Lua, parts: Parts) -> mlua::Result<Value> {
    let (frames, fresh) = match parts.frames {
        Some(frames) => (frames, 0),
        None => {
            let frames = capture(lua);
            let bytes = frames_bytes(&frames);
            (Arc::new(frames), bytes)
        }
    };
    let thread = crate::procs::current(lua).map(|c| c.process.pid().to_string()).unwrap_or_default();
    let held = parts.message.len() + fresh + thread.len() + parts.details.as_ref().map_or(0, |d| d.size());
    // The Lua string is the charge; the external one would count the same bytes twice.
    let charge = Charge::default();
    let compat = Compat { kind: parts.extra, retryable: parts.retryable, details: parts.details, frames, thread };
    let ud = lua.create_userdata(LuaError::with_compat(parts.kind, parts.message, charge, compat))?;
    ud.set_user_value(lua.create_string(vec![0u8; held])?)?;
    Ok(Value::UserData(ud))
}

/// `errors.new(message)`, `errors.new{message = ..., kind = ..., retryable = ..., details = {...}}`, and
/// Corral's `errors.new(kind, message)` (two strings, the first a kind). Raises `INVALID` for anything else
/// (no message, an unknown kind, a `retryable` that is not a boolean, `details` that is not a table) and
/// `LIMIT_EXCEEDED` for details past [`DETAILS_BOUNDS`].
fn new(lua: &Lua, (first, second): (Value, Value)) -> mlua::Result<Value> {
    let mut parts = Parts {
        kind: ErrorKind::Internal,
        extra: Some("UNKNOWN"),
        message: String::new(),
        retryable: None,
        details: None,
        frames: None,
    };
    match (&first, &second) {
        (Value::String(kind), Value::String(message)) if kind_of(&kind.as_bytes()).is_some() => {
            let (k, extra) = kind_of(&kind.as_bytes()).unwrap_or((ErrorKind::Internal, Some("UNKNOWN")));
            (parts.kind, parts.extra) = (k, extra);
            parts.message = bounded_text(&message.as_bytes());
        }
        (Value::String(message), _) => parts.message = bounded_text(&message.as_bytes()),
        (Value::UserData(ud), _) if ud.is::<LuaError>() => return Ok(first.clone()),
        (Value::Table(t), _) => {
            match t.raw_get::<Value>("message")? {
                Value::String(m) => parts.message = bounded_text(&m.as_bytes()),
                other => {
                    return Err(raise(
                        ErrorKind::Invalid,
                        format!("errors.new: `message` must be a string, got {}", other.type_name()),
                    ));
                }
            }
            match t.raw_get::<Value>("kind")? {
                Value::Nil => {}
                Value::String(k) => {
                    let (kind, extra) = kind_of(&k.as_bytes()).ok_or_else(|| unknown_kind(&k.as_bytes()))?;
                    (parts.kind, parts.extra) = (kind, extra);
                }
                other => {
                    return Err(raise(
                        ErrorKind::Invalid,
                        format!("errors.new: `kind` must be a string, got {}", other.type_name()),
                    ));
                }
            }
            parts.retryable = match t.raw_get::<Value>("retryable")? {
                Value::Nil => None,
                Value::Boolean(b) => Some(b),
                other => {
                    return Err(raise(
                        ErrorKind::Invalid,
                        format!("errors.new: `retryable` must be a boolean, got {}", other.type_name()),
                    ));
                }
            };
            parts.details = match t.raw_get::<Value>("details")? {
                Value::Nil => None,
                details @ Value::Table(_) => {
                    let copied = crate::convert::from_lua(&details, "details", DETAILS_BOUNDS)
                        .map_err(|e| raise(e.kind, format!("errors.new: {}", e.message)))?;
                    Some(Arc::new(copied))
                }
                other => {
                    return Err(raise(
                        ErrorKind::Invalid,
                        format!("errors.new: `details` must be a table, got {}", other.type_name()),
                    ));
                }
            };
        }
        (other, _) => {
            return Err(raise(
                ErrorKind::Invalid,
                format!("errors.new: expected a message or a table with `message`, got {}", other.type_name()),
            ));
        }
    }
    make(lua, parts)
}

/// `errors.wrap(err, context)`: `nil` for a `nil` err; otherwise a new error whose message is
/// `"context: message"` (bounded as [`bounded_text`]) with the kind, retryable, details and stack of `err`
/// (a string `err` is an `UNKNOWN` error with that message). Raises `INVALID` for another type.
fn wrap(lua: &Lua, (err, context): (Value, Value)) -> mlua::Result<Value> {
    let context = match &context {
        Value::String(s) => bounded_text(&s.as_bytes()),
        Value::Nil => String::new(),
        other => {
            return Err(raise(
                ErrorKind::Invalid,
                format!("errors.wrap: the context must be a string, got {}", other.type_name()),
            ));
        }
    };
    let join = |inner: &str| {
        if context.is_empty() { inner.to_string() } else { bounded_text(format!("{context}: {inner}").as_bytes()) }
    };
    let parts = match &err {
        Value::Nil => return Ok(Value::Nil),
        Value::String(s) => Parts {
            kind: ErrorKind::Internal,
            extra: Some("UNKNOWN"),
            message: join(&bounded_text(&s.as_bytes())),
            retryable: None,
            details: None,
            frames: None,
        },
        Value::UserData(ud) if ud.is::<LuaError>() => {
            let inner = ud.borrow::<LuaError>()?;
            let compat = inner.compat.as_ref();
            Parts {
                kind: inner.kind,
                extra: compat.and_then(|c| c.kind),
                message: join(&inner.message),
                retryable: compat.map_or_else(|| default_retryable(inner.kind.as_str()), |c| c.retryable),
                details: compat.and_then(|c| c.details.clone()),
                frames: compat.map(|c| c.frames.clone()),
            }
        }
        other => {
            return Err(raise(
                ErrorKind::Invalid,
                format!("errors.wrap: expected an error or a string, got {}", other.type_name()),
            ));
        }
    };
    make(lua, parts)
}

fn stack_text(frames: &[Frame]) -> String {
    let mut text = String::from("stack traceback:");
    for f in frames {
        text.push_str(&format!("\n\t{}:{}: in function '{}'", f.source, f.line, f.name));
    }
    text
}

/// `errors.call_stack(err)`: `{thread = pid, frames = {{source, line, name}, ...}}`, or `nil` when `err`
/// is not an error or has no stack (an error the runtime made).
fn call_stack(lua: &Lua, err: Value) -> mlua::Result<Value> {
    let Value::UserData(ud) = err else { return Ok(Value::Nil) };
    let Ok(err) = ud.borrow::<LuaError>() else { return Ok(Value::Nil) };
    let Some(compat) = err.compat.as_ref() else { return Ok(Value::Nil) };
    let frames = lua.create_table_with_capacity(compat.frames.len(), 0)?;
    for (i, f) in compat.frames.iter().enumerate() {
        let frame = lua.create_table_with_capacity(0, 3)?;
        frame.raw_set("source", f.source.as_str())?;
        frame.raw_set("line", f.line)?;
        frame.raw_set("name", f.name.as_str())?;
        frames.raw_set(i + 1, frame)?;
    }
    let stack = lua.create_table_with_capacity(0, 2)?;
    stack.raw_set("thread", compat.thread.as_str())?;
    stack.raw_set("frames", frames)?;
    Ok(Value::Table(stack))
}

fn compat_only(lua: &Lua, method: &str) -> mlua::Result<()> {
    if crate::modules::require::is_wippy(lua) {
        return Ok(());
    }
    Err(mlua::Error::runtime(format!(
        "err:{method}() is part of the reference system's dialect ([compat] wippy = true in corral.toml)"
    )))
}

/// The reference dialect's methods of an error object: `retryable`, `details`, `stack` (they raise outside
/// that dialect, where `lua-api.md` has no such methods).
pub fn add_methods<M: UserDataMethods<LuaError>>(methods: &mut M) {
    methods.add_method("retryable", |lua, this, ()| {
        compat_only(lua, "retryable")?;
        Ok(match this.compat.as_ref() {
            Some(c) => c.retryable,
            None => default_retryable(this.kind_name()),
        })
    });
    methods.add_method("details", |lua, this, ()| {
        compat_only(lua, "details")?;
        match this.compat.as_ref().and_then(|c| c.details.as_ref()) {
            Some(details) => crate::convert::to_lua(lua, details),
            None => Ok(Value::Nil),
        }
    });
    methods.add_method("stack", |lua, this, ()| {
        compat_only(lua, "stack")?;
        Ok(this.compat.as_ref().map(|c| stack_text(&c.frames)).unwrap_or_default())
    });
}

/// Adds the reference dialect's part of the `errors` global to `errors`: its extra kinds, `new`, `wrap` and
/// `call_stack` (the caller adds `is`).
pub fn register(lua: &Lua, errors: &Table) -> mlua::Result<()> {
    for (name, _) in EXTRA_KINDS {
        errors.set(name, name)?;
    }
    errors.set("new", lua.create_function(new)?)?;
    errors.set("wrap", lua.create_function(wrap)?)?;
    errors.set("call_stack", lua.create_function(call_stack)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MAX_MESSAGE_BYTES, bounded_text};

    #[test]
    fn a_long_text_keeps_its_start_and_end_within_the_bound() {
        let text = format!("outer: {}inner cause", "é".repeat(MAX_MESSAGE_BYTES));
        let kept = bounded_text(text.as_bytes());
        assert!(kept.len() <= MAX_MESSAGE_BYTES, "{} bytes", kept.len());
        assert!(kept.starts_with("outer: "));
        assert!(kept.ends_with("inner cause"));
        assert!(kept.contains('…'));
        assert!(!kept.contains('\u{FFFD}'), "cut at character boundaries");
        assert_eq!(bounded_text(b"short"), "short");
    }
}
