//! The reference dialect's `funcs` module (`[compat] wippy = true`; `docs/wippy-compat.md`, "funcs"):
//! calling `function.lua` entries synchronously (`funcs.call`) and asynchronously (`funcs.async`, a Future),
//! and the immutable Executor of `funcs.new()` that carries context values, an actor, scopes and a timeout.
//!
//! A call runs the entry as a child on the caller's host ([`corral_core::Runtime::start_function`]), decided
//! at the gate as `funcs.call` on the entry; the Executor's `:with_context`, `:with_actor` and `:with_scope`
//! are decided when called, as the SpawnBuilder's are (`process.context`, `process.security`). No
//! authorization happens here. What a call holds on the host (its arguments, its Future, the result until
//! it is read) is charged to the caller; an async call's waiting task is owned by the caller
//! ([`corral_core::Runtime::spawn_owned`]), so it and the function it waits for stop when the caller exits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use corral_core::ErrorKind;
use corral_core::chan::{Chan, Item};
use corral_core::limits::Charge;
use corral_core::runtime::{FunctionCall, Grant, OwnedTask, SpawnSpec};
use corral_core::value::Value as CoreValue;
use corral_policy::Actor;
use mlua::{AnyUserData, Lua, MultiValue, Table, UserData, UserDataMethods, Value, Variadic};

use crate::block::{self, Step};
use crate::convert::{Bounds, from_lua_multi, to_lua};
use crate::modules::builder::{granted_actor, granted_scopes, merged_context};
use crate::modules::channel::LuaChan;
use crate::modules::errors::{LuaError, charge, fail, ret};
use crate::modules::payload::LuaPayload;
use crate::procs::current;

/// What the host holds for one Future beyond its result (its state, channel and task), charged to the caller.
const FUTURE_BYTES: usize = 512;

/// What an Executor has gathered; cheap to clone (the context is shared until changed).
#[derive(Clone, Default)]
pub struct ExecutorState {
    context: Arc<BTreeMap<String, CoreValue>>,
    context_charge: Option<Arc<Charge>>,
    actor: Option<Arc<Actor>>,
    scopes: Option<Arc<[String]>>,
    timeout: Option<Duration>,
    /// The grants of its methods, one of each kind (a later `:with_actor` replaces the earlier one's).
    context_grant: Option<Grant>,
    actor_grant: Option<Grant>,
    scopes_grant: Option<Grant>,
}

impl UserData for ExecutorState {}

const GLUE: &str = r#"
local raw = ...
local Executor = {}
Executor.__index = Executor
local function wrap(state) return table.freeze(setmetatable({ _state = state }, Executor)) end
local function step(state, err)
  if err ~= nil then return nil, err end
  return wrap(state)
end
function Executor:with_context(values) return step(raw.with_context(self._state, values)) end
function Executor:with_actor(actor) return step(raw.with_actor(self._state, actor)) end
function Executor:with_scope(scope) return step(raw.with_scope(self._state, scope)) end
function Executor:with_options(options) return step(raw.with_options(self._state, options)) end
function Executor:call(target, ...) return raw.call(self._state, target, ...) end
function Executor:async(target, ...) return raw.async(self._state, target, ...) end
table.freeze(Executor)
return {
  call = function(target, ...) return raw.call(nil, target, ...) end,
  async = function(target, ...) return raw.async(nil, target, ...) end,
  new = function() return wrap(raw.new()) end,
}
"#;

fn state_of(value: &Value) -> Result<ExecutorState, LuaError> {
    match value {
        Value::Nil => Ok(ExecutorState::default()),
        Value::UserData(ud) => {
            ud.borrow::<ExecutorState>().map(|s| s.clone()).map_err(|_| LuaError::invalid("not an Executor"))
        }
        _ => Err(LuaError::invalid("not an Executor")),
    }
}

/// A target `namespace:name`. Errors: `INVALID` for a non-string, an empty target, or a missing namespace
/// or name (the reference's three cases), or one over the name bound.
fn target_arg(value: Option<&Value>) -> Result<String, LuaError> {
    let target = match value {
        Some(Value::String(s)) => {
            // Measured before anything is copied out of Lua: a huge target is refused unread.
            if s.as_bytes().len() > corral_core::limits::MAX_NAME_BYTES {
                let bound = corral_core::limits::MAX_NAME_BYTES;
                return Err(LuaError::invalid(format!("target is longer than {bound} bytes")));
            }
            s.to_str().map(|s| s.to_string()).map_err(|_| LuaError::invalid("target must be UTF-8"))?
        }
        Some(other) => return Err(LuaError::invalid(format!("target must be a string, got a {}", other.type_name()))),
        None => return Err(LuaError::invalid("target is empty")),
    };
    if target.is_empty() {
        return Err(LuaError::invalid("target is empty"));
    }
    match target.split_once(':') {
        Some(("", _)) | None => Err(LuaError::invalid(format!("target `{target}` has no namespace (namespace:name)"))),
        Some((_, "")) => Err(LuaError::invalid(format!("target `{target}` has no name (namespace:name)"))),
        Some(_) => Ok(target),
    }
}

/// The call's spec and what its arguments cost the caller while it runs.
fn prepare(
    lua: &Lua,
    args: &MultiValue,
) -> Result<(Arc<crate::procs::ProcCtx>, SpawnSpec, Option<Duration>, Charge), LuaError> {
    let ctx = current(lua)?;
    let mut args = args.iter();
    let state = state_of(args.next().unwrap_or(&Value::Nil))?;
    let target = target_arg(args.next())?;
    let values = from_lua_multi(args, "argument", Bounds::of_process(&ctx.process))?;
    let bytes: usize = values.iter().map(CoreValue::size).sum();
    let held = charge(lua, bytes);
    let spec = SpawnSpec {
        entry: target,
        args: values,
        actor: state.actor,
        scopes: state.scopes,
        context: (*state.context).clone(),
        grants: [state.context_grant, state.actor_grant, state.scopes_grant].into_iter().flatten().collect(),
        ..SpawnSpec::default()
    };
    Ok((ctx, spec, state.timeout, held))
}

/// The outcome of a function's exit for a script: its value, or its error (`INTERNAL` with the function's
/// error text: an error's kind does not cross processes, as for `process.exec`).
fn outcome(result: corral_core::Result<corral_core::process::Exit>) -> Result<CoreValue, LuaError> {
    match result {
        Ok(exit) => exit.result.map_err(|message| LuaError::new(ErrorKind::Internal, message)),
        Err(e) => Err(LuaError::from(e)),
    }
}

/// `funcs.call(target, ...)` / `exec:call(target, ...)`: the function's result, or `nil, err`.
fn call(lua: &Lua, args: MultiValue) -> mlua::Result<Step> {
    let (ctx, spec, timeout, held) = match prepare(lua, &args) {
        Ok(prepared) => prepared,
        Err(e) => return fail(lua, e).map(Step::Ready),
    };
    let started = match ctx.runtime.start_function(&ctx.process, spec) {
        Ok(call) => call,
        Err(e) => return fail(lua, e).map(Step::Ready),
    };
    // Dropped with the wait when the caller is killed while parked: the function stops too.
    let running = async move {
        let result = started.wait(timeout).await;
        drop(held);
        result
    };
    Ok(Step::wait(running, |lua, result| match outcome(result) {
        Ok(value) => Ok(MultiValue::from_iter([to_lua(lua, &value)?])),
        Err(e) => fail(lua, e),
    }))
}

/// What a Future knows: its outcome once the function ended, and whether it was cancelled.
#[derive(Default)]
struct FutureState {
    outcome: Option<Result<(CoreValue, Charge), (ErrorKind, String)>>,
    canceled: bool,
    task: Option<OwnedTask>,
}

/// A Future of `funcs.async` (the reference's `future.md`).
pub struct LuaFuture {
    chan: Chan,
    state: Arc<Mutex<FutureState>>,
    _charge: Charge,
}

/// The item a Future's channel carries: the function's result, received as a payload object.
pub struct FutureItem(CoreValue);

/// A channel item of a type `channel.rs` does not own: a Future's result (a payload object) or a queued
/// event of the bus (its table); anything else is nil.
pub fn foreign_item(lua: &Lua, item: Box<dyn std::any::Any + Send>) -> mlua::Result<Value> {
    let item = match item.downcast::<FutureItem>() {
        Ok(result) => {
            let value = to_lua(lua, &result.0)?;
            return lua.create_userdata(LuaPayload::lua(value)).map(Value::UserData);
        }
        Err(other) => other,
    };
    match item.downcast::<corral_core::runtime::QueuedEvent>() {
        Ok(event) => match event.value.first() {
            Some(value) => to_lua(lua, value),
            None => Ok(Value::Nil),
        },
        Err(_) => Ok(Value::Nil),
    }
}

fn lock(state: &Mutex<FutureState>) -> std::sync::MutexGuard<'_, FutureState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `funcs.async(target, ...)` / `exec:async(target, ...)`: a Future, or `nil, err`.
fn start_async(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let result = (|| -> Result<LuaFuture, LuaError> {
        let (ctx, spec, timeout, held) = prepare(lua, &args)?;
        let started: FunctionCall = ctx.runtime.start_function(&ctx.process, spec)?;
        let chan = Chan::new(1);
        let state = Arc::new(Mutex::new(FutureState::default()));
        let account = ctx.process.account().clone();
        let (task_chan, task_state) = (chan.clone(), state.clone());
        let waiting = async move {
            let result = outcome(started.wait(timeout).await);
            drop(held);
            let mut state = lock(&task_state);
            if state.canceled {
                return;
            }
            match result {
                Ok(value) => {
                    let bytes = u64::try_from(value.size()).unwrap_or(u64::MAX);
                    state.outcome = Some(Ok((value.clone(), account.charge(bytes))));
                    drop(state);
                    // The channel stays open after its one value, so a select over several futures' channels
                    // waits for the others instead of seeing this one closed.
                    let _ = task_chan.try_send(Item::Local(Box::new(FutureItem(value))));
                }
                Err(e) => {
                    state.outcome = Some(Err((e.kind, e.message)));
                    drop(state);
                    // No value: the channel closes, so a receiver learns of the failure (`ok` false).
                    task_chan.close();
                }
            }
        };
        // If the caller has no room for another task, the call is refused and its function stopped (the
        // `FunctionCall` inside `waiting` is dropped with it).
        let task = ctx.runtime.spawn_owned(&ctx.process, waiting)?;
        let mut guard = lock(&state);
        // The task may already have finished (its function returned at once): it is kept only to cancel it.
        guard.task = Some(task);
        drop(guard);
        Ok(LuaFuture { chan, state, _charge: charge(lua, FUTURE_BYTES) })
    })();
    ret(lua, result)
}

impl UserData for LuaFuture {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("response", |_, this, ()| Ok(LuaChan(this.chan.clone())));
        methods.add_method("channel", |_, this, ()| Ok(LuaChan(this.chan.clone())));
        methods.add_method("is_complete", |_, this, ()| {
            let state = lock(&this.state);
            Ok(state.outcome.is_some() || state.canceled)
        });
        methods.add_method("is_canceled", |_, this, ()| Ok(lock(&this.state).canceled));
        methods.add_method("result", |lua, this, ()| {
            let state = lock(&this.state);
            if state.canceled {
                drop(state);
                return fail(lua, LuaError::new(ErrorKind::Canceled, "the async call was canceled"));
            }
            match &state.outcome {
                None => Ok(MultiValue::from_iter([Value::Nil, Value::Nil])),
                Some(Ok((value, _))) => {
                    let value = value.clone();
                    drop(state);
                    let payload = lua.create_userdata(LuaPayload::lua(to_lua(lua, &value)?))?;
                    Ok(MultiValue::from_iter([Value::UserData(payload), Value::Nil]))
                }
                Some(Err((kind, message))) => {
                    let error = LuaError::new(*kind, message.clone());
                    drop(state);
                    fail(lua, error)
                }
            }
        });
        methods.add_method("error", |lua, this, ()| {
            let state = lock(&this.state);
            let error = if state.canceled {
                Some(LuaError::new(ErrorKind::Canceled, "the async call was canceled"))
            } else {
                match &state.outcome {
                    Some(Err((kind, message))) => Some(LuaError::new(*kind, message.clone())),
                    _ => None,
                }
            };
            drop(state);
            match error {
                Some(error) => Ok((Value::UserData(lua.create_userdata(error)?), true)),
                None => Ok((Value::Nil, false)),
            }
        });
        methods.add_method("cancel", |_, this, ()| {
            let mut state = lock(&this.state);
            if state.outcome.is_some() || state.canceled {
                return Ok(false);
            }
            state.canceled = true;
            // Aborting the task drops its `FunctionCall`, which stops the function (reason `cancelled`).
            if let Some(task) = state.task.take() {
                task.abort();
            }
            drop(state);
            this.chan.close();
            Ok(true)
        });
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| Ok(format!("future: {}", this.chan.id())));
    }
}

fn with_options(state: &mut ExecutorState, options: &Value) -> Result<(), LuaError> {
    let Value::Table(options) = options else {
        return Err(LuaError::invalid(format!("with_options takes a table, got a {}", options.type_name())));
    };
    for pair in options.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| LuaError::invalid(e.to_string()))?;
        let name = match &key {
            Value::String(k) => k.to_string_lossy(),
            other => {
                return Err(LuaError::invalid(format!("with_options: a {} key is not an option", other.type_name())));
            }
        };
        match name.as_str() {
            "timeout" => state.timeout = Some(crate::modules::time::duration_arg(&value)?),
            // The reference's scheduling hint; Corral's scheduler has no priorities.
            "priority" => {}
            other => {
                let shown: String = other.chars().take(64).collect();
                return Err(LuaError::invalid(format!(
                    "with_options: unknown option `{shown}` (known: timeout, priority)"
                )));
            }
        }
    }
    Ok(())
}

/// Creates the `funcs` table (granted by `modules: [funcs]` in the reference dialect).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let raw = lua.create_table()?;
    raw.set("new", lua.create_function(|_, ()| Ok(ExecutorState::default()))?)?;
    raw.set(
        "with_context",
        lua.create_function(|lua, (ud, values): (AnyUserData, Value)| {
            let result = (|| -> Result<ExecutorState, LuaError> {
                let mut s = state_of(&Value::UserData(ud))?;
                let (context, cost) = merged_context(lua, &s.context, &mut s.context_grant, values)?;
                s.context = context;
                s.context_charge = Some(cost);
                Ok(s)
            })();
            ret(lua, result)
        })?,
    )?;
    raw.set(
        "with_actor",
        lua.create_function(|lua, (ud, actor): (AnyUserData, Value)| {
            let result = state_of(&Value::UserData(ud)).and_then(|mut s| {
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
            let result = state_of(&Value::UserData(ud)).and_then(|mut s| {
                let (scopes, grant) = granted_scopes(lua, scope)?;
                s.scopes_grant = Some(grant);
                s.scopes = Some(scopes);
                Ok(s)
            });
            ret(lua, result)
        })?,
    )?;
    raw.set(
        "with_options",
        lua.create_function(|lua, (ud, options): (AnyUserData, Value)| {
            let result = state_of(&Value::UserData(ud)).and_then(|mut s| with_options(&mut s, &options).map(|()| s));
            ret(lua, result)
        })?,
    )?;
    raw.set("call", block::function(lua, call)?)?;
    raw.set("async", lua.create_function(|lua, args: Variadic<Value>| start_async(lua, MultiValue::from_iter(args)))?)?;
    crate::vm::load_builtin(lua, "=corral:funcs", GLUE)?.call::<Table>(raw)
}
