//! The reference dialect's `events` module (`[compat] wippy = true`; `docs/wippy-compat.md`, "events"): the
//! runtime's event bus ([`corral_core::Runtime::send_event`], [`corral_core::Runtime::subscribe_events`]).
//!
//! `events.send(system, kind, path, data?)` returns `true` or `nil, err`; `events.subscribe(system, kind?)`
//! a Subscription or `nil, err`; `sub:channel()` the channel its events arrive on (tables `{system, kind,
//! path, data}`, usable in `channel.select`), `sub:close()` ends it. Each send and subscribe is decided at
//! the gate (`events.send`, `events.subscribe`); no authorization happens here.

use corral_core::runtime::Subscription;
use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use crate::convert::{Bounds, from_lua};
use crate::modules::channel::LuaChan;
use crate::modules::errors::{LuaError, charge, ret};
use crate::procs::current;

/// What the host holds for one subscription's handle, charged to the subscriber.
const SUBSCRIPTION_BYTES: usize = 256;

/// A subscription as scripts hold it.
pub struct LuaSubscription {
    sub: Subscription,
    _charge: corral_core::limits::Charge,
}

fn text(value: Option<&Value>, what: &str) -> Result<String, LuaError> {
    match value {
        Some(Value::String(s)) => {
            let bytes = s.as_bytes();
            if bytes.len() > corral_core::limits::MAX_NAME_BYTES {
                return Err(LuaError::invalid(format!(
                    "{what} is longer than {} bytes",
                    corral_core::limits::MAX_NAME_BYTES
                )));
            }
            std::str::from_utf8(&bytes)
                .map(str::to_string)
                .map_err(|_| LuaError::invalid(format!("{what} must be UTF-8")))
        }
        None | Some(Value::Nil) => Err(LuaError::invalid(format!("{what} must not be empty"))),
        Some(other) => Err(LuaError::invalid(format!("{what} must be a string, got a {}", other.type_name()))),
    }
}

fn send(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let result = (|| {
        let ctx = current(lua)?;
        let system = text(args.front(), "event system")?;
        let kind = text(args.get(1), "event kind")?;
        let path = text(args.get(2), "event path")?;
        let data = match args.get(3) {
            None | Some(Value::Nil) => corral_core::value::Value::Nil,
            Some(value) => from_lua(value, "event data", Bounds::of_process(&ctx.process))?,
        };
        ctx.runtime.send_event(&ctx.process, &system, &kind, &path, data)?;
        Ok::<_, LuaError>(true)
    })();
    ret(lua, result)
}

fn subscribe(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let result = (|| {
        let ctx = current(lua)?;
        let pattern = text(args.front(), "event system")?;
        let kind = match args.get(1) {
            None | Some(Value::Nil) => None,
            value => Some(text(value, "event kind")?),
        };
        let sub = ctx.runtime.subscribe_events(&ctx.process, &pattern, kind.as_deref())?;
        Ok::<_, LuaError>(LuaSubscription { sub, _charge: charge(lua, SUBSCRIPTION_BYTES) })
    })();
    ret(lua, result)
}

impl UserData for LuaSubscription {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("channel", |_, this, ()| Ok(LuaChan(this.sub.chan().clone())));
        methods.add_method("close", |lua, this, ()| match current(lua) {
            Ok(ctx) => Ok(ctx.runtime.unsubscribe_events(&ctx.process, &this.sub)),
            Err(_) => Ok(false),
        });
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| {
            Ok(format!("subscription: {}", this.sub.chan().id()))
        });
    }
}

/// Creates the `events` table (granted by `modules: [events]` in the reference dialect).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let events = lua.create_table()?;
    events.set("send", lua.create_function(send)?)?;
    events.set("subscribe", lua.create_function(subscribe)?)?;
    Ok(events)
}
