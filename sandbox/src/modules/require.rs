//! `require`, `print`, `os` and `collectgarbage`: the base pieces the sandbox gives scripts.
//!
//! `require(name)` resolves only what the calling entry grants (`lua-api.md`, "Conventions"): a built-in
//! module listed in its `modules:`, or an alias in its `imports:` naming a `library.lua` entry. Anything else
//! is an error naming the module and the entry. No file is ever read at run time.
//!
//! Grants are least privilege: a library's code gets its own `require`, which resolves against the
//! library entry's `modules:` and `imports:` and nothing else. So a library that needs `time` grants itself
//! `time` (its importers need not), and an importer's grants never reach the library's code.

use std::sync::PoisonError;

use corral_core::app::Entry;
use mlua::{Lua, Table, Value};

use crate::procs::current_or_raise;

/// The built-in modules `require` can grant.
pub const BUILTIN: [&str; 3] = ["time", "security", "ctx"];

fn builtin(lua: &Lua, name: &str) -> mlua::Result<Table> {
    let key = format!("corral.module.{name}");
    if let Some(t) = lua.named_registry_value::<Option<Table>>(&key)? {
        return Ok(t);
    }
    let t = match name {
        "time" => crate::modules::time::create(lua)?,
        "security" => crate::modules::security::create(lua)?,
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
        if BUILTIN.contains(&name.as_str()) {
            return builtin(lua, &name).map(Value::Table);
        }
        return Err(mlua::Error::runtime(format!(
            "module `{name}` does not exist (built-in modules: time, security, ctx)"
        )));
    }
    let Some(library) = entry.imports.get(&name) else {
        return Err(mlua::Error::runtime(format!("module `{name}` is not granted to entry `{}`", entry.id)));
    };
    // Keyed by the library's id: two aliases of one library share its instance within a process.
    if let Some(loaded) = ctx.loaded.lock().unwrap_or_else(PoisonError::into_inner).get(library) {
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
    let value: Value = vm.load_entry(library, env)?.call(())?;
    ctx.loaded.lock().unwrap_or_else(PoisonError::into_inner).insert(library.id.clone(), value.clone());
    Ok(value)
}

fn print(lua: &Lua, args: mlua::Variadic<Value>) -> mlua::Result<()> {
    let mut line = String::new();
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            line.push('\t');
        }
        line.push_str(&v.to_string().unwrap_or_else(|_| format!("<{}>", v.type_name())));
    }
    let pid = crate::procs::current(lua).map(|c| c.process.pid().to_string()).unwrap_or_default();
    tracing::info!(target: "corral::script", %pid, "{line}");
    Ok(())
}

/// Installs `require`, `print`, `os` (time and clock only), `collectgarbage("count")` (the KiB the calling
/// process holds, `interrupt::held_by`: never the VM's total, which would show its neighbours'), and in `wippy` mode
/// the reference system's `string(x)` cast.
pub fn register(lua: &Lua, wippy: bool) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.set("require", lua.create_function(require)?)?;
    globals.set("print", lua.create_function(print)?)?;
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
    if wippy {
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
