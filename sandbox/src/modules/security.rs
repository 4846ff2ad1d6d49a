//! `require("security")`: the current actor and scope, new actors and scopes, and `security.can`
//! (`lua-api.md`, "security and ctx"). Deciding is Rust's: `can` asks the gate.
//!
//! In the reference dialect (`[compat] wippy = true`, `docs/wippy-compat.md`, "security" and "ctx") also:
//! `security.can(action, resource, meta)` (meta as context attributes), `scope:policies()` (decided at the
//! gate as `process.security` for the scope's names, the request of `:with_scope`), the pure
//! `scope:contains(name)`, `scope:with(name | scope)`, `scope:without(name)`, and `policy:id()`; `ctx.get`
//! returns `nil, err` for an empty or unknown key, as the reference does.

use std::collections::BTreeMap;
use std::sync::Arc;

use corral_core::limits::{Charge, MAX_SCOPE_NAMES, check_bounded};
use corral_core::value::Value as CoreValue;
use corral_policy::{Actor, AttrValue, Resource};
use mlua::{FromLua, Lua, MultiValue, Table, UserData, UserDataMethods, Value};

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

/// A policy of a scope (`scope:policies()`, reference dialect): its id, with what its copy costs its maker.
#[derive(Clone)]
pub struct LuaPolicy(
    pub Arc<str>,
    #[allow(dead_code, reason = "held for its Drop, which releases the charge")] Arc<Charge>,
);

impl UserData for LuaPolicy {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, this, ()| Ok(this.0.to_string()));
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| Ok(format!("policy: {}", this.0)));
    }
}

/// Whether the calling process runs the reference dialect (`[compat] wippy = true`).
fn wippy(lua: &Lua) -> bool {
    current(lua).is_ok_and(|ctx| ctx.wippy)
}

/// Refuses a method of the reference dialect outside it, as a missing method would be refused.
fn dialect_only(lua: &Lua, method: &str) -> mlua::Result<()> {
    if wippy(lua) {
        return Ok(());
    }
    Err(mlua::Error::runtime(format!("scope:{method} is part of the reference dialect ([compat] wippy = true)")))
}

/// The names a `scope:with` argument adds: a scope name (bounded) or another scope's names.
fn names_of(value: &Value) -> Result<Vec<String>, LuaError> {
    match value {
        Value::String(s) => {
            let name = s.to_str().map_err(|_| LuaError::invalid("a scope name must be UTF-8"))?.to_string();
            check_bounded("scope name", &name)?;
            Ok(vec![name])
        }
        Value::UserData(ud) => match ud.borrow::<LuaScope>() {
            Ok(other) => Ok(other.0.to_vec()),
            Err(_) => Err(LuaError::invalid("scope:with takes a scope name or a scope")),
        },
        other => Err(LuaError::invalid(format!("scope:with takes a scope name or a scope, got {}", other.type_name()))),
    }
}

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
        // The reference dialect's scope methods. Only `policies` reveals policy, so only it asks the gate.
        methods.add_method("policies", |lua, this, ()| {
            dialect_only(lua, "policies")?;
            let result =
                current(lua).and_then(|ctx| ctx.runtime.scope_policies(&ctx.process, &this.0).map_err(Into::into));
            match result {
                Ok(ids) => {
                    let t = lua.create_table_with_capacity(ids.len(), 0)?;
                    for (i, id) in ids.into_iter().enumerate() {
                        let cost = charge(lua, id.len() + 32);
                        t.raw_set(i + 1, LuaPolicy(id.into(), Arc::new(cost)))?;
                    }
                    ret(lua, Ok::<_, LuaError>(t))
                }
                Err(e) => fail(lua, e),
            }
        });
        methods.add_method("contains", |lua, this, name: Value| {
            dialect_only(lua, "contains")?;
            Ok(match name {
                Value::String(s) => this.0.iter().any(|n| n.as_bytes() == &*s.as_bytes()),
                _ => false,
            })
        });
        methods.add_method("with", |lua, this, added: Value| {
            dialect_only(lua, "with")?;
            let result = names_of(&added).and_then(|added| {
                let mut names = this.0.to_vec();
                for name in added {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                if names.len() > MAX_SCOPE_NAMES {
                    return Err(LuaError::invalid(format!("a scope holds at most {MAX_SCOPE_NAMES} names")));
                }
                Ok(scope(lua, names))
            });
            ret(lua, result)
        });
        methods.add_method("without", |lua, this, removed: Value| {
            dialect_only(lua, "without")?;
            let result = names_of(&removed)
                .map(|removed| scope(lua, this.0.iter().filter(|n| !removed.contains(n)).cloned().collect()));
            ret(lua, result)
        });
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
        return Ok(ctx.runtime.target_of(text)?.resource());
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
        lua.create_function(|lua, (action, resource, meta): (String, String, Value)| {
            let bounded = check_bounded("action", &action).and_then(|()| check_bounded("resource", &resource));
            if let Err(e) = bounded {
                return fail(lua, LuaError::from(e));
            }
            let result = current(lua).and_then(|ctx| {
                let resource = resource_of(lua, &resource)?;
                match meta {
                    // The reference's third argument: context attributes of the request (dialect only; the
                    // Corral API takes two arguments and ignores more, as before).
                    Value::Table(meta) if ctx.wippy => {
                        let (meta, _) = meta_from_lua(Some(meta))?;
                        ctx.runtime.can_with(&ctx.process, &action, &resource, meta).map_err(LuaError::from)
                    }
                    Value::Nil => ctx.runtime.can(&ctx.process, &action, &resource).map_err(LuaError::from),
                    other if ctx.wippy => {
                        Err(LuaError::invalid(format!("security.can: meta must be a table, got {}", other.type_name())))
                    }
                    _ => ctx.runtime.can(&ctx.process, &action, &resource).map_err(LuaError::from),
                }
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
        lua.create_function(|lua, key: Value| {
            let pc = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
            if pc.wippy {
                return compat_get(lua, &pc, &key);
            }
            let key = String::from_lua(key, lua)?;
            match pc.process.context().get(&key) {
                Some(v) => Ok(MultiValue::from_iter([to_lua(lua, v)?])),
                None => Ok(MultiValue::from_iter([Value::Nil])),
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

/// `ctx.get(key)` in the reference dialect: the value, or `nil, err`: `INVALID` for a key that is not a
/// string, is empty or is over [`corral_core::limits::MAX_NAME_BYTES`] (never copied), `NOT_FOUND` naming a
/// key the process has no value for.
fn compat_get(lua: &Lua, pc: &crate::procs::ProcCtx, key: &Value) -> mlua::Result<MultiValue> {
    let Value::String(key) = key else {
        return fail(lua, LuaError::invalid(format!("ctx.get: the key must be a string, got {}", key.type_name())));
    };
    let bytes = key.as_bytes();
    if bytes.is_empty() {
        return fail(lua, LuaError::invalid("ctx.get: the key must not be empty"));
    }
    if bytes.len() > corral_core::limits::MAX_NAME_BYTES {
        let bound = corral_core::limits::MAX_NAME_BYTES;
        return fail(lua, LuaError::invalid(format!("ctx.get: a key of {} bytes is over {bound}", bytes.len())));
    }
    let key = String::from_utf8_lossy(&bytes);
    match pc.process.context().get(key.as_ref()) {
        Some(v) => Ok(MultiValue::from_iter([to_lua(lua, v)?])),
        None => {
            fail(lua, LuaError::new(corral_core::ErrorKind::NotFound, format!("ctx.get: no context value `{key}`")))
        }
    }
}
