//! The `supervisor` module (`models.md`, "supervisor"; Ergo's `gen.Supervisor`, OTP's `supervisor`), granted
//! by name (`modules: [supervisor]`).
//!
//! ```lua
//! local supervisor = require("supervisor")
//! return supervisor.start({
//!   strategy = "one_for_one",        -- one_for_one | one_for_all | rest_for_one | simple_one_for_one
//!   intensity = 3, period = "5s",    -- more restarts than this within period: the supervisor exits abnormally
//!   children = {
//!     { id = "db", entry = "app:db", host = "app:processes", args = { ... },
//!       restart = "permanent",       -- permanent | transient | temporary
//!       shutdown = "5s" },           -- cancel deadline when the supervisor stops it ("brutal_kill": terminate)
//!   },
//! })
//! ```
//!
//! Like `server`, it is glue over the `process` API, written in Luau and compiled once per VM: `start`
//! returns the entry's module (`{main = ...}`), and the process running `main` is the supervisor. It traps
//! links, spawns each child with `process.spawn_linked_monitored` (linked: the children go down with it;
//! monitored: it sees normal exits too) in order, and restarts per strategy and restart type. Every spawn,
//! cancel and terminate is the supervisor's own `process` call, decided and audited as such; the module holds
//! no authority of its own. The restart intensity is the node's one restart engine
//! ([`corral_core::restart::Restarts`] with an [`Intensity`]), kept in a userdata on tokio's clock.
//!
//! - **Spec.** `strategy` (default `one_for_one`), `intensity` (a whole number from 0 to
//!   [`Intensity::MAX_RESTARTS`], default 1), `period` (a duration over 0, default `5s`), `children` (at most
//!   [`MAX_CHILDREN`]). A child: `id` and `entry` (strings of at most 256 bytes), `host` (default: the
//!   supervisor's own host), `args` (at most [`MAX_ARGS`]), `restart` (default `permanent`), `shutdown` (a
//!   duration or `"brutal_kill"`, default `5s`). An unknown key or a bad value is `INVALID` naming the field;
//!   too many children or arguments are `LIMIT_EXCEEDED`. `spec` may be a function of the spawn arguments
//!   returning the table. A bad spec ends the supervisor abnormally with `INVALID: ...` before any child starts.
//! - **Start.** Children start in order, each spawned before the next; a child that cannot be spawned stops
//!   those already started (reverse order) and ends the supervisor abnormally naming the child and the error.
//! - **Exits.** `permanent` children restart after every exit, `transient` ones after an abnormal exit,
//!   `temporary` ones never (a static child stays listed with `pid = nil`). Each restart is allowed by the
//!   intensity first: one too many stops every child (reverse order) and ends the supervisor abnormally with
//!   `restart intensity N in P exceeded by child `id`: <its exit>`. `one_for_one` restarts the child,
//!   `one_for_all` stops the others (reverse order) and starts them all again in order, `rest_for_one` does
//!   so for the children started after it; `simple_one_for_one` children are instances of its one template
//!   child, started by `start_child` only.
//! - **Stop.** A CANCEL stops the children in reverse order, each cancelled with its `shutdown` deadline (the
//!   runtime terminates it when the deadline passes) and waited for (its EXIT) before the next; then the
//!   supervisor returns normally. A LINK_DOWN from a process that is not a child stops the children and ends
//!   the supervisor with that error (OTP: the parent's exit).
//! - **Management.** `which_children(sup, timeout?)`, `start_child(sup, spec, timeout?)` and
//!   `terminate_child(sup, id, timeout?)` are `process.call`s on the topics `supervisor.which_children`,
//!   `supervisor.start_child` and `supervisor.terminate_child`, answered by the supervisor's loop; policies
//!   can tell them apart with `context.topic`.

use corral_core::restart::{Intensity, Restarts, Verdict};
use mlua::{Lua, Table, UserData, UserDataMethods, Value};

use crate::modules::time::{LuaDuration, duration_arg};

/// The most children one supervisor holds (static and dynamic): more is `LIMIT_EXCEEDED`.
pub const MAX_CHILDREN: usize = 1024;

/// The most spawn arguments a child spec has (template and `start_child` arguments together).
pub const MAX_ARGS: usize = 64;

/// The module's Luau source: a function of the Rust helpers returning the module table.
const SOURCE: &str = r##"
local helpers = ...
local process, channel, errors, error, pcall, type, tostring, pairs, ipairs, rawget =
    process, channel, errors, error, pcall, type, tostring, pairs, ipairs, rawget
local unpack, insert, remove, sub, format, floor, min =
    table.unpack, table.insert, table.remove, string.sub, string.format, math.floor, math.min
local new_intensity, duration, own_host = helpers.intensity, helpers.duration, helpers.own_host
local MAX_CHILDREN, MAX_ARGS, MAX_ID = helpers.max_children, helpers.max_args, 256

local supervisor = {}

local STRATEGIES = { one_for_one = true, one_for_all = true, rest_for_one = true, simple_one_for_one = true }
local RESTARTS = { permanent = true, transient = true, temporary = true }
local SPEC_KEYS = { strategy = true, intensity = true, period = true, children = true }
local CHILD_KEYS = { id = true, entry = true, host = true, args = true, restart = true, shutdown = true }

-- A failure of ours: a private marker, so a tenant's error value is never taken for one.
local FAIL = {}
local function fail(kind, message)
    error({ [FAIL] = true, kind = kind, message = message }, 0)
end
local function is_fail(e)
    return type(e) == "table" and rawget(e, FAIL) == true
end

-- A value for a message: strings quoted and cut to 64 bytes, anything else its type.
local function show(v)
    if type(v) == "string" then
        return format("%q", sub(v, 1, 64))
    elseif type(v) == "number" or type(v) == "boolean" then
        return tostring(v)
    end
    return "a " .. type(v)
end

local function text(v, field)
    if type(v) ~= "string" or #v == 0 then
        fail(errors.INVALID, "`" .. field .. "` must be a non-empty string, got " .. show(v))
    end
    if #v > MAX_ID then
        fail(errors.INVALID, "`" .. field .. "` is longer than " .. MAX_ID .. " bytes")
    end
    return v
end

-- The arguments `args` (an array of at most `room` values) as a table and a count.
local function arguments(args, field, room)
    if args == nil then
        return {}, 0
    end
    if type(args) ~= "table" then
        fail(errors.INVALID, "`" .. field .. "` must be an array, got " .. show(args))
    end
    local n, keys = 0, 0
    for k in pairs(args) do
        keys = keys + 1
        if keys > room then
            fail(errors.LIMIT_EXCEEDED, "`" .. field .. "` has more than " .. room .. " arguments")
        end
        if type(k) ~= "number" or k ~= floor(k) or k < 1 or k > room then
            fail(errors.INVALID, "`" .. field .. "` must be an array, it has the key " .. show(k))
        end
        if k > n then
            n = k
        end
    end
    local out = {}
    for i = 1, n do
        out[i] = args[i]
    end
    return out, n
end

-- A checked copy of child spec `c`; `where` names it in errors.
local function child_spec(c, where, host)
    if type(c) ~= "table" then
        fail(errors.INVALID, "`" .. where .. "` must be a table, got " .. show(c))
    end
    for k in pairs(c) do
        if not CHILD_KEYS[k] then
            fail(errors.INVALID, "`" .. where .. "` has an unknown key " .. show(k))
        end
    end
    local spec = { id = text(c.id, where .. ".id"), entry = text(c.entry, where .. ".entry") }
    spec.host = c.host == nil and host or text(c.host, where .. ".host")
    spec.restart = c.restart == nil and "permanent" or c.restart
    if not RESTARTS[spec.restart] then
        fail(errors.INVALID, "`" .. where .. ".restart` must be permanent, transient or temporary, got " .. show(c.restart))
    end
    if c.shutdown == "brutal_kill" then
        spec.shutdown = "brutal_kill"
    else
        local d, why = duration(c.shutdown == nil and "5s" or c.shutdown)
        if not d then
            fail(errors.INVALID, "`" .. where .. ".shutdown`: " .. why)
        end
        spec.shutdown = d
    end
    spec.args, spec.nargs = arguments(c.args, where .. ".args", MAX_ARGS)
    return spec
end

-- A checked copy of the supervisor spec.
local function check_spec(spec)
    if type(spec) ~= "table" then
        fail(errors.INVALID, "the supervisor spec must be a table, got " .. show(spec))
    end
    for k in pairs(spec) do
        if not SPEC_KEYS[k] then
            fail(errors.INVALID, "the supervisor spec has an unknown key " .. show(k))
        end
    end
    local out = { strategy = spec.strategy == nil and "one_for_one" or spec.strategy }
    if not STRATEGIES[out.strategy] then
        fail(errors.INVALID, "`strategy` must be one_for_one, one_for_all, rest_for_one or simple_one_for_one, got "
            .. show(spec.strategy))
    end
    local intensity, why = new_intensity(spec.intensity == nil and 1 or spec.intensity, spec.period == nil and "5s" or spec.period)
    if not intensity then
        fail(errors.INVALID, why)
    end
    out.intensity = intensity
    local children = spec.children == nil and {} or spec.children
    if type(children) ~= "table" then
        fail(errors.INVALID, "`children` must be an array, got " .. show(children))
    end
    local host = own_host()
    out.children = {}
    local ids = {}
    for i = 1, MAX_CHILDREN + 1 do
        local c = children[i]
        if c == nil then
            break
        end
        if i > MAX_CHILDREN then
            fail(errors.LIMIT_EXCEEDED, "`children` has more than " .. MAX_CHILDREN .. " children")
        end
        local child = child_spec(c, "children[" .. i .. "]", host)
        if ids[child.id] then
            fail(errors.INVALID, "`children[" .. i .. "].id` " .. show(child.id) .. " is used twice")
        end
        ids[child.id] = true
        out.children[i] = child
    end
    if out.strategy == "simple_one_for_one" and #out.children ~= 1 then
        fail(errors.INVALID, "a simple_one_for_one supervisor has exactly one child spec (its template), got "
            .. #out.children)
    end
    return out
end

-- `f(...)`: its value, or nil, kind, message for a failure of ours (anything else raises on).
local function catch(f, ...)
    local ok, v = pcall(f, ...)
    if ok then
        return v
    end
    if is_fail(v) then
        return nil, v.kind, v.message
    end
    error(v, 0)
end

local function describe(err)
    if type(err) == "userdata" then
        return err:kind() .. ": " .. err:message()
    end
    return tostring(err)
end

local function exit_text(ev)
    if ev.error then
        return tostring(ev.error)
    end
    return "normal exit"
end

-- The running supervisor: `main` builds one per process.
local function run(spec)
    local events = process.events()
    local inbox = process.inbox()
    local EXIT, LINK_DOWN, CANCEL = process.event.EXIT, process.event.LINK_DOWN, process.event.CANCEL
    local simple = spec.strategy == "simple_one_for_one"
    local template = simple and spec.children[1] or nil
    local intensity = spec.intensity
    -- Records in start order: { id, spec, args, nargs, pid }.
    local children = {}
    local by_pid = {}
    -- An abnormal exit brings an EXIT (monitor) and a LINK_DOWN (link), in either order: `down` holds the
    -- children whose LINK_DOWN came first, `former` the gone ones whose LINK_DOWN is still to come.
    local down, former = {}, {}
    -- Events that came while the supervisor waited for one child's EXIT, in arrival order.
    local pending = {}

    -- Book-keeps an event as it arrives: a child's LINK_DOWN is consumed here; anything else is returned.
    local function note(ev)
        if ev.kind == LINK_DOWN then
            if by_pid[ev.from] then
                down[ev.from] = true
                return nil
            elseif former[ev.from] then
                former[ev.from] = nil
                return nil
            end
        end
        return ev
    end

    -- The child `pid` is gone (its EXIT `ev`).
    local function gone(pid, ev)
        local rec = by_pid[pid]
        by_pid[pid] = nil
        if ev.error and not down[pid] then
            former[pid] = true
        end
        down[pid] = nil
        if rec then
            rec.pid = nil
        end
    end

    local function queued()
        if #pending > 0 then
            return remove(pending, 1)
        end
        return nil
    end

    -- Waits for the EXIT of `pid`, keeping every other event for later.
    local function wait_exit(pid)
        for i = 1, #pending do
            local ev = pending[i]
            if ev.kind == EXIT and ev.from == pid then
                remove(pending, i)
                gone(pid, ev)
                return ev
            end
        end
        while true do
            local ev = note(events:receive())
            if ev then
                if ev.kind == EXIT and ev.from == pid then
                    gone(pid, ev)
                    return ev
                end
                insert(pending, ev)
            end
        end
    end

    local function spawn(rec)
        local s = rec.spec
        local pid, err = process.spawn_linked_monitored(s.entry, s.host, unpack(rec.args, 1, rec.nargs))
        if not pid then
            return nil, err
        end
        rec.pid = pid
        by_pid[pid] = rec
        return pid
    end

    -- Stops a running child: cancelled with its shutdown deadline (terminated for brutal_kill), waited for.
    -- Returns true, or nil and the error when it cannot be stopped (the cancel and the terminate were refused).
    local function stop(rec)
        local pid = rec.pid
        if not pid then
            return true
        end
        local ok, err
        if rec.spec.shutdown == "brutal_kill" then
            ok, err = process.terminate(pid)
        else
            ok, err = process.cancel(pid, rec.spec.shutdown)
            if not ok and err:kind() ~= errors.NOT_FOUND then
                ok, err = process.terminate(pid)
            end
        end
        if not ok and err:kind() ~= errors.NOT_FOUND then
            return nil, err
        end
        wait_exit(pid)
        return true
    end

    -- Stops the running children from the last to `first`; the first error, if any.
    local function stop_from(first)
        local failed = nil
        for i = #children, first, -1 do
            local rec = children[i]
            if rec.pid then
                local ok, err = stop(rec)
                if not ok and not failed then
                    failed = "child `" .. rec.id .. "` could not be stopped: " .. describe(err)
                end
            end
        end
        return failed
    end

    -- Stops every child and ends the supervisor abnormally with `why`.
    local function die(why)
        local failed = stop_from(1)
        if failed then
            why = why .. "; " .. failed
        end
        error(why, 0)
    end

    -- Starts `rec` again after an exit: each attempt is a restart the intensity must allow.
    local function restart(rec, last)
        local attempts = 0
        while true do
            if not intensity:allow() then
                die(intensity:describe() .. " exceeded by child `" .. rec.id .. "`: " .. last)
            end
            local pid, err = spawn(rec)
            if pid then
                return
            end
            last = "it could not be spawned: " .. describe(err)
            attempts = attempts + 1
            if attempts > intensity:max() then
                die("child `" .. rec.id .. "` could not be restarted: " .. describe(err))
            end
        end
    end

    local function index_of(rec)
        for i = 1, #children do
            if children[i] == rec then
                return i
            end
        end
        return nil
    end

    -- Starts the children of `list` (records) in order, after a strategy stopped them: one restart, already
    -- allowed; a spawn that fails is retried as a restart of its own.
    local function start_all(list)
        for i = 1, #list do
            local rec = list[i]
            local pid, err = spawn(rec)
            if not pid then
                restart(rec, "it could not be spawned: " .. describe(err))
            end
        end
    end

    local function child_exited(rec, ev)
        local restart_type = rec.spec.restart
        local again = restart_type == "permanent" or (restart_type == "transient" and ev.error ~= nil)
        if not again then
            if simple then
                local i = index_of(rec)
                if i then
                    remove(children, i)
                end
            end
            return
        end
        local last = exit_text(ev)
        if spec.strategy == "one_for_one" or simple then
            restart(rec, last)
            return
        end
        -- The restart is allowed first (OTP's add_restart), then the strategy stops and starts.
        if not intensity:allow() then
            die(intensity:describe() .. " exceeded by child `" .. rec.id .. "`: " .. last)
        end
        -- one_for_all: every other child; rest_for_one: the children started after this one.
        local at = index_of(rec) or 1
        local first = spec.strategy == "one_for_all" and 1 or at + 1
        local stopped = {}
        for i = #children, first, -1 do
            local other = children[i]
            if other ~= rec and other.pid then
                local ok, err = stop(other)
                if not ok then
                    die("child `" .. other.id .. "` could not be stopped: " .. describe(err))
                end
                if other.spec.restart ~= "temporary" then
                    stopped[i] = true
                end
            end
        end
        local list = {}
        for i = min(first, at), #children do
            if children[i] == rec or stopped[i] then
                insert(list, children[i])
            end
        end
        start_all(list)
    end

    local function listing()
        local out = {}
        for i = 1, #children do
            local rec = children[i]
            out[i] = { id = rec.id, pid = rec.pid, restart = rec.spec.restart }
        end
        return out
    end

    local function find(id)
        for i = 1, #children do
            if children[i].id == id then
                return children[i]
            end
        end
        return nil
    end

    local function start_child(payload)
        if #children >= MAX_CHILDREN then
            fail(errors.LIMIT_EXCEEDED, "the supervisor holds " .. MAX_CHILDREN .. " children already")
        end
        if simple then
            local extra, n = arguments(payload, "args", MAX_ARGS - template.nargs)
            local args = {}
            for i = 1, template.nargs do
                args[i] = template.args[i]
            end
            for i = 1, n do
                args[template.nargs + i] = extra[i]
            end
            local rec = { id = template.id, spec = template, args = args, nargs = template.nargs + n }
            local pid, err = spawn(rec)
            if not pid then
                fail(err:kind(), err:message())
            end
            insert(children, rec)
            return pid
        end
        local s = child_spec(payload, "spec", own_host())
        local rec = find(s.id)
        if rec and rec.pid then
            fail(errors.ALREADY_EXISTS, "child `" .. s.id .. "` is already running as " .. rec.pid)
        end
        local fresh = rec == nil
        rec = rec or { id = s.id }
        rec.spec, rec.args, rec.nargs = s, s.args, s.nargs
        local pid, err = spawn(rec)
        if not pid then
            fail(err:kind(), err:message())
        end
        if fresh then
            insert(children, rec)
        end
        return pid
    end

    local function terminate_child(payload)
        local rec
        if simple then
            rec = type(payload) == "string" and by_pid[payload] or nil
        else
            rec = type(payload) == "string" and find(payload) or nil
        end
        if not rec then
            fail(errors.NOT_FOUND, "no child " .. show(payload))
        end
        local ok, err = stop(rec)
        if not ok then
            fail(err:kind(), err:message())
        end
        if simple then
            local i = index_of(rec)
            if i then
                remove(children, i)
            end
        end
        return true
    end

    local HANDLERS = {
        ["supervisor.which_children"] = listing,
        ["supervisor.start_child"] = start_child,
        ["supervisor.terminate_child"] = terminate_child,
    }

    local function answer(msg)
        local ref = msg:reply_to()
        if not ref then
            return -- a plain message: nothing to do with it
        end
        local handler = HANDLERS[msg:topic()]
        local value, kind, message
        if handler then
            value, kind, message = catch(handler, msg:payload())
        else
            kind, message = errors.INVALID, "a supervisor answers no topic " .. show(msg:topic())
        end
        local reply = kind and { err = kind, message = message } or { ok = value }
        local ok, err = process.reply(ref, reply)
        if not ok and err then
            process.reply(ref, { err = err:kind(), message = err:message() })
        end
    end

    -- Start, in order.
    for i = 1, simple and 0 or #spec.children do
        local s = spec.children[i]
        local rec = { id = s.id, spec = s, args = s.args, nargs = s.nargs }
        children[i] = rec
        local pid, err = spawn(rec)
        if not pid then
            die("child `" .. s.id .. "` did not start: " .. describe(err))
        end
    end

    while true do
        local ev = queued()
        local msg = nil
        if ev == nil then
            -- Events first (an earlier ready case wins): a request sees every exit already delivered.
            local r = channel.select({ events:case_receive(), inbox:case_receive() })
            if r.channel == events then
                ev = note(r.value)
            else
                msg = r.value
            end
        end
        if ev then
            if ev.kind == CANCEL then
                local failed = stop_from(1)
                if failed then
                    error(failed, 0)
                end
                return nil
            elseif ev.kind == LINK_DOWN then
                die("linked process " .. tostring(ev.from) .. " exited: " .. exit_text(ev))
            elseif ev.kind == EXIT then
                local rec = by_pid[ev.from]
                if rec then
                    gone(ev.from, ev)
                    child_exited(rec, ev)
                end
            end
        elseif msg then
            answer(msg)
        end
    end
end

function supervisor.start(spec)
    if type(spec) ~= "table" and type(spec) ~= "function" then
        error("supervisor.start: expected a spec table or a function returning one, got " .. type(spec), 2)
    end
    local function main(...)
        local given = spec
        if type(spec) == "function" then
            given = spec(...)
        end
        local checked, kind, message = catch(check_spec, given)
        if not checked then
            error(kind .. ": supervisor spec: " .. message, 0)
        end
        local ok, err = process.set_options({ trap_links = true })
        if not ok then
            error(describe(err), 0)
        end
        return run(checked)
    end
    return { main = main }
end

local KINDS = {}
for _, kind in ipairs({ "INVALID", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "LIMIT_EXCEEDED", "TIMEOUT",
    "CANCELED", "UNAVAILABLE", "INTERNAL" }) do
    KINDS[kind] = true
end

local function decode(reply, err)
    if reply == nil then
        return nil, err
    end
    if type(reply) ~= "table" then
        return nil, errors.new(errors.INTERNAL, "not a supervisor's answer: " .. show(reply))
    end
    if reply.err ~= nil then
        local kind = KINDS[reply.err] and reply.err or errors.INTERNAL
        return nil, errors.new(kind, type(reply.message) == "string" and reply.message or "")
    end
    return reply.ok
end

function supervisor.which_children(sup, timeout)
    return decode(process.call(sup, "supervisor.which_children", nil, timeout))
end

function supervisor.start_child(sup, spec, timeout)
    return decode(process.call(sup, "supervisor.start_child", spec, timeout))
end

function supervisor.terminate_child(sup, id, timeout)
    return decode(process.call(sup, "supervisor.terminate_child", id, timeout))
end

return supervisor
"##;

/// A supervisor's restart intensity as scripts' glue sees it: the one restart engine
/// ([`Restarts::with_intensity`]), on tokio's clock. Reachable only from the module's own closures.
struct LuaIntensity(Restarts);

impl UserData for LuaIntensity {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        // `true` when one more restart now is within the intensity, `false` when it is one too many.
        methods.add_method_mut("allow", |_, this, ()| {
            Ok(matches!(this.0.failed(false, tokio::time::Instant::now(), 0.0), Verdict::Restart { .. }))
        });
        methods.add_method("max", |_, this, ()| Ok(this.0.intensity().map_or(0, Intensity::max)));
        methods
            .add_method("describe", |_, this, ()| Ok(this.0.intensity().map(ToString::to_string).unwrap_or_default()));
    }
}

/// `intensity` (a whole number from 0 to [`Intensity::MAX_RESTARTS`]) and `period` (a duration over 0): the
/// engine, or `nil` and the message naming the bad one. Never raises, never panics.
fn intensity(lua: &Lua, (max, period): (Value, Value)) -> mlua::Result<(Value, Option<String>)> {
    let bound = f64::from(Intensity::MAX_RESTARTS);
    let count = match max {
        Value::Integer(n) => u32::try_from(n).ok().filter(|n| *n <= Intensity::MAX_RESTARTS),
        Value::Number(n) if n.is_finite() && n.fract() == 0.0 && (0.0..=bound).contains(&n) => {
            u32::try_from(n as i64).ok()
        }
        _ => None,
    };
    let Some(count) = count else {
        let shown = match &max {
            Value::Integer(n) => n.to_string(),
            Value::Number(n) => n.to_string(),
            other => format!("a {}", other.type_name()),
        };
        let message = format!("`intensity` must be a whole number from 0 to {}, got {shown}", Intensity::MAX_RESTARTS);
        return Ok((Value::Nil, Some(message)));
    };
    let period = match duration_arg(&period) {
        Ok(d) => d,
        Err(e) => return Ok((Value::Nil, Some(format!("`period`: {}", e.message)))),
    };
    match Intensity::new(count, period) {
        Ok(i) => Ok((Value::UserData(lua.create_userdata(LuaIntensity(Restarts::with_intensity(i)))?), None)),
        Err(e) => Ok((Value::Nil, Some(format!("`period`: {e}")))),
    }
}

/// A duration argument ([`duration_arg`]) as a duration object, or `nil` and the message.
fn duration(_: &Lua, value: Value) -> mlua::Result<(Option<LuaDuration>, Option<String>)> {
    Ok(match duration_arg(&value) {
        Ok(d) => (Some(LuaDuration(d)), None),
        Err(e) => (None, Some(e.message)),
    })
}

/// The calling process's host id (a child spec's default `host`).
fn own_host(lua: &Lua, (): ()) -> mlua::Result<String> {
    let ctx = crate::procs::current_or_raise(lua)?;
    Ok(ctx.process.pid().host().to_string())
}

/// The `supervisor` module table (frozen by `require`).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let helpers = lua.create_table()?;
    helpers.set("intensity", lua.create_function(intensity)?)?;
    helpers.set("duration", lua.create_function(duration)?)?;
    helpers.set("own_host", lua.create_function(own_host)?)?;
    helpers.set("max_children", MAX_CHILDREN)?;
    helpers.set("max_args", MAX_ARGS)?;
    crate::vm::load_builtin(lua, "=supervisor", SOURCE)?.call(helpers)
}
