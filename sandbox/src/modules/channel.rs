//! The `channel` global: Go-style channels and `channel.select` (`lua-api.md`, "channel").
//!
//! Mailbox channels (`process.listen`, `inbox`, `events`) are the same type, so a select can wait on a
//! topic, the inbox, the events and a timer at once. Blocking calls yield the process, never an OS thread.

use std::sync::Arc;

use corral_core::chan::{self, Case, Chan, Item, Selected, SendError};
use corral_core::limits::Charge;
use corral_core::mailbox::{Event, Message};
use mlua::{
    AnyUserData, Either, Lua, MetaMethod, MultiValue, Table, UserData, UserDataFields, UserDataMethods, UserDataRef,
    Value,
};

use crate::block::{self, Step, Wait};

use crate::convert::{payload_to_lua, to_lua};
use crate::modules::errors::LuaError;
use crate::modules::payload::LuaPayload;
use crate::modules::process::LuaCallRef;

/// A channel as scripts hold it.
#[derive(Clone)]
pub struct LuaChan(pub Chan);

/// A Lua value in a script's own channel (it never leaves the VM), and what holding it costs the sender.
struct Local {
    value: Value,
    _charge: Charge,
}

/// The host bytes one item of a script's own channel holds outside the Lua heap (its box and queue slot).
const LOCAL_ITEM_BYTES: usize = 64;

fn local(lua: &Lua, value: Value) -> Item {
    Item::Local(Box::new(Local { value, _charge: crate::modules::errors::charge(lua, LOCAL_ITEM_BYTES) }))
}

/// One case of `channel.select`: the channel's userdata, and for a send case the value.
pub struct LuaCase {
    chan: AnyUserData,
    send: Option<Value>,
}

impl UserData for LuaCase {}

/// A message object (`lua-api.md`, "Messages and topics").
pub struct LuaMessage {
    message: Arc<Message>,
    wippy: bool,
}

impl LuaMessage {
    /// The runtime's message (its sender, actor and topic set by the runtime, never by the sender).
    pub(crate) fn message(&self) -> &Arc<Message> {
        &self.message
    }
}

impl UserData for LuaMessage {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("topic", |_, this, ()| Ok(this.message.topic.to_string()));
        // The sender's actor id, so a receiver can tell who a message acts for (issue 9).
        methods.add_method("from_actor", |_, this, ()| Ok(this.message.from_actor.as_deref().map(str::to_string)));
        methods.add_method("from", |lua, this, ()| match &this.message.from {
            // Read on the receiver's thread: its context keeps the sender's string for the next message.
            Some(pid) => match crate::procs::with_running(|ctx| ctx.sender_string(lua, pid)) {
                Some(text) => text.map(Value::String),
                None => lua.create_string(pid.as_str()).map(Value::String),
            },
            None if this.wippy => lua.create_string("").map(Value::String),
            None => Ok(Value::Nil),
        });
        // The call's reply reference, or nil for a plain send (`models.md`, "Call and reply").
        methods.add_method("reply_to", |_, this, ()| Ok(this.message.reply_to.clone().map(LuaCallRef)));
        methods.add_method("reply", |lua, this, value: Value| match &this.message.reply_to {
            Some(reference) => crate::modules::process::reply(lua, reference, &value),
            None => crate::modules::errors::fail(
                lua,
                LuaError::invalid("msg:reply on a message that is not a call (it came from process.send)"),
            ),
        });
        methods.add_method("payload", |lua, this, ()| {
            let value = payload_to_lua(lua, &this.message.payload)?;
            if this.wippy { lua.create_userdata(LuaPayload::lua(value)).map(Value::UserData) } else { Ok(value) }
        });
    }
}

impl UserData for LuaChan {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        // The blocking methods are Luau functions (they park by yielding, `block.rs`); mlua adds the Rust
        // methods below to this same `__index` table.
        fields.add_meta_field_with("__index", blocking_methods);
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("close", |_, this, ()| {
            this.0.close();
            Ok(())
        });
        methods.add_function("case_receive", |_, ud: AnyUserData| Ok(LuaCase { chan: ud, send: None }));
        methods.add_function("case_send", |_, (ud, value): (AnyUserData, Value)| {
            Ok(LuaCase { chan: ud, send: Some(value) })
        });
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(other.borrow::<LuaChan>().map(|o| o.0.id() == this.0.id()).unwrap_or(false))
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(format!("channel: {}", this.0.id())));
    }
}

/// The channel a method was called on. Errors: a raised `INVALID`-style message for anything else
/// (`ch.receive(42)`).
fn this_chan(args: &MultiValue, method: &str) -> mlua::Result<Chan> {
    match args.front() {
        Some(Value::UserData(ud)) => {
            ud.borrow::<LuaChan>().map(|c| c.0.clone()).map_err(|_| not_a_channel(method, "userdata"))
        }
        Some(other) => Err(not_a_channel(method, other.type_name())),
        None => Err(not_a_channel(method, "nothing")),
    }
}

/// The error for `method` called on a `what` instead of a channel.
fn not_a_channel(method: &str, what: &str) -> mlua::Error {
    mlua::Error::runtime(format!("{method} must be called on a channel (ch:{method}(...)), got a {what}"))
}

/// `ch:receive()` and `ch:send(v)`: they answer at once when they can (an item queued, room in the buffer)
/// and park the process otherwise.
fn blocking_methods(lua: &Lua) -> mlua::Result<Table> {
    let methods = lua.create_table()?;
    // The hottest blocking call: the channel is borrowed where it lies on the stack and the answer is a
    // pair, so a receive makes no list and no reference.
    let receive = lua.create_function(|lua, this: Either<UserDataRef<LuaChan>, Value>| {
        let chan = match this {
            Either::Left(chan) => chan,
            Either::Right(other) => return Err(not_a_channel("receive", other.type_name())),
        };
        match chan.0.try_recv() {
            Some(item) => block::received(lua, item),
            None => Ok((block::park(Wait::Recv(chan.0.clone()))?, Value::Nil)),
        }
    })?;
    methods.raw_set("receive", block::wrap_pair(lua, receive)?)?;
    methods.raw_set(
        "send",
        block::function(lua, |lua, args| {
            let chan = this_chan(&args, "send")?;
            let value = args.get(1).cloned().unwrap_or(Value::Nil);
            let item = local(lua, value);
            let waiting = chan.clone();
            let wait = move |item: Item| {
                Step::wait(async move { waiting.send(item).await }, move |_, sent| match sent {
                    Ok(()) => Ok(MultiValue::from_iter([Value::Boolean(true)])),
                    Err(_) => Err(mlua::Error::runtime("send on a closed channel")),
                })
            };
            // Unbuffered: the send completes when a receiver has taken the item, so it always waits.
            if chan.capacity() == 0 {
                return Ok(wait(item));
            }
            match chan.try_send(item) {
                Ok(()) => Ok(Step::Ready(MultiValue::from_iter([Value::Boolean(true)]))),
                Err(SendError::Closed(_)) => Err(mlua::Error::runtime("send on a closed channel")),
                Err(SendError::Full(item)) => Ok(wait(item)),
            }
        })?,
    )?;
    Ok(methods)
}

/// What a script receives for a channel item.
pub fn item_to_lua(lua: &Lua, item: Item) -> mlua::Result<Value> {
    match item {
        Item::Payload(payload) => payload_to_lua(lua, &payload),
        Item::Raw(message) => payload_to_lua(lua, &message.payload),
        Item::Message(message) => {
            // Only a Message object depends on the dialect, which is the VM's (no process lookup).
            let wippy = crate::modules::require::is_wippy(lua);
            lua.create_userdata(LuaMessage { message, wippy }).map(Value::UserData)
        }
        Item::Event(event) => event_to_lua(lua, &event).map(Value::Table),
        Item::Local(boxed) => match boxed.downcast::<Local>() {
            Ok(local) => Ok(local.value),
            Err(other) => crate::modules::funcs::foreign_item(lua, other),
        },
    }
}

/// Builds an event's table in one call into Luau, compiled once per VM and kept in its app data. Its field
/// names are constants of the chunk; set from Rust, each field's name is made into a Lua string again per
/// event, which costs more than the call (measured: about 3,000 instructions more per EXIT).
struct EventMaker(mlua::Function);

const EVENT_MAKER: &str = r#"
return function(kind, from, at, has_result, value, err, deadline)
  local t = { kind = kind, from = from, at = at }
  if has_result then
    if err ~= nil then
      t.result = { error = err }
      t.error = err
    else
      t.result = { value = value }
    end
  end
  if deadline ~= nil then t.deadline = deadline end
  return t
end
"#;

/// An event as a table: `kind`, `from`, `at`, `result`, `error`, `deadline` (`lua-api.md`, "Events and exits").
fn event_to_lua(lua: &Lua, event: &Event) -> mlua::Result<Table> {
    let maker = lua
        .app_data_ref::<EventMaker>()
        .map(|m| m.0.clone())
        .ok_or_else(|| mlua::Error::runtime("the channel module is not installed on this VM"))?;
    let (has_result, value, error) = match &event.result {
        Some(Ok(value)) => (true, to_lua(lua, value)?, None),
        Some(Err(message)) => (true, Value::Nil, Some(message.as_str())),
        None => (false, Value::Nil, None),
    };
    maker.call((
        event.kind.as_str(),
        event.from.as_str(),
        event.at,
        has_result,
        value,
        error,
        event.deadline.as_deref(),
    ))
}

/// `channel.select{cases..., default = bool}`: runs the first ready case at once, or with `default` answers
/// `{default = true}`; otherwise parks until a case is ready.
fn select(lua: &Lua, args: MultiValue) -> mlua::Result<Step> {
    let spec = match args.front() {
        Some(Value::Table(spec)) => spec.clone(),
        other => {
            let got = other.map_or("nothing", Value::type_name);
            return Err(mlua::Error::runtime(format!("select takes a table of cases, got a {got}")));
        }
    };
    let default = spec.raw_get::<Option<bool>>("default")?.unwrap_or(false);
    let mut userdatas = Vec::new();
    let mut cases = Vec::new();
    for (i, value) in spec.sequence_values::<Value>().enumerate() {
        let case = match value? {
            Value::UserData(ud) if ud.is::<LuaCase>() => ud,
            other => {
                let message =
                    format!("select case {} is a {}, not a case_receive() or case_send()", i + 1, other.type_name());
                return Err(mlua::Error::external(LuaError::invalid(message).message));
            }
        };
        let case = case.borrow::<LuaCase>()?;
        let chan = case.chan.borrow::<LuaChan>()?.0.clone();
        cases.push(match &case.send {
            Some(v) => Case::Send(chan, Some(local(lua, v.clone()))),
            None => Case::Recv(chan),
        });
        userdatas.push(case.chan.clone());
    }
    let selected = match chan::try_select(&mut cases) {
        Some(selected) => selected,
        None if default => Selected::Default,
        None => {
            return Ok(Step::wait(
                async move {
                    let selected = chan::select(&mut cases, false).await;
                    (selected, userdatas)
                },
                |lua, (selected, userdatas)| selected_table(lua, selected, &userdatas),
            ));
        }
    };
    Ok(Step::Ready(selected_table(lua, selected, &userdatas)?))
}

/// What `channel.select` returns: `{channel, value, ok}` for the case that ran, `{default = true, ok = true}`.
fn selected_table(lua: &Lua, selected: Selected, userdatas: &[AnyUserData]) -> mlua::Result<MultiValue> {
    let out = lua.create_table()?;
    match selected {
        Selected::Default => {
            out.raw_set("default", true)?;
            out.raw_set("ok", true)?;
        }
        Selected::Recv { index, item } => {
            out.raw_set("channel", userdatas.get(index).cloned())?;
            out.raw_set("ok", item.is_some())?;
            if let Some(item) = item {
                out.raw_set("value", item_to_lua(lua, item)?)?;
            }
        }
        Selected::Sent { index, ok } => {
            out.raw_set("channel", userdatas.get(index).cloned())?;
            out.raw_set("ok", ok)?;
        }
    }
    Ok(MultiValue::from_iter([Value::Table(out)]))
}

/// Registers the `channel` global.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let maker: mlua::Function = crate::vm::load_builtin(lua, "=corral:event", EVENT_MAKER)?.call(())?;
    lua.set_app_data(EventMaker(maker));
    let channel = lua.create_table()?;
    channel.set(
        "new",
        lua.create_function(|_, size: Option<i64>| {
            let size = size.unwrap_or(0);
            if size < 0 {
                return Err(mlua::Error::runtime(format!("channel size must be 0 or more, got {size}")));
            }
            Ok(LuaChan(Chan::new(size as usize)))
        })?,
    )?;
    channel.set("select", block::function(lua, select)?)?;
    lua.globals().set("channel", channel)
}
