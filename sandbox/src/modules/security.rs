//! `require("security")`: the current actor and scope, new actors and scopes, and `security.can`
//! (`lua-api.md`, "security and ctx"). Deciding is Rust's: `can` asks the gate.

use std::collections::BTreeMap;
use std::sync::Arc;

use corral_core::limits::{Charge, MAX_SCOPE_NAMES, check_bounded};
use corral_core::value::Value as CoreValue;
use corral_policy::{Actor, AttrValue, Resource};
use mlua::{Lua, Table, UserData, UserDataMethods, Value};

use crate::convert::{Bounds, from_lua, to_lua};
use crate::modules::errors::{LuaError, charge, fail, ret};
use crate::procs::current;

/// An actor value (`security.new_actor`, `security.actor()`), with what its Rust copy costs its maker.
#[derive(Clone)]
pub struct LuaActor(
    pub Arc<Actor>,
    #[allow(dead_code, reason = "held for its Drop, which releases the charge")] Arc<Charge>,
);

/// A scope value: a set of scope names, with what its Rust copy costs its maker.
#[derive(Clone)]
pub struct LuaScope(
    pub Arc<[String]>,
    #[allow(dead_code, reason = "held for its Drop, which releases the charge")] Arc<Charge>,
);

/// The most bytes an actor's meta may take ([`corral_core::Value::size`]); more is `INVALID` (issue 9,
/// class 8: every decision record and cached entity of the actor carries it).
pub const MAX_META_BYTES: usize = 4096;

fn scope(lua: &Lua, names: Vec<String>) -> LuaScope {
    let bytes = names.iter().map(|n| n.len() + 24).sum();
    LuaScope(names.into(), Arc::new(charge(lua, bytes)))
}

/// Scope names from `security.new_scope({...})`: at most [`MAX_SCOPE_NAMES`] strings of at most
/// [`corral_core::limits::MAX_NAME_BYTES`] bytes, checked before anything is copied. Errors: `INVALID` naming the bound.
fn scope_names(names: Option<Table>) -> Result<Vec<String>, LuaError> {
    let Some(names) = names else { return Ok(Vec::new()) };
    let len = names.raw_len();
    if len > MAX_SCOPE_NAMES {
        return Err(LuaError::invalid(format!("a scope holds at most {MAX_SCOPE_NAMES} names, got {len}")));
    }
    let mut out = Vec::with_capacity(len);
    for i in 1..=len {
        match names.raw_get::<Value>(i).map_err(|e| LuaError::invalid(e.to_string()))? {
            Value::String(s) => {
                let name = s.to_string_lossy();
                check_bounded("scope name", &name)?;
                out.push(name);
            }
            other => return Err(LuaError::invalid(format!("scope name {i} is a {}, not a string", other.type_name()))),
        }
    }
    Ok(out)
}

impl UserData for LuaActor {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, this, ()| Ok(this.0.id.clone()));
        methods.add_method("meta", |lua, this, ()| {
            let t = lua.create_table()?;
            for (k, v) in &this.0.meta {
                t.raw_set(k.as_str(), attr_to_lua(lua, v)?)?;
            }
            Ok(t)
        });
    }
}

impl UserData for LuaScope {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("names", |lua, this, ()| lua.create_sequence_from(this.0.iter().cloned()));
    }
}

fn attr_to_lua(lua: &Lua, v: &AttrValue) -> mlua::Result<Value> {
    Ok(match v {
        AttrValue::Bool(b) => Value::Boolean(*b),
        AttrValue::Long(n) => Value::Number(*n as f64),
        AttrValue::Str(s) => Value::String(lua.create_string(s)?),
        AttrValue::Set(items) => Value::Table(
            lua.create_sequence_from(items.iter().map(|i| attr_to_lua(lua, i)).collect::<mlua::Result<Vec<_>>>()?)?,
        ),
        AttrValue::Record(map) => {
            let t = lua.create_table()?;
            for (k, v) in map {
                t.raw_set(k.as_str(), attr_to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

/// Actor meta as Cedar attributes: strings, booleans, integral numbers, arrays (sets) and records.
/// Errors: `INVALID` naming the key with a value Cedar cannot hold.
/// Returns the attributes and their size in bytes. Errors also: meta over [`MAX_META_BYTES`].
pub fn meta_from_lua(meta: Option<Table>) -> Result<(BTreeMap<String, AttrValue>, usize), LuaError> {
    let Some(meta) = meta else { return Ok((BTreeMap::new(), 0)) };
    let value = from_lua(&Value::Table(meta), "meta", Bounds::DEFAULT)?;
    let bytes = value.size();
    if bytes > MAX_META_BYTES {
        return Err(LuaError::invalid(format!("meta of {bytes} bytes is over the bound of {MAX_META_BYTES} bytes")));
    }
    match attr(&value, "meta")? {
        AttrValue::Record(map) => Ok((map, bytes)),
        AttrValue::Set(items) if items.is_empty() => Ok((BTreeMap::new(), bytes)),
        _ => Err(LuaError::invalid("meta must be a table of named values")),
    }
}

fn attr(value: &CoreValue, path: &str) -> Result<AttrValue, LuaError> {
    Ok(match value {
        CoreValue::Bool(b) => AttrValue::Bool(*b),
        CoreValue::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => AttrValue::Long(*n as i64),
        CoreValue::Str(s) => AttrValue::Str(String::from_utf8_lossy(s).into_owned()),
        CoreValue::Table(t) if t.map.is_empty() => {
            AttrValue::Set(t.array.iter().map(|v| attr(v, path)).collect::<Result<_, _>>()?)
        }
        CoreValue::Table(t) => {
            let mut map = BTreeMap::new();
            for (k, v) in &t.map {
                let key = k.as_str().ok_or_else(|| LuaError::invalid(format!("{path}: keys must be strings")))?;
                map.insert(key.to_string(), attr(v, &format!("{path}.{key}"))?);
            }
            AttrValue::Record(map)
        }
        other => return Err(LuaError::invalid(format!("{path}: {other:?} cannot be a policy attribute"))),
    })
}

/// Turns `security.can`'s resource argument into a policy resource: a PID is that process, an entry or
/// host id of the app is that entry or host, `"context"` and `"security"` are the capabilities, anything
/// else is a registry name.
fn resource_of(lua: &Lua, text: &str) -> Result<Resource, LuaError> {
    let ctx = current(lua)?;
    if text.starts_with('{') {
        let target = ctx.runtime.target_of(text)?;
        return Ok(Resource::Process {
            pid: target.pid.to_string(),
            entry: target.entry.to_string(),
            host: target.pid.host().to_string(),
            actor: target.actor.to_string(),
        });
    }
    let app = ctx.runtime.app();
    Ok(if app.entries.contains_key(text) {
        Resource::Entry { id: text.into() }
    } else if app.hosts.contains_key(text) {
        Resource::Host { id: text.into() }
    } else if text == "context" || text == "security" {
        Resource::Capability { name: text.into() }
    } else {
        Resource::Name { name: text.into() }
    })
}

/// Creates the `security` module table.
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let security = lua.create_table()?;
    security.set(
        "actor",
        lua.create_function(|lua, ()| {
            let ctx = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
            Ok(ctx.process.actor().cloned().map(|a| LuaActor(a, Arc::default())))
        })?,
    )?;
    security.set(
        "scope",
        lua.create_function(|lua, ()| {
            let ctx = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
            Ok(LuaScope(ctx.process.scopes().clone(), Arc::default()))
        })?,
    )?;
    security.set(
        "new_actor",
        lua.create_function(|lua, (id, meta): (String, Option<Table>)| {
            if id.is_empty() {
                return fail(lua, LuaError::invalid("actor id must not be empty"));
            }
            if let Err(e) = check_bounded("actor id", &id) {
                return fail(lua, e);
            }
            match meta_from_lua(meta) {
                Ok((meta, bytes)) => {
                    let cost = charge(lua, bytes + id.len() + 64);
                    ret(lua, Ok::<_, LuaError>(LuaActor(Arc::new(Actor { id, meta }), Arc::new(cost))))
                }
                Err(e) => fail(lua, e),
            }
        })?,
    )?;
    security.set(
        "named_scope",
        lua.create_function(|lua, name: String| {
            let result = check_bounded("scope name", &name).map(|()| scope(lua, vec![name]));
            ret(lua, result.map_err(LuaError::from))
        })?,
    )?;
    security.set(
        "new_scope",
        lua.create_function(|lua, names: Option<Table>| ret(lua, scope_names(names).map(|n| scope(lua, n))))?,
    )?;
    security.set(
        "can",
        lua.create_function(|lua, (action, resource): (String, String)| {
            let bounded = check_bounded("action", &action).and_then(|()| check_bounded("resource", &resource));
            if let Err(e) = bounded {
                return fail(lua, LuaError::from(e));
            }
            let result = current(lua).and_then(|ctx| {
                let resource = resource_of(lua, &resource)?;
                ctx.runtime.can(&ctx.process, &action, &resource).map_err(LuaError::from)
            });
            ret(lua, result)
        })?,
    )?;
    Ok(security)
}

/// Creates the `ctx` module table: `ctx.get(key)` and `ctx.all()` read the process's context values.
pub fn create_ctx(lua: &Lua) -> mlua::Result<Table> {
    let ctx = lua.create_table()?;
    ctx.set(
        "get",
        lua.create_function(|lua, key: String| {
            let pc = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
            match pc.process.context().get(&key) {
                Some(v) => to_lua(lua, v),
                None => Ok(Value::Nil),
            }
        })?,
    )?;
    ctx.set(
        "all",
        lua.create_function(|lua, ()| {
            let pc = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
            let t = lua.create_table()?;
            for (k, v) in pc.process.context().iter() {
                t.raw_set(k.as_str(), to_lua(lua, v)?)?;
            }
            Ok(t)
        })?,
    )?;
    Ok(ctx)
}
