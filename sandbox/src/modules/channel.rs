//! The `channel` global: Go-style channels and `channel.select` (`lua-api.md`, "channel").
//!
//! Mailbox channels (`process.listen`, `inbox`, `events`) are the same type, so a select can wait on a
//! topic, the inbox, the events and a timer at once. Blocking calls yield the process, never an OS thread.

use std::sync::Arc;

use corral_core::chan::{self, Case, Chan, Item, Selected};
use corral_core::limits::Charge;
use corral_core::mailbox::{Event, Message};
use mlua::{AnyUserData, Lua, MetaMethod, Table, UserData, UserDataMethods, Value};

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
        methods.add_method("from", |_, this, ()| {
            Ok(match &this.message.from {
                Some(pid) => Some(pid.to_string()),
                None if this.wippy => Some(String::new()),
                None => None,
            })
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
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method("send", |lua, this, value: Value| async move {
            match this.0.send(local(&lua, value)).await {
                Ok(()) => Ok(true),
                Err(_) => Err(mlua::Error::runtime("send on a closed channel")),
            }
        });
        methods.add_async_method("receive", |lua, this, ()| async move {
            let item = this.0.recv().await;
            receive_result(&lua, item)
        });
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

fn receive_result(lua: &Lua, item: Option<Item>) -> mlua::Result<(Value, bool)> {
    match item {
        Some(item) => Ok((item_to_lua(lua, item)?, true)),
        None => Ok((Value::Nil, false)),
    }
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
            Err(_) => Ok(Value::Nil),
        },
    }
}

/// An event as a table: `kind`, `from`, `at`, `result`, `error`, `deadline` (`lua-api.md`, "Events and exits").
fn event_to_lua(lua: &Lua, event: &Event) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 5)?;
    t.raw_set("kind", event.kind.as_str())?;
    t.raw_set("from", event.from.to_string())?;
    t.raw_set("at", event.at)?;
    match &event.result {
        Some(Ok(value)) => {
            let result = lua.create_table()?;
            result.raw_set("value", to_lua(lua, value)?)?;
            t.raw_set("result", result)?;
        }
        Some(Err(message)) => {
            let result = lua.create_table()?;
            result.raw_set("error", message.as_str())?;
            t.raw_set("result", result)?;
            t.raw_set("error", message.as_str())?;
        }
        None => {}
    }
    if let Some(deadline) = &event.deadline {
        t.raw_set("deadline", deadline.as_str())?;
    }
    Ok(t)
}

/// `channel.select{cases..., default = bool}`.
async fn select(lua: Lua, spec: Table) -> mlua::Result<Table> {
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
            Some(v) => Case::Send(chan, Some(local(&lua, v.clone()))),
            None => Case::Recv(chan),
        });
        userdatas.push(case.chan.clone());
    }
    let selected = chan::select(&mut cases, default).await;
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
                out.raw_set("value", item_to_lua(&lua, item)?)?;
            }
        }
        Selected::Sent { index, ok } => {
            out.raw_set("channel", userdatas.get(index).cloned())?;
            out.raw_set("ok", ok)?;
        }
    }
    Ok(out)
}

/// Registers the `channel` global.
pub fn register(lua: &Lua) -> mlua::Result<()> {
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
    channel.set("select", lua.create_async_function(select)?)?;
    lua.globals().set("channel", channel)
}
