//! AO processes (`models.md`, "AO processes"; seed 000's `aos`): an entry with `meta: {model: ao}`.
//!
//! The process's env gets two globals of its own, `ao` and `Handlers`; the entry's top level registers
//! handlers, and then the runtime's receive loop (this module's glue, not the script) takes each message,
//! builds the AO message table and dispatches it through `Handlers` in order.
//!
//! - **Messages** are tables `{Id, From, Owner, Target, Action, Data, Tags}`, every tag also readable as
//!   `msg.TagName`. `Id` (a fresh UUID), `From` (the sender's PID), `Owner` (the sender's actor id) and
//!   `Target` (this process) are set here from the runtime's message ([`message`]), never from the payload:
//!   a sender's `From`, `Id`, `Owner` or `Target` is dropped. `Action` is the topic. A table payload's
//!   string keys are the tags (a `Tags` table in it is merged in) and its `Data` field the `Data`; any other
//!   payload is the `Data`. More than [`MAX_TAGS`] tags is a failed message (audited as `ao.error`).
//! - **Handlers**: `add(name, pattern, handle)` replaces a same-named handler in place or appends,
//!   `append` / `prepend` add at (or move an existing name to) the end / start, `remove(name)`, `list` (a
//!   frozen array of `{name, pattern, handle}` in dispatch order), `utils.hasMatchingTag(name, value)`,
//!   `utils.hasMatchingData(value)`, `utils.continue(pattern)`. At most [`MAX_HANDLERS`] handlers
//!   (`LIMIT_EXCEEDED`). A pattern is a function of the message (`true` / `"break"` / a negative number:
//!   handle and stop; `"continue"` / a positive number: handle and go on; `false` / `nil` / `"skip"` / 0:
//!   not this one), a table whose every key must match (`Action` the action, other keys the message's
//!   fields and tags; a value is a string compared exactly or, with Lua pattern characters, matched, `"_"`
//!   for any value, a function of the value, or a table of alternatives), or a string matching `Action`.
//! - **A failing handler** (or pattern) does not end the process: the error is logged (target
//!   `corral::script`, within the process's `print` budget), counted and audited (`ao.error`,
//!   [`corral_core::Runtime::ao_report`]), and the next message is handled. A message no handler matched is
//!   counted and audited (`ao.unhandled`). Both records are rate-limited per process.
//! - **`ao.send(msg)`** sends `msg` minus `From` / `Id` / `Owner` (set here: this process, a fresh UUID, its
//!   actor) to `msg.Target` on topic `msg.Action` (`"ao"` when none): a `process.send`, decided as such.
//!   **`ao.spawn(entry, tags)`** spawns on this process's host with `Memory-Limit` (a size: `"500-mb"`,
//!   `"1-gb"`, `"64MiB"`, or bytes) and `Compute-Limit` (compute units) as its limits; the tags (all of them)
//!   reach the child as its first spawn argument, which an AO child sees as `ao.env.Process.Tags`.
//!   `ao.id` is the own PID; `ao.env = {Process = {Id, Owner, Tags}, Module = {Id, Owner, Tags}}` (frozen).
//! - **Calls**: a message sent with `process.call` has `msg.reply(value)`, which answers the caller once
//!   (`true`, then `false`), like `msg:reply`.
//! - **Events**: a CANCEL ends the process normally; other lifecycle events (an EXIT of a monitored
//!   process, a LINK_DOWN when trapping links) are dispatched as messages with `Action` the event kind,
//!   `From` the PID it is about and `Data` the event table.
//!
//! Every table a script reaches here belongs to its process alone (the glue is compiled once per VM and its
//! natives are upvalues no script can reach).

use corral_core::ErrorKind;
use corral_core::app::{Entry, EntryKind};
use corral_core::limits::{LimitRequest, cut};
use corral_core::runtime::{AO_ERROR_TEXT_MAX, AoOutcome, SpawnSpec};
use corral_core::value::Value as CoreValue;
use mlua::{AnyUserData, Function, Lua, MultiValue, Table, Value};

use crate::convert::{Bounds, from_lua, payload_to_lua, to_lua};
use crate::modules::channel::LuaMessage;
use crate::modules::errors::{LuaError, ret};
use crate::procs::current;

/// The most handlers one AO process holds.
pub const MAX_HANDLERS: usize = 1024;

/// The most tags one AO message carries (received, sent or given to `ao.spawn`).
pub const MAX_TAGS: usize = 256;

/// Fields the runtime sets on a received message: a tag of one of these names is dropped.
const RESERVED: [&str; 7] = ["Id", "From", "Owner", "Target", "Action", "Data", "Tags"];

/// Fields `ao.send` sets itself: the sender's are dropped.
const SET_BY_RUNTIME: [&str; 3] = ["From", "Id", "Owner"];

/// Whether `entry` runs as an AO process: a `process.lua` entry with `meta: {model: ao}` (a function entry
/// runs its code once, so the meta does not apply to it).
pub fn is_ao(entry: &Entry) -> bool {
    entry.kind == EntryKind::Process && entry.meta.get("model").and_then(|m| m.as_str()) == Some("ao")
}

/// The glue: called once per VM with the natives, it returns `wrap(chunk, env)`, which returns what the
/// boot glue runs as the entry's chunk: a function returning the process's `main(...)`.
const SOURCE: &str = r##"
local N = ...
local process, channel, error, pcall, type, tostring, select, setmetatable, pairs, rawget, rawset =
    process, channel, error, pcall, type, tostring, select, setmetatable, pairs, rawget, rawset
local freeze, sfind, smatch = table.freeze, string.find, string.match
local MAX_HANDLERS = N.MAX_HANDLERS

local function plain(e)
    if type(e) == "string" then return e end
    local ok, text = pcall(tostring, e)
    if ok and type(text) == "string" then return text end
    return "error object is a " .. type(e) .. " value"
end

local function freeze_all(t, depth)
    if type(t) ~= "table" or depth > 64 then return t end
    for _, v in pairs(t) do freeze_all(v, depth + 1) end
    if not table.isfrozen(t) then freeze(t) end
    return t
end

-- A value pattern against one field's value.
local function value_matches(p, actual, msg)
    if p == "_" then return actual ~= nil end
    local kind = type(p)
    if kind == "function" then return p(actual, msg) and true or false end
    if kind == "table" then
        for _, alternative in pairs(p) do
            if value_matches(alternative, actual, msg) then return true end
        end
        return false
    end
    if actual == p then return true end
    if kind == "string" and type(actual) == "string" and sfind(p, "[%^%$%(%)%%%.%[%]%*%+%?]") then
        return smatch(actual, p) ~= nil
    end
    return false
end

local function field(msg, name)
    local v = msg[name]
    if v == nil and type(msg.Tags) == "table" then v = msg.Tags[name] end
    return v
end

local function matcher(pattern, what)
    local kind = type(pattern)
    if kind == "function" then return pattern end
    if kind == "string" then
        return function(msg) return value_matches(pattern, msg.Action, msg) end
    end
    if kind == "table" then
        return function(msg)
            for key, want in pairs(pattern) do
                if not value_matches(want, field(msg, key), msg) then return false end
            end
            return true
        end
    end
    error(what .. ": a pattern is a function, a table or an Action string, got a " .. kind, 3)
end

-- -1: handle and stop; 1: handle and go on; 0: not this one.
local function verdict(r, name)
    if r == true or r == "break" then return -1 end
    if r == nil or r == false or r == "skip" then return 0 end
    if r == "continue" then return 1 end
    if type(r) == "number" then
        if r < 0 then return -1 elseif r > 0 then return 1 else return 0 end
    end
    error("the pattern of handler `" .. name .. "` returned a " .. type(r)
        .. " (expected true, false, \"continue\" or \"break\")", 0)
end

local function new_handlers()
    local list = {}          -- replaced, never changed in place: a dispatch keeps the list it started with
    local published = nil    -- the frozen Handlers.list, rebuilt when read after a change

    local function check(name, pattern, handle, what)
        if type(name) ~= "string" then error(what .. ": the name must be a string, got a " .. type(name), 3) end
        if #name > 256 then error(what .. ": the name is longer than 256 bytes", 3) end
        if type(handle) ~= "function" then
            error(what .. ": the handle must be a function, got a " .. type(handle), 3)
        end
        return { name = name, pattern = pattern, handle = handle, match = matcher(pattern, what) }
    end

    local function find(name)
        for i = 1, #list do
            if list[i].name == name then return i end
        end
        return nil
    end

    -- A copy of `list` without index `skip`, with `h` at `at` ("first", "last" or an index to replace).
    local function rebuilt(skip, h, at)
        local out = {}
        if at == "first" and h then out[1] = h end
        for i = 1, #list do
            if i == at then
                out[#out + 1] = h
            elseif i ~= skip then
                out[#out + 1] = list[i]
            end
        end
        if at == "last" and h then out[#out + 1] = h end
        if #out > MAX_HANDLERS then
            error(N.limit("Handlers: at most " .. MAX_HANDLERS .. " handlers per process"), 3)
        end
        list = out
        published = nil
    end

    local H = {}
    local utils = {}
    H.utils = utils

    local function two(name, pattern, handle)
        -- Handlers.add(name, handle): the name is the Action it handles (as aos allows).
        if handle == nil and type(pattern) == "function" then return name, pattern end
        return pattern, handle
    end

    function H.add(name, pattern, handle)
        pattern, handle = two(name, pattern, handle)
        local h = check(name, pattern, handle, "Handlers.add")
        local i = find(name)
        if i then rebuilt(nil, h, i) else rebuilt(nil, h, "last") end
        return #list
    end

    function H.append(name, pattern, handle)
        pattern, handle = two(name, pattern, handle)
        local h = check(name, pattern, handle, "Handlers.append")
        rebuilt(find(name), h, "last")
        return #list
    end

    function H.prepend(name, pattern, handle)
        pattern, handle = two(name, pattern, handle)
        local h = check(name, pattern, handle, "Handlers.prepend")
        rebuilt(find(name), h, "first")
        return #list
    end

    function H.remove(name)
        local i = find(name)
        if not i then return false end
        rebuilt(i, nil, nil)
        return true
    end

    function utils.hasMatchingTag(name, value)
        return function(msg) return value_matches(value, field(msg, name), msg) end
    end

    function utils.hasMatchingData(value)
        return function(msg) return value_matches(value, msg.Data, msg) end
    end

    function utils.continue(pattern)
        local m = matcher(pattern, "Handlers.utils.continue")
        return function(msg)
            local r = m(msg)
            if r == true or r == "break" or (type(r) == "number" and r ~= 0) then return "continue" end
            return r
        end
    end

    freeze(utils)
    -- The metatable is frozen rather than locked (table.freeze refuses a table with a locked metatable).
    setmetatable(H, freeze({
        __index = function(_, key)
            if key ~= "list" then return nil end
            if not published then
                local out = {}
                for i = 1, #list do
                    local h = list[i]
                    out[i] = freeze({ name = h.name, pattern = h.pattern, handle = h.handle })
                end
                published = freeze(out)
            end
            return published
        end,
    }))
    freeze(H)
    return H, function() return list end
end

return function(chunk, env)
    return function()
        return function(tags, ...)
            if type(tags) ~= "table" then tags = {} end
            local aoenv = freeze_all(N.env(tags), 0)
            local self_pid = process.pid()
            local ao = freeze({
                id = self_pid,
                env = aoenv,
                send = function(msg) return N.send(msg) end,
                spawn = function(module, msg) return N.spawn(module, msg) end,
            })
            local Handlers, current = new_handlers()
            rawset(env, "ao", ao)
            rawset(env, "Handlers", Handlers)
            chunk()

            local function failed(from, action, name, e)
                N.report("error", from, action, "handler `" .. name .. "`: " .. plain(e))
            end

            local function dispatch(msg)
                local from, action = msg.From, msg.Action
                local list = current()
                local matched = false
                for i = 1, #list do
                    local h = list[i]
                    local ok, r = pcall(h.match, msg)
                    if ok then ok, r = pcall(verdict, r, h.name) end
                    if not ok then return failed(from, action, h.name, r) end
                    if r ~= 0 then
                        matched = true
                        local done, e = pcall(h.handle, msg, aoenv)
                        if not done then return failed(from, action, h.name, e) end
                        if r < 0 then return end
                    end
                end
                if not matched then N.report("unhandled", from, action, nil) end
            end

            local inbox, events = process.inbox(), process.events()
            while true do
                local r = channel.select({ inbox:case_receive(), events:case_receive() })
                if not r.ok then return nil end
                if r.channel == events then
                    local ev = r.value
                    if ev.kind == process.event.CANCEL then return nil end
                    dispatch({ Id = N.id(), From = ev.from, Target = self_pid, Action = ev.kind, Data = ev, Tags = {} })
                else
                    local raw = r.value
                    local msg, from, action, why = N.message(raw)
                    if msg then
                        -- A message of process.call: msg.reply(value) answers the caller (once).
                        if raw:reply_to() then
                            msg.reply = function(value) return raw:reply(value) end
                        end
                        dispatch(msg)
                    else
                        N.report("error", from, action, why)
                    end
                end
            end
        end
    end
end
"##;

/// The wrapped chunk of an AO entry: sets up `ao` and `Handlers` in `env`, runs `chunk` (the entry's code),
/// then the receive loop. The glue is compiled once per VM (kept in the registry).
/// Errors: a Lua error building it (not expected).
pub fn wrap(lua: &Lua, chunk: Function, env: Table) -> mlua::Result<Function> {
    const KEY: &str = "corral.ao.wrap";
    let wrap = match lua.named_registry_value::<Option<Function>>(KEY)? {
        Some(f) => f,
        None => {
            let f: Function = crate::vm::load_builtin(lua, "=ao", SOURCE)?.call(natives(lua)?)?;
            lua.set_named_registry_value(KEY, f.clone())?;
            f
        }
    };
    wrap.call((chunk, env))
}

/// The Rust side of the glue: the fields no script may set.
fn natives(lua: &Lua) -> mlua::Result<Table> {
    let n = lua.create_table()?;
    n.raw_set("MAX_HANDLERS", MAX_HANDLERS)?;
    n.raw_set("message", lua.create_function(message)?)?;
    n.raw_set("id", lua.create_function(|_, ()| Ok(new_id()))?)?;
    n.raw_set("env", lua.create_function(env)?)?;
    n.raw_set("send", lua.create_function(|lua, msg: Value| ret(lua, send(lua, &msg)))?)?;
    n.raw_set("spawn", lua.create_function(|lua, (entry, tags): (Value, Value)| ret(lua, spawn(lua, &entry, &tags)))?)?;
    n.raw_set("report", lua.create_function(report)?)?;
    n.raw_set("limit", lua.create_function(|_, text: String| Ok(LuaError::new(ErrorKind::LimitExceeded, text)))?)?;
    n.set_readonly(true);
    Ok(n)
}

/// A message id: a fresh UUID (v4).
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn text(value: &CoreValue) -> Option<String> {
    match value {
        CoreValue::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

/// `N.message(msg)`: the AO table of a received Message, and the sender and action (for a report); or
/// `nil, from, action, why` for a message over [`MAX_TAGS`].
fn message(lua: &Lua, ud: AnyUserData) -> mlua::Result<MultiValue> {
    let ctx = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
    let m = ud.borrow::<LuaMessage>()?.message().clone();
    let from = m.from.as_ref().map(ToString::to_string);
    let action = m.topic.to_string();
    let out = lua.create_table()?;
    let tags = lua.create_table()?;
    let mut data = Value::Nil;
    let mut count = 0usize;
    let add_tag = |name: &str, value: &CoreValue, count: &mut usize| -> mlua::Result<bool> {
        if RESERVED.contains(&name) {
            return Ok(true);
        }
        *count += 1;
        if *count > MAX_TAGS {
            return Ok(false);
        }
        tags.raw_set(name, to_lua(lua, value)?)?;
        Ok(true)
    };
    let mut within = true;
    match &m.payload[..] {
        [CoreValue::Table(t)] if t.map.iter().any(|(k, _)| matches!(k, CoreValue::Str(_))) => {
            for (k, v) in &t.map {
                let Some(name) = text(k) else { continue };
                match name.as_str() {
                    "Data" => data = to_lua(lua, v)?,
                    "Tags" => {
                        if let CoreValue::Table(inner) = v {
                            for (k, v) in &inner.map {
                                if let Some(name) = text(k) {
                                    within &= add_tag(&name, v, &mut count)?;
                                }
                            }
                        }
                    }
                    other => within &= add_tag(other, v, &mut count)?,
                }
                if !within {
                    break;
                }
            }
        }
        payload => data = payload_to_lua(lua, payload)?,
    }
    let from_value = match &from {
        Some(f) => Value::String(lua.create_string(f)?),
        None => Value::Nil,
    };
    if !within {
        let why = format!("a message with more than {MAX_TAGS} tags is not handled");
        return Ok(MultiValue::from_iter([
            Value::Nil,
            from_value,
            Value::String(lua.create_string(&action)?),
            Value::String(lua.create_string(&why)?),
        ]));
    }
    for pair in tags.pairs::<Value, Value>() {
        let (k, v) = pair?;
        // `msg.reply` is the runtime's (for a call); a tag of that name stays in `msg.Tags` only.
        if k.as_string().is_some_and(|k| k.as_bytes().as_ref() == b"reply") {
            continue;
        }
        out.raw_set(k, v)?;
    }
    out.raw_set("Id", new_id())?;
    out.raw_set("From", from_value.clone())?;
    out.raw_set("Owner", m.from_actor.as_deref())?;
    out.raw_set("Target", ctx.process.pid().to_string())?;
    out.raw_set("Action", action.as_str())?;
    out.raw_set("Data", data)?;
    out.raw_set("Tags", tags)?;
    Ok(MultiValue::from_iter([Value::Table(out), from_value, Value::String(lua.create_string(&action)?)]))
}

/// `N.env(tags)`: `{Process = {Id, Owner, Tags}, Module = {Id, Owner, Tags}}` of the calling process.
fn env(lua: &Lua, tags: Table) -> mlua::Result<Table> {
    let ctx = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
    let process = lua.create_table()?;
    process.raw_set("Id", ctx.process.pid().to_string())?;
    process.raw_set("Owner", ctx.process.actor().map(|a| a.id.clone()))?;
    process.raw_set("Tags", tags)?;
    let module = lua.create_table()?;
    module.raw_set("Id", ctx.entry.id.as_str())?;
    module.raw_set("Owner", Value::Nil)?;
    module.raw_set("Tags", json_to_lua(lua, &ctx.entry.meta, 0)?)?;
    let env = lua.create_table()?;
    env.raw_set("Process", process)?;
    env.raw_set("Module", module)?;
    Ok(env)
}

/// An entry's `meta:` as Lua (nested at most 32 deep; deeper is cut to nil).
fn json_to_lua(lua: &Lua, value: &serde_json::Value, depth: usize) -> mlua::Result<Value> {
    use serde_json::Value as J;
    if depth > 32 {
        return Ok(Value::Nil);
    }
    Ok(match value {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Boolean(*b),
        J::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Value::String(lua.create_string(s)?),
        J::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, v) in items.iter().enumerate() {
                t.raw_set(i + 1, json_to_lua(lua, v, depth + 1)?)?;
            }
            Value::Table(t)
        }
        J::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, v) in map {
                t.raw_set(k.as_str(), json_to_lua(lua, v, depth + 1)?)?;
            }
            Value::Table(t)
        }
    })
}

/// A copy of a message table with string keys only (`INVALID` naming another key) and at most
/// [`MAX_TAGS`] of them besides `skip` (`LIMIT_EXCEEDED`), without the keys of `drop`.
fn string_keyed(lua: &Lua, table: &Table, what: &str, drop: &[&str], skip: &[&str]) -> Result<Table, LuaError> {
    let copy = lua.create_table().map_err(|e| LuaError::invalid(e.to_string()))?;
    let mut tags = 0usize;
    for pair in table.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| LuaError::invalid(e.to_string()))?;
        let Value::String(key) = &k else {
            return Err(LuaError::invalid(format!(
                "{what}: a {} key is not a tag name (tags are strings)",
                k.type_name()
            )));
        };
        let name = key.to_string_lossy();
        if drop.contains(&name.as_str()) {
            continue;
        }
        if !skip.contains(&name.as_str()) {
            tags += 1;
            if tags > MAX_TAGS {
                return Err(LuaError::new(ErrorKind::LimitExceeded, format!("{what}: more than {MAX_TAGS} tags")));
            }
        }
        copy.raw_set(k, v).map_err(|e| LuaError::invalid(e.to_string()))?;
    }
    Ok(copy)
}

fn string_field(table: &Table, key: &str, what: &str) -> Result<Option<String>, LuaError> {
    match table.raw_get::<Value>(key).map_err(|e| LuaError::invalid(e.to_string()))? {
        Value::Nil => Ok(None),
        Value::String(s) => Ok(Some(s.to_string_lossy())),
        other => Err(LuaError::invalid(format!("{what}: `{key}` must be a string, got a {}", other.type_name()))),
    }
}

/// `ao.send(msg)`: `true`, or an error (`INVALID` for a bad message, those of `process.send`).
fn send(lua: &Lua, msg: &Value) -> Result<bool, LuaError> {
    let ctx = current(lua)?;
    let Value::Table(msg) = msg else {
        return Err(LuaError::invalid(format!("ao.send takes a message table, got a {}", msg.type_name())));
    };
    let target = string_field(msg, "Target", "ao.send")?
        .ok_or_else(|| LuaError::invalid("ao.send: `Target` (a PID or a registered name) is required"))?;
    let action = string_field(msg, "Action", "ao.send")?.unwrap_or_else(|| "ao".to_string());
    let copy = string_keyed(lua, msg, "ao.send", &SET_BY_RUNTIME, &["Target", "Action", "Data"])?;
    let set = |k: &str, v: Value| copy.raw_set(k, v).map_err(|e| LuaError::invalid(e.to_string()));
    set(
        "From",
        Value::String(lua.create_string(ctx.process.pid().to_string()).map_err(|e| LuaError::invalid(e.to_string()))?),
    )?;
    set("Id", Value::String(lua.create_string(new_id()).map_err(|e| LuaError::invalid(e.to_string()))?))?;
    if let Some(actor) = ctx.process.actor() {
        set("Owner", Value::String(lua.create_string(&actor.id).map_err(|e| LuaError::invalid(e.to_string()))?))?;
    }
    let payload = from_lua(&Value::Table(copy), "ao.send message", Bounds::of_process(&ctx.process))?;
    ctx.runtime.send(&ctx.process, &target, &action, vec![payload])?;
    Ok(true)
}

/// A limit value: a whole number of at least 1, or a string of one (or, for `memory`, a size).
fn limit_value(value: &Value, name: &str, memory: bool) -> Result<Option<u64>, LuaError> {
    let bad = || {
        let form = if memory { "a size like \"500-mb\" or a number of bytes" } else { "a whole number" };
        LuaError::invalid(format!("ao.spawn: `{name}` must be {form}"))
    };
    match value {
        Value::Nil => Ok(None),
        Value::String(s) => {
            let text = s.to_string_lossy();
            let parsed =
                if memory { corral_core::app::parse_memory_size(&text) } else { text.trim().parse::<u64>().ok() };
            parsed.map(Some).ok_or_else(bad)
        }
        Value::Integer(i) => u64::try_from(*i).map(Some).map_err(|_| bad()),
        Value::Number(n) if n.fract() == 0.0 && *n >= 0.0 && *n < 1.8e19 => Ok(Some(*n as u64)),
        _ => Err(bad()),
    }
}

/// `ao.spawn(entry, tags?)`: the child's PID, or an error (`INVALID` for bad tags or limits,
/// `LIMIT_EXCEEDED` above the host's maxima, those of `process.spawn`).
fn spawn(lua: &Lua, entry: &Value, tags: &Value) -> Result<String, LuaError> {
    let ctx = current(lua)?;
    let entry = match entry {
        Value::String(s) => s.to_string_lossy(),
        other => {
            return Err(LuaError::invalid(format!(
                "ao.spawn: the module must be an entry id, got a {}",
                other.type_name()
            )));
        }
    };
    let tags = match tags {
        Value::Nil => lua.create_table().map_err(|e| LuaError::invalid(e.to_string()))?,
        Value::Table(t) => string_keyed(lua, t, "ao.spawn", &[], &[])?,
        other => {
            return Err(LuaError::invalid(format!("ao.spawn: the tags must be a table, got a {}", other.type_name())));
        }
    };
    let get = |k: &str| tags.raw_get::<Value>(k).map_err(|e| LuaError::invalid(e.to_string()));
    let limits = LimitRequest {
        memory: limit_value(&get("Memory-Limit")?, "Memory-Limit", true)?,
        compute: limit_value(&get("Compute-Limit")?, "Compute-Limit", false)?,
        mailbox: None,
    };
    let arg = from_lua(&Value::Table(tags), "ao.spawn tags", Bounds::of_process(&ctx.process))?;
    let spec =
        SpawnSpec { entry, host: ctx.process.host().spec.id.clone(), args: vec![arg], limits, ..SpawnSpec::default() };
    Ok(ctx.runtime.spawn(&ctx.process, spec)?.to_string())
}

/// At most `max` bytes of a Lua string value (copying only that much), as text.
fn bounded_text(value: &Value, max: usize) -> String {
    match value {
        Value::String(s) => {
            let bytes = s.as_bytes();
            let head = bytes.get(..max.saturating_add(4)).unwrap_or(&bytes);
            cut(&String::from_utf8_lossy(head), max)
        }
        Value::Nil => String::new(),
        other => other.type_name().to_string(),
    }
}

/// `N.report(kind, from, action, error)`: logs a handler error (within the process's `print` budget) and
/// counts and audits it, or an unhandled message.
fn report(lua: &Lua, (kind, from, action, error): (String, Value, Value, Value)) -> mlua::Result<()> {
    let ctx = current(lua).map_err(|e| mlua::Error::runtime(e.message))?;
    let from = bounded_text(&from, 256);
    let action = bounded_text(&action, 256);
    let (outcome, error) = match kind.as_str() {
        "error" => (AoOutcome::HandlerError, Some(bounded_text(&error, AO_ERROR_TEXT_MAX))),
        _ => (AoOutcome::Unhandled, None),
    };
    if let Some(error) = &error {
        let budget = ctx.print().lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(dropped) = budget {
            let pid = ctx.process.pid().to_string();
            if dropped > 0 {
                tracing::info!(target: "corral::script", %pid, "{dropped} lines dropped");
            }
            tracing::warn!(target: "corral::script", %pid, from, action, "ao: {error}");
        }
    }
    ctx.runtime.ao_report(&ctx.process, outcome, &from, &action, error.as_deref());
    Ok(())
}
