//! The SpawnBuilder (`process.with_context`; `lua-api.md`, "SpawnBuilder").
//!
//! The builder is immutable: each method returns a new one. Its state lives in Rust ([`BuilderState`]); a
//! few lines of Lua glue turn `nil, err` answers into raised errors, as the spec asks of builder methods.
//! `:with_context`, `:with_actor` and `:with_scope` ask the gate when called; `:spawn*` asks the runtime,
//! which checks every permission of the spawn (the builder's included) again before the child exists.

use std::collections::BTreeMap;
use std::sync::Arc;

use corral_core::limits::{Charge, LimitRequest};
use corral_core::runtime::{Capability, Grant, SpawnSpec, check_topic};
use corral_core::value::Value as CoreValue;
use corral_policy::Actor;
use mlua::{AnyUserData, Lua, MultiValue, Table, UserData, Value, Variadic};

use crate::convert::{Bounds, from_lua_multi};
use crate::modules::errors::{LuaError, charge, ret};
use crate::modules::process::{context_values, spawn_spec};
use crate::modules::security::{LuaActor, LuaScope};
use crate::procs::current;

/// What a builder has gathered. Cloning one is cheap whatever it holds: the context is shared until changed
/// and the messages are a shared list each builder only adds to, so a chain of N calls costs O(N) (issue 9,
/// class 3: a builder chained 8000 times used to copy its whole state at each step). What each step adds is
/// charged to the calling process's memory account.
#[derive(Clone, Default)]
pub struct BuilderState {
    context: Arc<BTreeMap<String, CoreValue>>,
    context_charge: Option<Arc<Charge>>,
    actor: Option<Arc<Actor>>,
    scopes: Option<Arc<[String]>>,
    name: Option<String>,
    messages: Option<Arc<Queued>>,
    limits: LimitRequest,
    /// The capabilities its methods were granted, one of each kind (a spawn does not ask them again, and a
    /// granted context is not asked again by a later `:with_context`).
    context_grant: Option<Grant>,
    actor_grant: Option<Grant>,
    scopes_grant: Option<Grant>,
}

/// One `:with_message`, linked to the ones before it.
pub struct Queued {
    topic: String,
    payload: Vec<CoreValue>,
    before: Option<Arc<Queued>>,
    _charge: Charge,
}

impl Drop for Queued {
    /// Unlinks iteratively: a recursive drop of a long chain would overflow the host's stack.
    fn drop(&mut self) {
        let mut next = self.before.take();
        while let Some(node) = next {
            next = match Arc::try_unwrap(node) {
                Ok(mut node) => node.before.take(),
                Err(_) => None,
            };
        }
    }
}

impl BuilderState {
    /// The messages in the order they were added.
    fn messages(&self) -> Vec<(String, Vec<CoreValue>)> {
        let mut out = Vec::new();
        let mut at = self.messages.as_deref();
        while let Some(queued) = at {
            out.push((queued.topic.clone(), queued.payload.clone()));
            at = queued.before.as_deref();
        }
        out.reverse();
        out
    }
}

impl UserData for BuilderState {}

const GLUE: &str = r#"
local raw, process = ...
local Builder = {}
Builder.__index = Builder
local function wrap(state) return table.freeze(setmetatable({ _state = state }, Builder)) end
local function check(value, err)
  if err ~= nil then error(err, 3) end
  return value
end
function Builder:with_context(values) return wrap(check(raw.with_context(self._state, values))) end
function Builder:with_actor(actor) return wrap(check(raw.with_actor(self._state, actor))) end
function Builder:with_scope(scope) return wrap(check(raw.with_scope(self._state, scope))) end
function Builder:with_name(name) return wrap(check(raw.with_name(self._state, name))) end
function Builder:with_message(topic, ...) return wrap(check(raw.with_message(self._state, topic, ...))) end
function Builder:with_limits(limits) return wrap(check(raw.with_limits(self._state, limits))) end
function Builder:spawn(id, host, ...) return check(raw.spawn(self._state, false, false, id, host, ...)) end
function Builder:spawn_monitored(id, host, ...) return check(raw.spawn(self._state, true, false, id, host, ...)) end
function Builder:spawn_linked(id, host, ...) return check(raw.spawn(self._state, false, true, id, host, ...)) end
function Builder:spawn_linked_monitored(id, host, ...) return check(raw.spawn(self._state, true, true, id, host, ...)) end
table.freeze(Builder)
process.with_context = function(values) return wrap(check(raw.new(values))) end
"#;

fn state(ud: &AnyUserData) -> Result<BuilderState, LuaError> {
    ud.borrow::<BuilderState>().map(|s| s.clone()).map_err(|_| LuaError::invalid("not a SpawnBuilder"))
}

/// Asks the gate for `capability` for the calling process (`process.context`, `process.security`).
fn ask(lua: &Lua, capability: Capability) -> Result<Grant, LuaError> {
    let ctx = current(lua)?;
    ctx.runtime.check_capability(&ctx.process, capability).map_err(LuaError::from)
}

fn add_context(lua: &Lua, mut s: BuilderState, values: Value) -> Result<BuilderState, LuaError> {
    let (context, cost) = merged_context(lua, &s.context, &mut s.context_grant, values)?;
    s.context = context;
    s.context_charge = Some(cost);
    Ok(s)
}

/// `:with_actor(actor)` of the SpawnBuilder and of the reference's Executor: the actor object, with its
/// `process.security` grant. Errors: `INVALID` for anything but an actor object, a denial.
pub(crate) fn granted_actor(lua: &Lua, actor: Value) -> Result<(Arc<Actor>, Grant), LuaError> {
    let not_actor = || LuaError::invalid("with_actor takes an actor (security.new_actor, security.actor)");
    let Value::UserData(actor) = actor else { return Err(not_actor()) };
    let actor = actor.borrow::<LuaActor>().map_err(|_| not_actor())?.0.clone();
    let grant = ask(lua, Capability::Security { actor: Some(actor.clone()), scopes: None })?;
    Ok((actor, grant))
}

/// `:with_scope(scope)` of the SpawnBuilder and of the reference's Executor: the scope's names, with their
/// `process.security` grant. Errors: `INVALID` for anything but a scope object, a denial.
pub(crate) fn granted_scopes(lua: &Lua, scope: Value) -> Result<(Arc<[String]>, Grant), LuaError> {
    let not_scope = || LuaError::invalid("with_scope takes a scope (security.new_scope, security.scope)");
    let Value::UserData(scope) = scope else { return Err(not_scope()) };
    let scopes = scope.borrow::<LuaScope>().map_err(|_| not_scope())?.0.clone();
    let grant = ask(lua, Capability::Security { actor: None, scopes: Some(scopes.clone()) })?;
    Ok((scopes, grant))
}

/// Context values by key, as a child receives them (`ctx.get`).
pub(crate) type Context = BTreeMap<String, CoreValue>;

/// `:with_context(values)` of the SpawnBuilder and of the reference's Executor: `context` with the table
/// `values` added (within the caller's message bounds), asking `process.context` once (the grant is kept
/// in `grant`), and what the whole context costs the caller. Any value is accepted, so that a wrong type is
/// an `INVALID` error object, not a conversion error. Errors: `INVALID`, `LIMIT_EXCEEDED`, a denial.
pub(crate) fn merged_context(
    lua: &Lua,
    context: &Context,
    grant: &mut Option<Grant>,
    values: Value,
) -> Result<(Arc<Context>, Arc<Charge>), LuaError> {
    let Value::Table(values) = values else {
        return Err(LuaError::invalid(format!("context values must be a table, got a {}", values.type_name())));
    };
    let values = context_values(&values, Bounds::of_process(&current(lua)?.process))?;
    if grant.is_none() {
        *grant = Some(ask(lua, Capability::Context)?);
    }
    let mut context = context.clone();
    context.extend(values);
    let bytes: usize = context.iter().map(|(k, v)| k.len() + v.size()).sum();
    Ok((Arc::new(context), Arc::new(charge(lua, bytes))))
}

/// Registers `process.with_context` and the builder's methods on `process`.
pub fn register(lua: &Lua, process: &Table) -> mlua::Result<()> {
    let raw = lua.create_table()?;
    raw.set(
        "new",
        lua.create_function(|lua, values: Value| ret(lua, add_context(lua, BuilderState::default(), values)))?,
    )?;
    raw.set(
        "with_context",
        lua.create_function(|lua, (ud, values): (AnyUserData, Value)| {
            ret(lua, state(&ud).and_then(|s| add_context(lua, s, values)))
        })?,
    )?;
    raw.set(
        "with_actor",
        lua.create_function(|lua, (ud, actor): (AnyUserData, Value)| {
            let result = state(&ud).and_then(|mut s| {
                let (actor, grant) = granted_actor(lua, actor)?;
                s.actor_grant = Some(grant);
                s.actor = Some(actor);
                Ok(s)
            });
            ret(lua, result)
        })?,
    )?;
    raw.set(
        "with_scope",
        lua.create_function(|lua, (ud, scope): (AnyUserData, Value)| {
            let result = state(&ud).and_then(|mut s| {
                let (scopes, grant) = granted_scopes(lua, scope)?;
                s.scopes_grant = Some(grant);
                s.scopes = Some(scopes);
                Ok(s)
            });
            ret(lua, result)
        })?,
    )?;
    raw.set(
        "with_name",
        lua.create_function(|lua, (ud, name): (AnyUserData, Value)| {
            let result = state(&ud).and_then(|mut s| match name {
                Value::String(n) if !n.as_bytes().is_empty() => {
                    s.name = Some(n.to_string_lossy());
                    Ok(s)
                }
                _ => Err(LuaError::invalid("with_name takes a non-empty string")),
            });
            ret(lua, result)
        })?,
    )?;
    raw.set(
        "with_message",
        lua.create_function(|lua, args: Variadic<Value>| {
            let result = (|| {
                let ud = match args.first() {
                    Some(Value::UserData(ud)) => ud.clone(),
                    _ => return Err(LuaError::invalid("not a SpawnBuilder")),
                };
                let mut s = state(&ud)?;
                let topic = match args.get(1) {
                    Some(Value::String(t)) => t.to_string_lossy(),
                    _ => return Err(LuaError::invalid("with_message takes a topic string")),
                };
                check_topic(&topic)?;
                let bounds = Bounds::of_process(&current(lua)?.process);
                let payload = from_lua_multi(args.iter().skip(2), "payload", bounds)?;
                let bytes = topic.len() + payload.iter().map(CoreValue::size).sum::<usize>() + 64;
                let before = s.messages.take();
                s.messages = Some(Arc::new(Queued { topic, payload, before, _charge: charge(lua, bytes) }));
                Ok(s)
            })();
            ret(lua, result)
        })?,
    )?;
    raw.set(
        "with_limits",
        lua.create_function(|lua, (ud, limits): (AnyUserData, Value)| {
            ret(
                lua,
                state(&ud).and_then(|mut s| {
                    s.limits = limit_request(&limits)?;
                    Ok(s)
                }),
            )
        })?,
    )?;
    raw.set("spawn", lua.create_function(builder_spawn)?)?;
    crate::vm::load_builtin(lua, "=corral:builder", GLUE)?.call::<()>((raw, process.clone()))
}

fn builder_spawn(lua: &Lua, args: Variadic<Value>) -> mlua::Result<MultiValue> {
    let result = (|| {
        let (Some(Value::UserData(ud)), Some(Value::Boolean(monitored)), Some(Value::Boolean(linked))) =
            (args.first(), args.get(1), args.get(2))
        else {
            return Err(LuaError::invalid("not a SpawnBuilder"));
        };
        let s = state(ud)?;
        let rest: Variadic<Value> = args.iter().skip(3).cloned().collect();
        let ctx = current(lua)?;
        let spec = spawn_spec(&rest, *monitored, *linked, Bounds::of_process(&ctx.process))?;
        let messages = s.messages();
        let spec = SpawnSpec {
            actor: s.actor,
            scopes: s.scopes,
            context: (*s.context).clone(),
            name: s.name,
            messages,
            limits: s.limits,
            grants: [s.context_grant, s.actor_grant, s.scopes_grant].into_iter().flatten().collect(),
            ..spec
        };
        Ok(ctx.runtime.spawn(&ctx.process, spec)?.to_string())
    })();
    ret(lua, result)
}

/// Reads `{memory = "64MiB" | bytes, compute = units, mailbox = messages}`. Errors: `INVALID` for a value
/// that is not a table, an unknown key, or a value that is not a positive whole number (or a size string for
/// `memory`). Whether it fits the host is decided at spawn (`LIMIT_EXCEEDED`).
fn limit_request(limits: &Value) -> Result<LimitRequest, LuaError> {
    let Value::Table(table) = limits else {
        return Err(LuaError::invalid(format!("with_limits takes a table, got a {}", limits.type_name())));
    };
    let mut request = LimitRequest::default();
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| LuaError::invalid(e.to_string()))?;
        let name = match &key {
            Value::String(k) => k.to_string_lossy(),
            other => return Err(LuaError::invalid(format!("with_limits: a {} key is not a limit", other.type_name()))),
        };
        match name.as_str() {
            "memory" => request.memory = Some(memory_size(&value)?),
            "compute" => request.compute = Some(whole(&value, "compute")?),
            "mailbox" => request.mailbox = Some(usize::try_from(whole(&value, "mailbox")?).unwrap_or(usize::MAX)),
            other => {
                return Err(LuaError::invalid(format!(
                    "with_limits: unknown limit `{other}` (known: memory, compute, mailbox)"
                )));
            }
        }
    }
    Ok(request)
}

fn whole(value: &Value, what: &str) -> Result<u64, LuaError> {
    let n = match value {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        other => {
            return Err(LuaError::invalid(format!(
                "with_limits: `{what}` must be a number, got a {}",
                other.type_name()
            )));
        }
    };
    if !(n >= 1.0 && n.fract() == 0.0 && n < 1.8e19) {
        return Err(LuaError::invalid(format!("with_limits: `{what}` must be a whole number of at least 1, got {n}")));
    }
    Ok(n as u64)
}

fn memory_size(value: &Value) -> Result<u64, LuaError> {
    match value {
        Value::String(s) => corral_core::app::parse_memory_size(&s.to_string_lossy()).ok_or_else(|| {
            LuaError::invalid(format!("with_limits: `memory` {:?} is not a size like \"64MiB\"", s.to_string_lossy()))
        }),
        other => whole(other, "memory"),
    }
}
