//! `require`, `print`, `os` and `collectgarbage`: the base pieces the sandbox gives scripts.
//!
//! `require(name)` resolves only what the calling entry grants (`lua-api.md`, "Conventions"): a built-in
//! module listed in its `modules:`, or an alias in its `imports:` naming a `library.lua` entry. Anything else
//! is an error naming the module and the entry. No file is ever read at run time.
//!
//! Grants are least privilege: a library's code gets its own `require`, which resolves against the
//! library entry's `modules:` and `imports:` and nothing else. So a library that needs `time` grants itself
//! `time` (its importers need not), and an importer's grants never reach the library's code.

use std::sync::{Arc, Mutex, PoisonError};

use corral_core::app::Entry;
use mlua::{Lua, Table, Value};

use crate::procs::{PrintBudget, current_or_raise};

/// The built-in modules `require` can grant.
pub const BUILTIN: [&str; 5] = ["time", "security", "ctx", "server", "supervisor"];

/// The reference system's modules `require` can grant only with `[compat] wippy = true` (Corral's own API
/// stays `lua-api.md`): `json`, `uuid` and `payload` (also a global in that mode, as in the reference), `funcs`
/// and `events`.
pub const COMPAT_BUILTIN: [&str; 5] = ["json", "uuid", "payload", "funcs", "events"];

/// Whether `name` is a module `require` can grant in this mode.
pub fn is_builtin(name: &str, wippy: bool) -> bool {
    BUILTIN.contains(&name) || (wippy && COMPAT_BUILTIN.contains(&name))
}

/// The modules `require` can grant in this mode, for messages.
pub fn builtin_names(wippy: bool) -> String {
    let mut names: Vec<&str> = BUILTIN.to_vec();
    if wippy {
        names.extend(COMPAT_BUILTIN);
    }
    names.join(", ")
}

/// Whether the VM runs the reference system's dialect (set once by [`register`]).
struct Wippy(bool);

/// Whether `lua` (a VM) runs the reference system's dialect: one app-data read, no process lookup.
pub(crate) fn is_wippy(lua: &Lua) -> bool {
    lua.app_data_ref::<Wippy>().is_some_and(|w| w.0)
}

fn builtin(lua: &Lua, name: &str) -> mlua::Result<Table> {
    let key = format!("corral.module.{name}");
    if let Some(t) = lua.named_registry_value::<Option<Table>>(&key)? {
        return Ok(t);
    }
    let t = match name {
        "time" => crate::modules::time::create(lua)?,
        "security" => crate::modules::security::create(lua)?,
        "server" => crate::modules::server::create(lua)?,
        "supervisor" => crate::modules::supervisor::create(lua)?,
        "json" => crate::modules::json::create(lua)?,
        "uuid" => crate::modules::uuid::create(lua)?,
        "payload" => crate::modules::payload::create(lua)?,
        "funcs" => crate::modules::funcs::create(lua)?,
        "events" => crate::modules::events::create(lua)?,
        _ => crate::modules::security::create_ctx(lua)?,
    };
    t.set_readonly(true);
    lua.set_named_registry_value(&key, t.clone())?;
    Ok(t)
}

/// The global `require`: resolves against the entry the process runs.
fn require(lua: &Lua, name: String) -> mlua::Result<Value> {
    let ctx = current_or_raise(lua)?;
    let entry = ctx.entry.clone();
    resolve(lua, &ctx, &entry, name)
}

/// The `require` of a library's code: resolves against the library entry `library` (an id of the app).
fn require_in(lua: &Lua, library: &str, name: String) -> mlua::Result<Value> {
    let ctx = current_or_raise(lua)?;
    let app = ctx.runtime.app().clone();
    let entry =
        app.entries.get(library).ok_or_else(|| mlua::Error::runtime(format!("library `{library}` does not exist")))?;
    resolve(lua, &ctx, entry, name)
}

/// `name` as `entry` grants it: a built-in module of its `modules:`, or the value of the library its
/// `imports:` alias names (run once per process, in an env whose `require` is the library's own).
fn resolve(lua: &Lua, ctx: &crate::procs::ProcCtx, entry: &Entry, name: String) -> mlua::Result<Value> {
    if entry.modules.iter().any(|m| m == &name) {
        let wippy = lua.app_data_ref::<Wippy>().is_some_and(|w| w.0);
        if is_builtin(&name, wippy) {
            return builtin(lua, &name).map(Value::Table);
        }
        return Err(mlua::Error::runtime(format!(
            "module `{name}` does not exist (built-in modules: {})",
            builtin_names(wippy)
        )));
    }
    let Some(library) = entry.imports.get(&name) else {
        return Err(mlua::Error::runtime(format!("module `{name}` is not granted to entry `{}`", entry.id)));
    };
    // Keyed by the library's id: two aliases of one library share its instance within a process.
    if let Some(loaded) = ctx.loaded().lock().unwrap_or_else(PoisonError::into_inner).get(library) {
        return Ok(loaded.clone());
    }
    let app = ctx.runtime.app();
    let library = app
        .entries
        .get(library)
        .ok_or_else(|| mlua::Error::runtime(format!("library `{library}` of module `{name}` does not exist")))?;
    let vm = lua.app_data_ref::<crate::VmRef>().map(|v| v.0.clone()).ok_or_else(|| mlua::Error::runtime("no vm"))?;
    let vm = vm.upgrade().ok_or_else(|| mlua::Error::runtime("the vm is gone"))?;
    let env = vm.new_env()?;
    let id = library.id.clone();
    env.raw_set("require", lua.create_function(move |lua, name: String| require_in(lua, &id, name))?)?;
    let value: Value = vm.load_entry(library, env)?.0.call(())?;
    ctx.loaded().lock().unwrap_or_else(PoisonError::into_inner).insert(library.id.clone(), value.clone());
    Ok(value)
}

/// The longest `print` line, in bytes (4 KiB); a longer one is cut (at a character boundary) and ends
/// with `…`.
pub const PRINT_LINE_BYTES: usize = 4096;

/// `print(...)`: the arguments, tab-separated, as one `corral::script` log line with the caller's PID. The
/// line is built only up to [`PRINT_LINE_BYTES`] (a huge string is never copied whole), and each process's
/// lines are rate-limited ([`crate::procs::PrintBudget`]); a call from a thread of no process (a script's own
/// coroutine) shares its VM's budget, `fallback`.
fn print(lua: &Lua, args: mlua::Variadic<Value>, fallback: &Mutex<PrintBudget>) -> mlua::Result<()> {
    let ctx = crate::procs::current(lua).ok();
    let budget = ctx.as_ref().map_or(fallback, |c| c.print());
    let Some(dropped) = budget.lock().unwrap_or_else(PoisonError::into_inner).take() else {
        return Ok(());
    };
    let pid = ctx.as_ref().map(|c| c.process.pid().to_string()).unwrap_or_default();
    if dropped > 0 {
        tracing::info!(target: "corral::script", %pid, "{dropped} lines dropped");
    }
    let mut line = String::new();
    let mut cut = false;
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            cut |= !push_bounded(&mut line, "\t");
        }
        cut |= !match v {
            Value::String(s) => push_bounded(&mut line, &String::from_utf8_lossy(&bounded_prefix(&s.as_bytes()))),
            v => push_bounded(&mut line, &v.to_string().unwrap_or_else(|_| format!("<{}>", v.type_name()))),
        };
        if cut {
            line.push('…');
            break;
        }
    }
    tracing::info!(target: "corral::script", %pid, "{line}");
    Ok(())
}

/// At most [`PRINT_LINE_BYTES`] + 3 bytes of a Lua string's bytes (enough to fill a line and to know it
/// was cut, without copying the rest).
fn bounded_prefix(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().take(PRINT_LINE_BYTES + 4).copied().collect()
}

/// Appends as much of `text` as fits in [`PRINT_LINE_BYTES`], cut at a character boundary; `false` when
/// some of it did not fit.
fn push_bounded(line: &mut String, text: &str) -> bool {
    let room = PRINT_LINE_BYTES.saturating_sub(line.len());
    if text.len() <= room {
        line.push_str(text);
        return true;
    }
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    line.push_str(&text[..end]);
    false
}

/// The `assert` scripts see: Lua 5.4's, which raises its message whatever its type.
const ASSERT: &str = r##"
local error, select = error, select
return function(v, ...)
    if v then
        return v, ...
    end
    if select("#", ...) == 0 or (...) == nil then
        error("assertion failed!", 2)
    end
    error((...), 0)
end
"##;

/// The string functions that take an error object where a string is expected, in the reference dialect.
const STRING_FUNCTIONS: [&str; 11] =
    ["find", "match", "gmatch", "gsub", "sub", "len", "lower", "upper", "byte", "rep", "split"];

/// In the reference dialect an error value works where a string is expected: `string.find(err, "not
/// found")`. Each function of [`STRING_FUNCTIONS`] is wrapped so that an error object as its first argument
/// is its message; anything else passes through unchanged.
fn errors_as_strings(lua: &Lua) -> mlua::Result<()> {
    let string: Table = lua.globals().get("string")?;
    for name in STRING_FUNCTIONS {
        let Ok(original) = string.get::<mlua::Function>(name) else { continue };
        let wrapped = lua.create_function(move |lua, mut args: mlua::MultiValue| {
            if let Some(Value::UserData(ud)) = args.front()
                && let Ok(err) = ud.borrow::<crate::modules::errors::LuaError>()
            {
                let message = lua.create_string(&err.message)?;
                drop(err);
                args.pop_front();
                args.push_front(Value::String(message));
            }
            original.call::<mlua::MultiValue>(args)
        })?;
        string.set(name, wrapped)?;
    }
    Ok(())
}

/// Installs `require`, `print`, `os` (time and clock only), `collectgarbage("count")` (the KiB the calling
/// process holds, `interrupt::held_by`: never the VM's total, which would show its neighbours'), and in `wippy` mode
/// the reference system's `string(x)` cast.
pub fn register(lua: &Lua, wippy: bool) -> mlua::Result<()> {
    let globals = lua.globals();
    lua.set_app_data(Wippy(wippy));
    globals.set("require", lua.create_function(require)?)?;
    let fallback = Arc::new(Mutex::new(PrintBudget::default()));
    globals.set("print", lua.create_function(move |lua, args| print(lua, args, &fallback))?)?;
    let os = lua.create_table()?;
    os.set(
        "time",
        lua.create_function(|_, ()| {
            Ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
        })?,
    )?;
    let started = std::time::Instant::now();
    os.set("clock", lua.create_function(move |_, ()| Ok(started.elapsed().as_secs_f64()))?)?;
    globals.set("os", os)?;
    globals.set(
        "collectgarbage",
        lua.create_function(|lua, option: Option<String>| match option.as_deref() {
            Some("count") => {
                let own = crate::interrupt::held_by(lua, &lua.current_thread());
                Ok(own.unwrap_or(0) as f64 / 1024.0)
            }
            other => Err(mlua::Error::runtime(format!(
                "collectgarbage(\"{}\") is not allowed: only \"count\"",
                other.unwrap_or("collect")
            ))),
        })?,
    )?;
    // `assert(v, message, ...)` raises `message` as it is, an error object included (Luau's needs a string, so
    // `assert(process.spawn(...))` hid the real error behind "string expected, got userdata").
    let assert: mlua::Function = crate::vm::load_builtin(lua, "=assert", ASSERT)?.call(())?;
    globals.set("assert", assert)?;
    if wippy {
        // The reference's `payload` is a global ("no require needed"); pure, so no grant is needed either.
        globals.set("payload", builtin(lua, "payload")?)?;
        errors_as_strings(lua)?;
        let string: Table = globals.get("string")?;
        let meta = lua.create_table()?;
        meta.set(
            "__call",
            lua.create_function(|lua, (_, x): (Value, Value)| {
                Ok(match x {
                    Value::Nil => Value::Nil,
                    Value::String(s) => Value::String(s),
                    other => Value::String(lua.create_string(other.to_string()?)?),
                })
            })?,
        )?;
        string.set_metatable(Some(meta))?;
    }
    Ok(())
}
