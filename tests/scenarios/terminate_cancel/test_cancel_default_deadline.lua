local t = require("t")
local time = require("time")

local function main()
    local me = process.pid()
    -- no deadline given: the host's cancel_deadline (100ms on `brisk`) applies
    local pid = process.spawn_monitored("app:cancellable", "app:brisk", me, "ignore")
    t.msg("ready", pid)
    local started = time.now()
    t.eq(process.cancel(pid), true, "cancel without a deadline")
    t.msg("got_cancel", pid)
    local ev = t.event(pid, "EXIT")
    local waited = time.now():sub(started):milliseconds()
    t.contains(ev.error, "cancel", "terminated after the host's deadline")
    t.ok(waited >= 90, "the host's 100ms deadline was given (" .. waited .. "ms)")
    t.ok(waited < 2500, "and not much more (" .. waited .. "ms)")

    -- nil is the same as no deadline
    local p2 = process.spawn_monitored("app:cancellable", "app:brisk", me, "return")
    t.msg("ready", p2)
    t.eq(process.cancel(p2, nil), true, "cancel with nil")
    t.eq(t.event(p2, "EXIT").result.value.kind, process.event.CANCEL, "handled")
    return true
end

return { main = main }
