//! Converting between Lua values and the runtime's [`corral_core::Value`].
//!
//! Payloads and arguments are copied (`lua-api.md`, "Conventions"): nil, booleans, numbers, strings and tables
//! of those. A function, userdata, thread, a cycle or a key that is not a string, number or boolean is
//! `INVALID`, naming the offending path (`payload[2].name`). Nesting beyond [`HARD_DEPTH`] is refused here
//! before the host's own bound is applied by the runtime.

use std::collections::HashSet;
use std::sync::Arc;

use corral_core::value::{Table as CoreTable, Value as CoreValue};
use mlua::{Lua, Value};

use crate::modules::errors::LuaError;

/// No value deeper than this is even walked, whatever the host allows: a guard for the converter's stack.
pub const HARD_DEPTH: usize = 256;

/// Converts a Lua value; `what` names it in errors (e.g. `payload`, `argument 2`).
pub fn from_lua(value: &Value, what: &str) -> Result<CoreValue, LuaError> {
    let mut path = Vec::new();
    let mut seen = HashSet::new();
    convert(value, what, &mut path, &mut seen)
}

/// Converts several values, naming them `what[1]`, `what[2]`, ...
pub fn from_lua_multi<'a>(values: impl IntoIterator<Item = &'a Value>, what: &str) -> Result<Vec<CoreValue>, LuaError> {
    values.into_iter().enumerate().map(|(i, v)| from_lua(v, &format!("{what}[{}]", i + 1))).collect()
}

fn convert(
    value: &Value,
    what: &str,
    path: &mut Vec<String>,
    seen: &mut HashSet<usize>,
) -> Result<CoreValue, LuaError> {
    let bad = |path: &[String], why: &str| LuaError::invalid(format!("{}{}: {why}", what, path.concat()));
    Ok(match value {
        Value::Nil => CoreValue::Nil,
        Value::Boolean(b) => CoreValue::Bool(*b),
        Value::Integer(n) => CoreValue::Num(*n as f64),
        Value::Number(n) => CoreValue::Num(*n),
        Value::String(s) => CoreValue::Str(Arc::from(&*s.as_bytes())),
        Value::Table(table) => {
            if path.len() >= HARD_DEPTH {
                return Err(LuaError::new(
                    corral_core::ErrorKind::LimitExceeded,
                    format!("{}{}: nested deeper than {HARD_DEPTH}", what, path.concat()),
                ));
            }
            let id = table.to_pointer() as usize;
            if !seen.insert(id) {
                return Err(bad(path, "a table that contains itself (a cycle) cannot be copied"));
            }
            let mut out = CoreTable::default();
            let len = table.raw_len();
            for i in 1..=len {
                let item: Value = table.raw_get(i).map_err(|e| bad(path, &e.to_string()))?;
                path.push(format!("[{i}]"));
                out.array.push(convert(&item, what, path, seen)?);
                path.pop();
            }
            for pair in table.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| bad(path, &e.to_string()))?;
                if let Value::Integer(i) = k
                    && i >= 1
                    && (i as usize) <= len
                {
                    continue;
                }
                if let Value::Number(n) = k
                    && n.fract() == 0.0
                    && n >= 1.0
                    && (n as usize) <= len
                {
                    continue;
                }
                let step = match &k {
                    Value::String(s) => format!(".{}", s.to_string_lossy()),
                    Value::Integer(_) | Value::Number(_) | Value::Boolean(_) => format!("[{}]", key_text(&k)),
                    other => return Err(bad(path, &format!("a {} key cannot be copied", other.type_name()))),
                };
                path.push(step);
                let key = convert(&k, what, path, seen)?;
                let val = convert(&v, what, path, seen)?;
                path.pop();
                out.map.push((key, val));
            }
            seen.remove(&id);
            CoreValue::Table(Arc::new(out))
        }
        other => return Err(bad(path, &format!("a {} cannot be copied between processes", other.type_name()))),
    })
}

fn key_text(k: &Value) -> String {
    match k {
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Builds a fresh Lua value (tables are new tables: the receiver never aliases the sender's).
pub fn to_lua(lua: &Lua, value: &CoreValue) -> mlua::Result<Value> {
    Ok(match value {
        CoreValue::Nil => Value::Nil,
        CoreValue::Bool(b) => Value::Boolean(*b),
        CoreValue::Num(n) => Value::Number(*n),
        CoreValue::Str(bytes) => Value::String(lua.create_string(&**bytes)?),
        CoreValue::Table(table) => {
            let t = lua.create_table_with_capacity(table.array.len(), table.map.len())?;
            for (i, v) in table.array.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, v)?)?;
            }
            for (k, v) in &table.map {
                t.raw_set(to_lua(lua, k)?, to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

/// A payload as scripts see it: one value as itself, none as nil, several as an array.
pub fn payload_to_lua(lua: &Lua, payload: &[CoreValue]) -> mlua::Result<Value> {
    match payload {
        [] => Ok(Value::Nil),
        [one] => to_lua(lua, one),
        many => {
            let t = lua.create_table_with_capacity(many.len(), 0)?;
            for (i, v) in many.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, v)?)?;
            }
            Ok(Value::Table(t))
        }
    }
}
