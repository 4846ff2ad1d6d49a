//! Every Lua module scripts see, and `require`.
//!
//! Globals: `process`, `channel`, `errors`, the base library's safe part, `os.time` and `os.clock`, and
//! `print` (to the runtime's log). Through `require`, and only when the entry grants them: `time`,
//! `security`, `ctx`, `server`, `supervisor`, and the entry's `imports:` (library entries); in the reference
//! dialect (`[compat] wippy = true`) also `json`, `uuid`, `payload` (`payload` is a global there too), `funcs` and `events`. Each module is
//! one file with one `register` (or `create`, for required modules).

pub mod ao;
pub mod builder;
pub mod channel;
pub mod errors;
pub mod events;
pub mod funcs;
pub mod json;
pub mod payload;
pub mod process;
pub mod require;
pub mod security;
pub mod server;
pub mod supervisor;
pub mod time;
pub mod uuid;
pub mod wippy_errors;
pub mod wippy_time;

use mlua::Lua;

/// Installs every module in a new VM, before its globals are sealed.
pub fn register_all(lua: &Lua, wippy: bool) -> mlua::Result<()> {
    errors::register(lua, wippy)?;
    channel::register(lua)?;
    process::register(lua)?;
    require::register(lua, wippy)?;
    Ok(())
}
