//! The `process` global: the seeds' process API (seed 003; `lua-api.md`, "process").
//!
//! Each function converts its arguments, calls the runtime (which decides at the gate), and converts the
//! answer: a value, or `nil, err`. No authorization happens here.

use std::sync::Arc;

use corral_core::chan::Chan;
use corral_core::mailbox::EventKind;
use corral_core::runtime::{CallRef, DEFAULT_CALL_TIMEOUT, SpawnSpec};
use corral_core::value::Value as CoreValue;
use mlua::{Lua, MultiValue, Table, Value, Variadic};

use crate::block::{self, Step, Wait};
use crate::convert::{Bounds, from_lua_multi, from_lua_payload, to_lua};
use crate::modules::channel::LuaChan;
use crate::modules::errors::{LuaError, Returned, fail, returned};
use crate::modules::time::duration_arg;
use crate::procs::{ProcCtx, current};

type Args = Variadic<Value>;

fn with_ctx<T: mlua::IntoLua>(
    lua: &Lua,
    f: impl FnOnce(Arc<ProcCtx>) -> Result<T, LuaError>,
) -> mlua::Result<Returned> {
    returned(lua, current(lua).and_then(f))
}

fn string_arg(value: Option<&Value>, what: &str) -> Result<String, LuaError> {
    str_arg(value, what).map(|text| String::from(&*text))
}

/// A string argument as text, borrowed from Lua when it is UTF-8 (no copy), otherwise its lossy copy.
/// Errors: `INVALID` naming `what` when it is missing or not a string.
fn str_arg(value: Option<&Value>, what: &str) -> Result<Text, LuaError> {
    match value {
        Some(Value::String(s)) => {
            Ok(s.to_str().map(Text::Borrowed).unwrap_or_else(|_| Text::Lossy(s.to_string_lossy())))
        }
        Some(other) => Err(LuaError::invalid(format!("{what} must be a string, got a {}", other.type_name()))),
        None => Err(LuaError::invalid(format!("{what} is required"))),
    }
}

/// A string argument's text (see [`str_arg`]).
enum Text {
    Borrowed(mlua::BorrowedStr),
    Lossy(String),
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Borrowed(text) => text,
            Text::Lossy(text) => text,
        }
    }
}

/// Spawn arguments `(id, host, ...)` into a spec; the arguments are converted within `bounds` (the
/// spawner's host's message bounds). Errors: `INVALID` for a bad id or argument, `LIMIT_EXCEEDED` for
/// arguments over the bounds.
pub fn spawn_spec(args: &Args, monitored: bool, linked: bool, bounds: Bounds) -> Result<SpawnSpec, LuaError> {
    let entry = string_arg(args.first(), "entry id")?;
    let host = string_arg(args.get(1), "host id")?;
    let rest = args.iter().skip(2);
    let args = from_lua_multi(rest, "argument", bounds)?;
    Ok(SpawnSpec { entry, host, args, monitored, linked, ..SpawnSpec::default() })
}

fn spawn_fn(lua: &Lua, monitored: bool, linked: bool) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, args: Args| {
        with_ctx(lua, |ctx| {
            let spec = spawn_spec(&args, monitored, linked, Bounds::of_process(&ctx.process))?;
            Ok(ctx.runtime.spawn(&ctx.process, spec)?.to_string())
        })
    })
}

fn dest_fn(lua: &Lua, f: fn(&ProcCtx, &str) -> corral_core::Result<()>) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, dest: Value| {
        with_ctx(lua, |ctx| {
            let dest = str_arg(Some(&dest), "destination")?;
            f(&ctx, &dest)?;
            Ok(true)
        })
    })
}

/// Caches the userdata of a mailbox channel so `inbox()`, `events()` and `listen(t)` return the same object.
fn chan_value(lua: &Lua, chan: Chan) -> mlua::Result<Value> {
    // Keyed by the channel's id as a number (exact: ids count up from 1, far below 2^53), no string made.
    let key = chan.id() as f64;
    let cache: Table = match lua.named_registry_value::<Option<Table>>("corral.chans")? {
        Some(t) => t,
        None => {
            let t = lua.create_table()?;
            let meta = lua.create_table()?;
            meta.raw_set("__mode", "v")?;
            t.set_metatable(Some(meta))?;
            lua.set_named_registry_value("corral.chans", t.clone())?;
            t
        }
    };
    if let Some(ud) = cache.raw_get::<Option<mlua::AnyUserData>>(key)? {
        return Ok(Value::UserData(ud));
    }
    let ud = lua.create_userdata(LuaChan(chan))?;
    cache.raw_set(key, ud.clone())?;
    Ok(Value::UserData(ud))
}

/// `process.send`: two strings go to the first function given, anything else to the second, which checks
/// and names what is wrong (`lua-api.md`, "process.send").
const SEND: &str = r#"
local strings, checked = ...
local type = type
-- `...` passed on whole, so the checking function sees the arguments as they were given (a missing topic is
-- missing, not nil).
return function(...)
  local dest, topic = ...
  if type(dest) == "string" and type(topic) == "string" then
    return strings(...)
  end
  return checked(...)
end
"#;

/// `process.send(dest, topic, payload...)` of `ctx`'s process, once its destination and topic are text.
fn send_from<'a, I>(ctx: &ProcCtx, dest: &str, topic: &str, payload: I) -> Result<bool, LuaError>
where
    I: IntoIterator<Item = &'a Value>,
    I::IntoIter: ExactSizeIterator,
{
    let payload = from_lua_payload(payload, "payload", Bounds::of_process(&ctx.process))?;
    ctx.runtime.send(&ctx.process, dest, topic, payload)?;
    Ok(true)
}

/// Registers the `process` global.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let process = lua.create_table()?;
    process.set("pid", lua.create_function(|lua, ()| with_ctx(lua, |c| Ok(c.process.pid().to_string())))?)?;
    process.set("id", lua.create_function(|lua, ()| with_ctx(lua, |c| Ok(c.entry.id.clone())))?)?;
    // The arguments as mlua gathers them (no copy into a `Vec`), checked.
    let checked = lua.create_function(|lua, args: MultiValue| {
        with_ctx(lua, |ctx| {
            let dest = str_arg(args.front(), "destination")?;
            let topic = str_arg(args.get(1), "topic")?;
            send_from(&ctx, &dest, &topic, args.iter().skip(2))
        })
    })?;
    // Destination and topic known to be strings (`SEND` checked): copied off the stack as bytes, with no
    // reference made for either (a reference and its release cost more than the copy).
    let strings = lua.create_function(|lua, (dest, topic, rest): (mlua::BString, mlua::BString, MultiValue)| {
        with_ctx(lua, |ctx| {
            send_from(&ctx, &String::from_utf8_lossy(&dest), &String::from_utf8_lossy(&topic), rest.iter())
        })
    })?;
    let send: mlua::Function = crate::vm::load_builtin(lua, "=corral:send", SEND)?.call((strings, checked))?;
    process.set("send", send)?;
    process.set("spawn", spawn_fn(lua, false, false)?)?;
    process.set("spawn_monitored", spawn_fn(lua, true, false)?)?;
    process.set("spawn_linked", spawn_fn(lua, false, true)?)?;
    process.set("spawn_linked_monitored", spawn_fn(lua, true, true)?)?;
    process.set("exec", block::function(lua, exec)?)?;
    process.set("call", block::function(lua, call)?)?;
    process.set(
        "reply",
        lua.create_function(|lua, (reference, value): (Value, Value)| {
            let reference = match reference_arg(&reference) {
                Ok(reference) => reference,
                Err(e) => return fail(lua, e),
            };
            reply(lua, &reference, &value)
        })?,
    )?;
    process.set("terminate", dest_fn(lua, |c, d| c.runtime.terminate(&c.process, d))?)?;
    process.set("monitor", dest_fn(lua, |c, d| c.runtime.monitor(&c.process, d))?)?;
    process.set("unmonitor", dest_fn(lua, |c, d| c.runtime.unmonitor(&c.process, d))?)?;
    process.set("link", dest_fn(lua, |c, d| c.runtime.link(&c.process, d))?)?;
    process.set("unlink", dest_fn(lua, |c, d| c.runtime.unlink(&c.process, d))?)?;
    process.set(
        "cancel",
        lua.create_function(|lua, (dest, deadline): (Value, Option<Value>)| {
            with_ctx(lua, |ctx| {
                let dest = str_arg(Some(&dest), "destination")?;
                let deadline = deadline.filter(|d| !d.is_nil()).map(|d| duration_arg(&d)).transpose()?;
                ctx.runtime.cancel(&ctx.process, &dest, deadline)?;
                Ok(true)
            })
        })?,
    )?;
    register_options(lua, &process)?;
    register_mailbox(lua, &process)?;
    register_registry(lua, &process)?;
    process.set("upgrade", block::function(lua, upgrade)?)?;
    let event = lua.create_table()?;
    event.set("EXIT", EventKind::Exit.as_str())?;
    event.set("LINK_DOWN", EventKind::LinkDown.as_str())?;
    event.set("CANCEL", EventKind::Cancel.as_str())?;
    process.set("event", event)?;
    crate::modules::builder::register(lua, &process)?;
    lua.globals().set("process", process)
}

/// `process.exec(id, host, ...)`: runs the entry as a child and returns its result, or `nil, err`.
fn exec(lua: &Lua, args: MultiValue) -> mlua::Result<Step> {
    let args = Args::from_iter(args);
    let prepared = current(lua).and_then(|ctx| {
        let spec = spawn_spec(&args, false, false, Bounds::of_process(&ctx.process))?;
        Ok((ctx, spec))
    });
    let (ctx, spec) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => return fail(lua, e).map(Step::Ready),
    };
    let running = async move { ctx.runtime.exec(&ctx.process, &spec.entry, &spec.host, spec.args).await };
    Ok(Step::wait(running, |lua, result| match result {
        Ok(exit) => match exit.result {
            Ok(value) => Ok(MultiValue::from_iter([to_lua(lua, &value)?])),
            Err(message) => fail(lua, LuaError::new(corral_core::ErrorKind::Internal, message)),
        },
        Err(e) => fail(lua, e),
    }))
}

/// A call's reply reference as scripts hold it (`msg:reply_to()`): opaque, it cannot be copied into a message
/// (userdata are not payloads), so only the process the call was sent to can answer it.
#[derive(Clone)]
pub struct LuaCallRef(pub Arc<CallRef>);

impl mlua::UserData for LuaCallRef {
    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| Ok(format!("call: {}", this.0.id())));
        methods.add_meta_method(mlua::MetaMethod::Eq, |_, this, other: mlua::AnyUserData| {
            Ok(other.borrow::<LuaCallRef>().map(|o| Arc::ptr_eq(&o.0, &this.0)).unwrap_or(false))
        });
    }
}

/// The reference argument of `process.reply`. Errors: `INVALID` for anything but a `msg:reply_to()` value.
fn reference_arg(value: &Value) -> Result<Arc<CallRef>, LuaError> {
    let not_a_reference = || {
        LuaError::invalid(format!("reply reference must be the value of msg:reply_to(), got a {}", value.type_name()))
    };
    let ud = value.as_userdata().ok_or_else(not_a_reference)?;
    let reference = ud.borrow::<LuaCallRef>().map_err(|_| not_a_reference())?;
    Ok(reference.0.clone())
}

/// `process.reply(ref, value)` and `msg:reply(value)`: `true` for the first reply, `false` afterwards (and
/// for a reference of a call to another process); `nil, err` for a value that cannot be copied (`INVALID`)
/// or is over the replier's message bounds (`LIMIT_EXCEEDED`).
pub fn reply(lua: &Lua, reference: &CallRef, value: &Value) -> mlua::Result<MultiValue> {
    use mlua::IntoLuaMulti;
    with_ctx(lua, |ctx| {
        let value = crate::convert::from_lua(value, "reply", Bounds::of_process(&ctx.process))?;
        Ok(ctx.runtime.reply(&ctx.process, reference, value)?)
    })?
    .into_lua_multi(lua)
}

/// `process.call(dest, topic, payload?, timeout?)`: the reply value, or `nil, err` (`TIMEOUT` after
/// `timeout`, default 5s; `UNAVAILABLE` when the target exits before it replies; those of a send).
fn call(lua: &Lua, args: MultiValue) -> mlua::Result<Step> {
    let prepared = current(lua).and_then(|ctx| {
        let dest = str_arg(args.front(), "destination")?;
        let topic = str_arg(args.get(1), "topic")?;
        let payload = match args.get(2) {
            None | Some(Value::Nil) => Vec::new(),
            Some(value) => vec![crate::convert::from_lua(value, "payload", Bounds::of_process(&ctx.process))?],
        };
        let timeout = match args.get(3) {
            None | Some(Value::Nil) => DEFAULT_CALL_TIMEOUT,
            Some(value) => duration_arg(value)?,
        };
        let pending = ctx.runtime.start_call(&ctx.process, &dest, &topic, payload)?;
        Ok((pending, timeout))
    });
    let (pending, timeout) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => return fail(lua, e).map(Step::Ready),
    };
    Ok(Step::wait(async move { pending.wait(timeout).await }, |lua, result| match result {
        Ok(value) => Ok(MultiValue::from_iter([to_lua(lua, &value)?])),
        Err(e) => fail(lua, e),
    }))
}

fn upgrade(lua: &Lua, args: MultiValue) -> mlua::Result<Step> {
    let args = Args::from_iter(args);
    let requested = current(lua).and_then(|ctx| {
        let entry = match args.first() {
            None | Some(Value::Nil) => None,
            Some(v) => Some(string_arg(Some(v), "entry id")?),
        };
        let state = from_lua_multi(args.iter().skip(1), "argument", Bounds::of_process(&ctx.process))?;
        let up = ctx.runtime.upgrade(&ctx.process, entry.as_deref())?;
        ctx.request_upgrade(up, state);
        Ok(())
    });
    match requested {
        // The runner drops this thread and starts the new code; this call never returns.
        Ok(()) => Ok(Step::Wait(Wait::Forever)),
        Err(e) => fail(lua, e).map(Step::Ready),
    }
}

fn register_options(lua: &Lua, process: &Table) -> mlua::Result<()> {
    process.set(
        "get_options",
        lua.create_function(|lua, ()| {
            let ctx = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
            let t = lua.create_table()?;
            t.raw_set("trap_links", ctx.process.trap_links())?;
            Ok(t)
        })?,
    )?;
    process.set(
        "set_options",
        lua.create_function(|lua, options: Value| {
            let result = current(lua).and_then(|ctx| {
                let Value::Table(options) = options else {
                    return Err(LuaError::invalid("options must be a table"));
                };
                let mut trap = None;
                for pair in options.pairs::<Value, Value>() {
                    let (k, v) = pair.map_err(|e| LuaError::invalid(e.to_string()))?;
                    match (k.to_string().ok().as_deref(), &v) {
                        (Some("trap_links"), Value::Boolean(b)) => trap = Some(*b),
                        (Some("trap_links"), other) => {
                            return Err(LuaError::invalid(format!(
                                "trap_links must be a boolean, got a {}",
                                other.type_name()
                            )));
                        }
                        (key, _) => return Err(LuaError::invalid(format!("unknown option `{}`", key.unwrap_or("?")))),
                    }
                }
                if let Some(on) = trap {
                    ctx.process.set_trap_links(on);
                }
                Ok(true)
            });
            match result {
                Ok(_) => Ok((true, Value::Nil)),
                Err(e) => Ok((false, Value::UserData(lua.create_userdata(e)?))),
            }
        })?,
    )
}

fn register_mailbox(lua: &Lua, process: &Table) -> mlua::Result<()> {
    process.set(
        "inbox",
        lua.create_function(|lua, ()| {
            let ctx = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
            chan_value(lua, ctx.process.mailbox().inbox())
        })?,
    )?;
    process.set(
        "events",
        lua.create_function(|lua, ()| {
            let ctx = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
            chan_value(lua, ctx.process.mailbox().events())
        })?,
    )?;
    process.set(
        "listen",
        lua.create_function(|lua, (topic, options): (Value, Value)| {
            let ctx = match current(lua) {
                Ok(ctx) => ctx,
                Err(e) => return fail(lua, e),
            };
            let topic = match string_arg(Some(&topic), "topic")
                .and_then(|t: String| corral_core::runtime::check_topic(&t).map(|()| t).map_err(LuaError::from))
            {
                Ok(t) => t,
                Err(e) => return fail(lua, e),
            };
            let message_mode = match options {
                Value::Nil => false,
                Value::Table(o) => match o.raw_get::<Value>("message")? {
                    Value::Nil => false,
                    Value::Boolean(b) => b,
                    other => {
                        let why = format!("listen option `message` must be a boolean, got a {}", other.type_name());
                        return fail(lua, LuaError::invalid(why));
                    }
                },
                other => {
                    return fail(
                        lua,
                        LuaError::invalid(format!("listen options must be a table, got a {}", other.type_name())),
                    );
                }
            };
            match ctx.process.mailbox().listen(&topic, message_mode) {
                Ok(chan) => Ok(MultiValue::from_iter([chan_value(lua, chan)?])),
                Err(e) => fail(lua, e),
            }
        })?,
    )?;
    process.set(
        "unlisten",
        lua.create_function(|lua, ch: Value| {
            with_ctx(lua, |ctx| {
                let not_a_channel =
                    || LuaError::invalid(format!("unlisten takes a channel from listen(), got a {}", ch.type_name()));
                let ud = ch.as_userdata().ok_or_else(not_a_channel)?;
                let chan = ud.borrow::<LuaChan>().map_err(|_| not_a_channel())?;
                if ctx.process.mailbox().unlisten(&chan.0) {
                    Ok(true)
                } else {
                    Err(LuaError::invalid("the channel is not a topic listener of this process"))
                }
            })
        })?,
    )
}

fn register_registry(lua: &Lua, process: &Table) -> mlua::Result<()> {
    let registry = lua.create_table()?;
    registry.set(
        "register",
        lua.create_function(|lua, (name, pid): (Value, Option<Value>)| {
            with_ctx(lua, |ctx| {
                let name = string_arg(Some(&name), "name")?;
                let pid = pid.filter(|p| !p.is_nil()).map(|p| string_arg(Some(&p), "pid")).transpose()?;
                ctx.runtime.register(&ctx.process, &name, pid.as_deref())?;
                Ok(true)
            })
        })?,
    )?;
    registry.set(
        "lookup",
        lua.create_function(|lua, name: Value| {
            with_ctx(lua, |ctx| {
                let name = string_arg(Some(&name), "name")?;
                Ok(ctx.runtime.lookup(&name)?.to_string())
            })
        })?,
    )?;
    registry.set(
        "unregister",
        lua.create_function(|lua, name: Value| {
            with_ctx(lua, |ctx| {
                let name = string_arg(Some(&name), "name")?;
                Ok(ctx.runtime.unregister(&ctx.process, &name)?)
            })
        })?,
    )?;
    process.set("registry", registry)
}

/// A context table of the builder as runtime values, all of them together within `bounds`.
/// Errors: `INVALID` for a key that is not a string or a value that cannot be copied, `LIMIT_EXCEEDED`.
pub fn context_values(
    values: &Table,
    bounds: Bounds,
) -> Result<std::collections::BTreeMap<String, CoreValue>, LuaError> {
    let mut budget = bounds;
    let mut out = std::collections::BTreeMap::new();
    for pair in values.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| LuaError::invalid(e.to_string()))?;
        let Value::String(k) = k else {
            return Err(LuaError::invalid("context keys must be strings"));
        };
        let key = k.to_string_lossy();
        let value = crate::convert::from_lua(&v, &format!("context.{key}"), budget)?;
        budget.bytes = budget.bytes.saturating_sub(value.size());
        out.insert(key, value);
    }
    Ok(out)
}
