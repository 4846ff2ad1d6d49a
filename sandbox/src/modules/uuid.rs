//! The reference system's `uuid` module (`[compat] wippy = true` only), on the `uuid` crate: `v1`, `v3`,
//! `v4`, `v5`, `v7`, `validate`, `version`, `variant`, `parse` and `format`. Every function returns its
//! result or `nil, err` (`INVALID` for a bad argument), except `validate`, which returns a boolean.
//!
//! Pure: no permission is needed. Inputs are bounded: a UUID argument longer than 64 bytes is `INVALID`
//! without being read, and a `v3` / `v5` name is hashed where it lies (no copy).

use mlua::{Lua, MultiValue, Table, Value};
use uuid::{Uuid, Variant};

use crate::modules::errors::{LuaError, fail, ret};

/// The longest text taken as a UUID (the URN form is 45 bytes).
const MAX_UUID_TEXT: usize = 64;

/// The `uuid` module table.
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set("v1", lua.create_function(|lua, ()| text(lua, Uuid::now_v1(&node_id())))?)?;
    m.set("v4", lua.create_function(|lua, ()| text(lua, Uuid::new_v4()))?)?;
    m.set("v7", lua.create_function(|lua, ()| text(lua, Uuid::now_v7()))?)?;
    m.set("v3", lua.create_function(|lua, (ns, name): (Value, Value)| named(lua, &ns, &name, Uuid::new_v3))?)?;
    m.set("v5", lua.create_function(|lua, (ns, name): (Value, Value)| named(lua, &ns, &name, Uuid::new_v5))?)?;
    m.set("validate", lua.create_function(|_, input: Value| Ok(parse_arg(&input).is_ok()))?)?;
    m.set(
        "version",
        lua.create_function(|lua, id: Value| ret(lua, parse_arg(&id).map(|u| u.get_version_num() as f64)))?,
    )?;
    m.set("variant", lua.create_function(|lua, id: Value| ret(lua, parse_arg(&id).map(|u| variant(&u))))?)?;
    m.set(
        "parse",
        lua.create_function(|lua, id: Value| match parse_arg(&id) {
            Ok(u) => {
                let info = lua.create_table()?;
                info.set("version", u.get_version_num() as f64)?;
                info.set("variant", variant(&u))?;
                if let Some(ts) = u.get_timestamp() {
                    let (secs, _) = ts.to_unix();
                    info.set("timestamp", secs as f64)?;
                }
                if u.get_version_num() == 1 {
                    let node: String = u.as_bytes()[10..].iter().map(|b| format!("{b:02x}")).collect();
                    info.set("node", node)?;
                }
                ret(lua, Ok::<_, LuaError>(info))
            }
            Err(e) => fail(lua, e),
        })?,
    )?;
    m.set(
        "format",
        lua.create_function(|lua, (id, form): (Value, Option<String>)| {
            let result = parse_arg(&id).and_then(|u| match form.as_deref().unwrap_or("standard") {
                "standard" => Ok(u.hyphenated().to_string()),
                "simple" => Ok(u.simple().to_string()),
                "urn" => Ok(u.urn().to_string()),
                other => {
                    let shown: String = other.chars().take(32).collect();
                    Err(LuaError::invalid(format!("unsupported uuid format `{shown}`: standard, simple or urn")))
                }
            });
            ret(lua, result)
        })?,
    )?;
    Ok(m)
}

fn text(lua: &Lua, id: Uuid) -> mlua::Result<MultiValue> {
    ret(lua, Ok::<_, LuaError>(id.hyphenated().to_string()))
}

/// A random node id for `v1`, with the multicast bit set as RFC 9562 asks of ids that are not a MAC address.
fn node_id() -> [u8; 6] {
    let mut node = *Uuid::new_v4().as_bytes().first_chunk::<6>().unwrap_or(&[0; 6]);
    node[0] |= 0x01;
    node
}

fn named(lua: &Lua, ns: &Value, name: &Value, make: fn(&Uuid, &[u8]) -> Uuid) -> mlua::Result<MultiValue> {
    let namespace = match parse_arg(ns) {
        Ok(u) => u,
        Err(e) => return fail(lua, LuaError::invalid(format!("namespace: {}", e.message))),
    };
    let Value::String(name) = name else {
        return fail(lua, LuaError::invalid(format!("name: expected a string, got {}", name.type_name())));
    };
    text(lua, make(&namespace, &name.as_bytes()))
}

fn parse_arg(value: &Value) -> Result<Uuid, LuaError> {
    let Value::String(s) = value else {
        return Err(LuaError::invalid(format!("expected a uuid string, got {}", value.type_name())));
    };
    let bytes = s.as_bytes();
    if bytes.len() > MAX_UUID_TEXT {
        return Err(LuaError::invalid(format!("invalid uuid: {} bytes is too long for a uuid", bytes.len())));
    }
    Uuid::try_parse_ascii(&bytes).map_err(|e| LuaError::invalid(format!("invalid uuid: {e}")))
}

fn variant(id: &Uuid) -> &'static str {
    match id.get_variant() {
        Variant::RFC4122 => "RFC4122",
        Variant::NCS => "NCS",
        Variant::Microsoft => "Microsoft",
        Variant::Future => "Future",
        _ => "Invalid",
    }
}
