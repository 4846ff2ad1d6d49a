//! Blocking module functions: the one way a Lua call parks its process.
//!
//! A blocking function (`ch:receive()`, `channel.select`, `process.call`, `time.sleep`, ...) is written as a
//! plain function that answers at once with a [`Step`]: [`Step::Ready`] with its values, or [`Step::Wait`]
//! with what the process waits for. Everything up to the wait (argument checks, decisions at the gate,
//! conversions) runs on the process's thread, metered like the rest of its code, and a call that can answer
//! at once (a message already queued) never leaves Luau.
//!
//! Parking is a plain Luau yield, with no future or closure made per call: the Rust function stores the
//! wait in its process's context and returns a private marker; a small Luau wrapper sees the marker and
//! yields it to the runner (`runner.rs`), which takes the wait, awaits it, and resumes the thread with the
//! wait's values, which the wrapper returns. The marker is a light userdata no script can make.
//!
//! A blocking call inside a script's own coroutine yields the marker to the `coroutine.resume` that runs
//! the coroutine; the VM's `coroutine.resume` and `coroutine.wrap` are wrappers (installed here) that pass
//! such a yield on to their own caller and hand the answer back, so the wait reaches the runner through any
//! depth of coroutines and the script never sees the marker.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use corral_core::chan::{Chan, Item};
use futures_util::future::BoxFuture;
use mlua::{Function, LightUserData, Lua, MultiValue, Table, Value};

use crate::procs::ProcCtx;

/// Turns what a wait produced into the values the blocking call returns, on the VM of the process that
/// waited (once it runs again).
pub type Resume = Box<dyn FnOnce(&Lua) -> mlua::Result<MultiValue> + Send>;

/// What a blocking call does now.
pub enum Step {
    /// Return these values at once.
    Ready(MultiValue),
    /// Park the process until the wait ends; the call then returns what the wait resumes with.
    Wait(Wait),
}

/// The values a parked call is resumed with: a pair (a receive's `value, ok`), passed to Luau without a
/// list, or any number.
pub enum Values {
    /// Two values.
    Pair(Value, Value),
    /// Any number of values.
    Many(MultiValue),
}

impl Values {
    /// No values (a preempted thread resumes with none).
    pub(crate) fn none() -> Values {
        Values::Many(MultiValue::new())
    }
}

/// What a parked process waits for.
pub enum Wait {
    /// The next item of a channel (`ch:receive()`): resumes with `value, true`, or `nil, false` once the
    /// channel is closed and empty.
    Recv(Chan),
    /// A time to pass (`time.sleep`): resumes with `true`.
    Sleep(Duration),
    /// A future of the runtime; its output becomes the call's values.
    Future(BoxFuture<'static, Resume>),
    /// Nothing: the process never resumes here (`process.upgrade`, whose runner restarts the process).
    Forever,
}

impl Wait {
    /// Waits (holding no lock of the VM), then turns the outcome into the call's values on `lua`, with
    /// `ctx`'s process the current one while they are made: a receive's pair, or a list.
    ///
    /// A parked process holds this future, so it is kept small: the wait is used where it was captured (an
    /// `async fn` would keep a second copy), and a sleep's timer is boxed (it is larger than the rest).
    #[allow(clippy::manual_async_fn, reason = "an async fn would keep a second copy of its arguments")]
    pub(crate) fn finish<'a>(
        self,
        lua: &'a Lua,
        ctx: &'a Arc<ProcCtx>,
    ) -> impl std::future::Future<Output = mlua::Result<Values>> + Send + 'a {
        async move {
            match self {
                Wait::Recv(chan) => {
                    let item = chan.recv().await;
                    let _running = crate::procs::enter(ctx);
                    let (value, ok) = received(lua, item)?;
                    Ok(Values::Pair(value, ok))
                }
                Wait::Sleep(duration) => {
                    Box::pin(tokio::time::sleep(duration)).await;
                    Ok(Values::Many(MultiValue::from_iter([Value::Boolean(true)])))
                }
                Wait::Future(future) => {
                    let resume = future.await;
                    let _running = crate::procs::enter(ctx);
                    resume(lua).map(Values::Many)
                }
                Wait::Forever => std::future::pending().await,
            }
        }
    }
}

/// What `ch:receive()` returns for what the channel gave: `value, true`, or `nil, false` when it is closed.
pub(crate) fn received(lua: &Lua, item: Option<Item>) -> mlua::Result<(Value, Value)> {
    Ok(match item {
        Some(item) => (crate::modules::channel::item_to_lua(lua, item)?, Value::Boolean(true)),
        None => (Value::Nil, Value::Boolean(false)),
    })
}

impl Step {
    /// [`Step::Wait`] on `future`, whose output `resume` turns into the call's values.
    pub fn wait<T: Send + 'static>(
        future: impl std::future::Future<Output = T> + Send + 'static,
        resume: impl FnOnce(&Lua, T) -> mlua::Result<MultiValue> + Send + 'static,
    ) -> Step {
        Step::Wait(Wait::Future(Box::pin(async move {
            let output = future.await;
            Box::new(move |lua: &Lua| resume(lua, output)) as Resume
        })))
    }
}

/// The byte whose address is the marker.
static MARKER: u8 = 0;

/// The value a parked call yields to the runner: a light userdata (scripts cannot make one), the address of
/// a static of ours.
fn marker() -> Value {
    Value::LightUserData(LightUserData(std::ptr::addr_of!(MARKER).cast_mut().cast()))
}

/// Whether `value` is the marker of a parked call.
pub(crate) fn is_marker(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::LightUserData(LightUserData(p))) if std::ptr::eq(p.cast_const().cast::<u8>(), &MARKER))
}

/// What the VM's blocking functions share: the Luau wrapper that makes them (kept in the VM's app data).
struct Glue {
    wrap: Function,
    wrap_pair: Function,
}

/// Takes the wait the last parked call of `ctx`'s process left (`None` after a yield that was not a parked
/// call: a preemption, or a bare `coroutine.yield` at the top of a process).
pub(crate) fn take_parked(ctx: &ProcCtx) -> Option<Wait> {
    ctx.parked.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// The glue: `wrap(raw)` makes a blocking Lua function of a raw Rust one; `resume` and `wrap_co` replace
/// `coroutine.resume` and `coroutine.wrap` (they pass a parked call's yield on to their own caller).
const GLUE: &str = r#"
local MARKER, co_resume, co_status, co_create, yield, isyieldable, adopt, nest = ...
-- `(...)`, not a `first` parameter: a vararg function's fixed parameters are copied, a slot more on the stack of
-- every parked process.
local function settle(...)
  if (...) == MARKER then return yield(MARKER) end
  return ...
end
local function wrap(raw)
  return function(...) return settle(raw(...)) end
end
-- For a raw function that always answers a pair (`ch:receive()`): no vararg pass-through.
local function wrap_pair(raw)
  return function(...)
    local first, second = raw(...)
    if first == MARKER then return yield(MARKER) end
    return first, second
  end
end
local function forward(co, ok, first, ...)
  if ok and first == MARKER and co_status(co) == "suspended" then
    if not isyieldable() then
      nest(false)
      error("a blocking call in a coroutine resumed where the process cannot wait (a metamethod or a library callback)", 2)
    end
    return forward(co, co_resume(co, yield(MARKER)))
  end
  nest(false)
  return ok, first, ...
end
local function resume(co, ...)
  nest(true)
  return forward(co, co_resume(co, ...))
end
local function unwrap(ok, ...)
  if not ok then error((...), 2) end
  return ...
end
local function wrap_co(f)
  local co = co_create(f)
  return function(...) return unwrap(resume(co, ...)) end
end
-- `coroutine.spawn(f)` (the reference dialect): the coroutine is made here, on the calling process's thread,
-- so its memory is the process's; the runner adopts it as another root of the process.
local function spawn(f)
  if type(f) ~= "function" then error("coroutine.spawn takes a function, got a " .. type(f), 2) end
  adopt(co_create(f))
end
return wrap, wrap_pair, resume, wrap_co, spawn
"#;

/// Installs the glue in a new VM: the [`Parked`] slot, and `coroutine.resume` / `coroutine.wrap` replaced by
/// the forwarding wrappers; with `wippy` also `coroutine.spawn` (`wippy-compat.md`, "coroutine.spawn").
/// Called by `create_vm` before the modules register and the globals are sealed.
pub fn install(lua: &Lua, wippy: bool) -> mlua::Result<()> {
    let coroutine: Table = lua.globals().get("coroutine")?;
    let adopt = lua.create_function(|lua, thread: mlua::Thread| {
        let ctx = crate::procs::current_or_raise(lua)?;
        ctx.adopt(thread);
        Ok(())
    })?;
    // The process's coroutine depth (Corral's own dialect refuses process calls inside a script's coroutine).
    let nest = lua.create_function(|_, inside: bool| {
        if let Some(ctx) = crate::procs::running() {
            ctx.nest(inside);
        }
        Ok(())
    })?;
    let (wrap, wrap_pair, resume, wrap_co, spawn): (Function, Function, Function, Function, Function) =
        crate::vm::load_builtin(lua, "=corral:block", GLUE)?.call((
            marker(),
            coroutine.get::<Function>("resume")?,
            coroutine.get::<Function>("status")?,
            coroutine.get::<Function>("create")?,
            coroutine.get::<Function>("yield")?,
            coroutine.get::<Function>("isyieldable")?,
            adopt,
            nest,
        ))?;
    coroutine.raw_set("resume", resume)?;
    coroutine.raw_set("wrap", wrap_co)?;
    if wippy {
        coroutine.raw_set("spawn", spawn)?;
    }
    lua.set_app_data(Glue { wrap, wrap_pair });
    Ok(())
}

/// A Lua function that runs `f` with its arguments and returns what the step gives, parking the process on
/// a [`Step::Wait`]. Errors from `f` are raised in the calling script. Needs [`install`] first.
pub fn function<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> mlua::Result<Step> + Send + 'static,
{
    let raw = lua.create_function(move |lua, args: MultiValue| match f(lua, args)? {
        Step::Ready(values) => Ok(values),
        Step::Wait(wait) => Ok(MultiValue::from_iter([park(wait)?])),
    })?;
    wrap(lua, raw)
}

/// Parks the running process on `wait`: stores it in the process's context and gives the marker, which the
/// raw function of a blocking call returns first (its wrapper, [`wrap`], yields it to the runner). Errors:
/// outside a process, which cannot wait.
pub(crate) fn park(wait: Wait) -> mlua::Result<Value> {
    let ctx =
        crate::procs::running().ok_or_else(|| mlua::Error::runtime("a blocking call outside a process cannot wait"))?;
    *ctx.parked.lock().unwrap_or_else(PoisonError::into_inner) = Some(wait);
    Ok(marker())
}

/// The blocking Lua function of `raw`, a Rust function that answers at once or returns the marker first
/// after [`park`]. For a raw function with typed arguments and results (no list made per call); most
/// blocking calls use [`function`].
pub(crate) fn wrap(lua: &Lua, raw: Function) -> mlua::Result<Function> {
    glue(lua, |g| &g.wrap)?.call(raw)
}

/// [`wrap`] for a raw function that always returns exactly two values (the marker and nil when it parks):
/// its wrapper passes two values on rather than a list of any length.
pub(crate) fn wrap_pair(lua: &Lua, raw: Function) -> mlua::Result<Function> {
    glue(lua, |g| &g.wrap_pair)?.call(raw)
}

fn glue(lua: &Lua, which: impl FnOnce(&Glue) -> &Function) -> mlua::Result<Function> {
    lua.app_data_ref::<Glue>()
        .map(|g| which(&g).clone())
        .ok_or_else(|| mlua::Error::runtime("block::install was not called on this VM"))
}
