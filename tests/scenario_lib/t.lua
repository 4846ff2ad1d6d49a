-- Assertions shared by the scenario tests (a library.lua entry, imported as `t`).
-- Every failure raises, so the test entry fails with the message.
local time = require("time")

local t = {}

local function show(v)
    if type(v) == "userdata" then
        local ok, kind = pcall(function() return v:kind() end)
        if ok then return "error(" .. tostring(kind) .. ": " .. tostring(v) .. ")" end
    end
    if type(v) == "table" then
        local parts = {}
        for k, x in pairs(v) do
            table.insert(parts, tostring(k) .. "=" .. show(x))
        end
        table.sort(parts)
        return "{" .. table.concat(parts, ", ") .. "}"
    end
    if type(v) == "string" then return string.format("%q", v) end
    return tostring(v)
end
t.show = show

function t.fail(what)
    error(what, 2)
end

function t.ok(cond, what)
    if not cond then error("assertion failed: " .. (what or "?"), 2) end
    return cond
end

function t.eq(actual, expected, what)
    if actual ~= expected then
        error((what or "value") .. ": expected " .. show(expected) .. ", got " .. show(actual), 2)
    end
end

-- Deep equality for plain data.
local function same(a, b)
    if type(a) ~= type(b) then return false end
    if type(a) ~= "table" then return a == b end
    for k, v in pairs(a) do
        if not same(v, b[k]) then return false end
    end
    for k in pairs(b) do
        if a[k] == nil then return false end
    end
    return true
end
t.same = same

function t.deep(actual, expected, what)
    if not same(actual, expected) then
        error((what or "value") .. ": expected " .. show(expected) .. ", got " .. show(actual), 2)
    end
end

function t.contains(text, part, what)
    if type(text) ~= "string" or not string.find(text, part, 1, true) then
        error((what or "text") .. ": expected " .. show(text) .. " to contain " .. show(part), 2)
    end
end

-- `value, err` of a failing call: value is nil (or false for set_options) and err an error object of `kind`.
function t.err(value, err, kind, what)
    what = what or "call"
    if value ~= nil and value ~= false then
        error(what .. ": expected a " .. kind .. " error, got the value " .. show(value), 2)
    end
    if type(err) ~= "userdata" then
        error(what .. ": expected an error object of kind " .. kind .. ", got " .. show(err), 2)
    end
    if err:kind() ~= kind then
        error(what .. ": expected kind " .. kind .. ", got " .. err:kind() .. " (" .. err:message() .. ")", 2)
    end
    if not errors.is(err, kind) then
        error(what .. ": errors.is disagrees with err:kind()", 2)
    end
    return err
end

-- A denial: PERMISSION_DENIED whose message names the action.
function t.denied(value, err, action, what)
    what = what or action
    if value ~= nil and value ~= false then
        error(what .. ": expected PERMISSION_DENIED, got the value " .. show(value), 2)
    end
    if type(err) ~= "userdata" or err:kind() ~= errors.PERMISSION_DENIED then
        error(what .. ": expected PERMISSION_DENIED, got " .. show(err), 2)
    end
    if not string.find(err:message(), action, 1, true) then
        error(what .. ": the message should name " .. action .. ": " .. err:message(), 2)
    end
    return err
end

-- A raised denial caught by pcall: `ok` false and the error object PERMISSION_DENIED naming the action.
function t.raised(ok, err, kind, part, what)
    what = what or "call"
    if ok then error(what .. ": expected it to raise " .. kind, 2) end
    if type(err) ~= "userdata" then
        error(what .. ": expected an error object of kind " .. kind .. ", got " .. show(err), 2)
    end
    if err:kind() ~= kind then
        error(what .. ": expected kind " .. kind .. ", got " .. err:kind() .. " (" .. err:message() .. ")", 2)
    end
    if part and not string.find(err:message(), part, 1, true) then
        error(what .. ": the message should contain " .. part .. ": " .. err:message(), 2)
    end
    return err
end

-- Receives from `ch`, failing after `timeout` (default 3s) rather than hanging the suite.
function t.recv(ch, what, timeout)
    local timer = time.after(timeout or "3s")
    local r = channel.select({ ch:case_receive(), timer:case_receive() })
    if r.channel == timer then
        error("timed out waiting for " .. (what or "a value"), 2)
    end
    return r.value, r.ok
end

-- Nothing is ready on `ch` right now.
function t.empty(ch, what)
    local r = channel.select({ ch:case_receive(), default = true })
    if not r.default then
        error((what or "channel") .. ": expected nothing, got " .. show(r.value) .. " (ok=" .. tostring(r.ok) .. ")", 2)
    end
end

-- The next event on events() that is about `pid` (events about other PIDs fail the test).
function t.event(pid, what, timeout)
    local ev = t.recv(process.events(), what or ("an event about " .. tostring(pid)), timeout)
    if ev == nil then error("events channel closed", 2) end
    if pid and ev.from ~= pid then
        error((what or "event") .. ": expected an event from " .. tostring(pid) .. ", got " .. show(ev), 2)
    end
    return ev
end

-- The next message on the inbox, checked for topic (and sender, when given).
function t.msg(topic, from, what, timeout)
    local m = t.recv(process.inbox(), what or ("a `" .. topic .. "` message"), timeout)
    if m == nil then error("inbox closed", 2) end
    if m:topic() ~= topic then
        error((what or "message") .. ": expected topic " .. topic .. ", got " .. m:topic() .. " " .. show(m:payload()), 2)
    end
    if from and m:from() ~= from then
        error((what or "message") .. ": expected it from " .. tostring(from) .. ", got " .. tostring(m:from()), 2)
    end
    return m
end

-- Stops `pid` (terminate) and waits for its EXIT, so no process outlives its test.
function t.stop(pid)
    local ok, err = process.monitor(pid)
    if not ok then
        if err:kind() == errors.NOT_FOUND then return end
        error("cannot monitor " .. pid .. ": " .. err:message(), 2)
    end
    process.terminate(pid)
    local events = process.events()
    local timer = time.after("3s")
    while true do
        local r = channel.select({ events:case_receive(), timer:case_receive() })
        if r.channel == timer then error("timed out waiting for " .. pid .. " to stop", 2) end
        if r.value.kind == process.event.EXIT and r.value.from == pid then return end
    end
end

return t
