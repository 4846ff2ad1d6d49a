//! The `server` module (`models.md`, "server"; Ergo's `gen.Server`, OTP's `gen_server`), granted by name
//! (`modules: [server]`).
//!
//! ```lua
//! local server = require("server")
//! return server.start({
//!   init = function(...) return state end,
//!   handle_call = function(request, from, state) return reply, state end,
//!   handle_cast = function(message, state) return state end,
//!   handle_info = function(msg, state) return state end,
//!   terminate = function(reason, state) end,
//! })
//! ```
//!
//! It is glue over the `process` API, written in Luau and compiled once per VM: `server.start` returns the
//! entry's module (`{main = ...}`), whose `main(...)` runs `init(...)` and then the receive loop of the
//! process. Every effect it has (the replies, `server.call`, `server.cast`) is a `process` call, decided and
//! audited as such; the module holds no authority of its own.
//!
//! - `server.call(dest, request, timeout?)` is `process.call(dest, "server.call", request, timeout)`: it reaches
//!   `handle_call(request, from, state)`, where `from` is the call's reply reference. `handle_call` returns
//!   `reply, state`, or `server.noreply(state)` (answer later with `process.reply(from, value)`), or
//!   `server.stop(reason, state, reply?)`.
//! - `server.cast(dest, message)` is `process.send(dest, "server.cast", message)`: it reaches
//!   `handle_cast(message, state)`.
//! - Any other message reaches `handle_info(msg, state)` as a Message object; lifecycle events (EXIT,
//!   LINK_DOWN when trapping links) as the event table. A call on another topic reaches `handle_info` with its
//!   `msg:reply_to()`.
//! - `server.stop(reason, state, reply?)` from any handler runs `terminate(reason, state)` and ends the
//!   process: normally for `"normal"`, else abnormally with `reason` as its error. From `handle_call`, the
//!   caller gets `reply` when given, else `UNAVAILABLE` (the process exits without replying).
//! - A handler that raises runs `terminate(error text, state)` and ends the process abnormally with the
//!   error. A CANCEL runs `terminate("cancel", state)` and ends it normally. `terminate` never runs on
//!   `process.terminate` or a limit kill (nothing of the process runs then).
//! - The state is the process's own: every process runs its own `main`, so two servers of one entry share
//!   nothing. The markers `noreply` and `stop` return are private to the module and cannot be forged.

use mlua::{Lua, Table};

/// The module's Luau source.
const SOURCE: &str = r##"
local process, channel, error, pcall, select, type, tostring = process, channel, error, pcall, select, type, tostring

local server = {}
-- Private markers: a handler's return value is ours only if it is one of these tables' products.
local STOP, NOREPLY = {}, {}

function server.noreply(state)
    return { [NOREPLY] = true, state = state }
end

function server.stop(reason, state, reply)
    return { [STOP] = true, reason = reason, state = state, reply = reply }
end

function server.call(dest, request, timeout)
    return process.call(dest, "server.call", request, timeout)
end

function server.cast(dest, message)
    return process.send(dest, "server.cast", message)
end

local function is_marker(value, marker)
    return type(value) == "table" and rawget(value, marker) == true
end

function server.start(callbacks)
    if type(callbacks) ~= "table" then
        error("server.start: expected a table of callbacks, got " .. type(callbacks), 2)
    end
    local init, handle_call, handle_cast, handle_info, terminate =
        callbacks.init, callbacks.handle_call, callbacks.handle_cast, callbacks.handle_info, callbacks.terminate

    local function finish(reason, state)
        if terminate then
            terminate(reason, state)
        end
    end

    -- Runs a handler: its new state, or a stop.
    local function run(handler, ...)
        local ok, a, b = pcall(handler, ...)
        if not ok then
            return nil, nil, a
        end
        return a, b
    end

    local function main(...)
        local state = nil
        if init then
            state = init(...)
        end
        local inbox = process.inbox()
        local events = process.events()
        while true do
            local r = channel.select({ inbox:case_receive(), events:case_receive() })
            local result, second, failed
            local call_ref = nil
            if r.channel == events then
                local ev = r.value
                if ev.kind == process.event.CANCEL then
                    finish("cancel", state)
                    return nil
                end
                if handle_info then
                    result, second, failed = run(handle_info, ev, state)
                else
                    result = state
                end
            else
                local msg = r.value
                local topic = msg:topic()
                if topic == "server.call" and msg:reply_to() then
                    call_ref = msg:reply_to()
                    if not handle_call then
                        failed = "server: no handle_call for a call"
                    else
                        local reply, new_state
                        reply, new_state, failed = run(handle_call, msg:payload(), call_ref, state)
                        if not failed then
                            if is_marker(reply, STOP) or is_marker(reply, NOREPLY) then
                                result = reply
                            else
                                process.reply(call_ref, reply)
                                result = new_state
                            end
                        end
                    end
                elseif topic == "server.cast" then
                    if handle_cast then
                        result, second, failed = run(handle_cast, msg:payload(), state)
                    else
                        result = state
                    end
                else
                    if handle_info then
                        result, second, failed = run(handle_info, msg, state)
                    else
                        result = state
                    end
                end
            end
            if failed then
                local text = tostring(failed)
                finish(text, state)
                error(failed, 0)
            end
            if is_marker(result, STOP) then
                if call_ref and result.reply ~= nil then
                    process.reply(call_ref, result.reply)
                end
                local reason = result.reason
                finish(reason, result.state)
                if reason == nil or reason == "normal" then
                    return nil
                end
                error(reason, 0)
            elseif is_marker(result, NOREPLY) then
                state = result.state
            else
                state = result
            end
        end
    end

    return { main = main }
end

return server
"##;

/// The `server` module table (frozen by `require`).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    crate::vm::load_builtin(lua, "=server", SOURCE)?.call(())
}
