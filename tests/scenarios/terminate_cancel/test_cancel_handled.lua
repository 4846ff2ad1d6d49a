local t = require("t")
local time = require("time")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:cancellable", "app:procs", me, "return")
    t.msg("ready", pid)
    local before = time.now():unix()
    t.eq(process.cancel(pid, "2s"), true, "cancel returns true")
    local ev = t.event(pid, "EXIT")
    t.eq(ev.error, nil, "a process that handles CANCEL returns normally")
    local cancel = ev.result.value
    t.eq(cancel.kind, process.event.CANCEL, "the child saw CANCEL")
    t.eq(cancel.from, me, "from is the canceller")
    t.eq(type(cancel.at), "number", "at")
    t.ok(cancel.at >= before - 1, "at is now")
    t.eq(type(cancel.deadline), "string", "deadline is a string")
    t.ok(string.match(cancel.deadline, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d") ~= nil,
        "deadline is an RFC 3339 timestamp: " .. cancel.deadline)

    -- cleaning up takes a while but ends within the deadline: still a normal exit
    local slow = process.spawn_monitored("app:cancellable", "app:procs", me, "slow", "30ms")
    t.msg("ready", slow)
    t.eq(process.cancel(slow, 2000), true, "a deadline in integer milliseconds")
    ev = t.event(slow, "EXIT of the slow one")
    t.eq(ev.error, nil, "normal exit")
    t.eq(ev.result.value, "cleaned up", "value")
    return true
end

return { main = main }
