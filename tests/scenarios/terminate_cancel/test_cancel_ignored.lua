local t = require("t")
local time = require("time")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:cancellable", "app:procs", me, "ignore")
    t.msg("ready", pid)
    local started = time.now()
    t.eq(process.cancel(pid, "50ms"), true, "cancel")
    local got = t.msg("got_cancel", pid):payload()
    t.eq(got.kind, process.event.CANCEL, "the CANCEL was delivered")
    t.eq(got.from, me, "from the canceller")
    -- it ignores the request, so it is terminated when the deadline passes
    local ev = t.event(pid, "EXIT after the deadline")
    local waited = time.now():sub(started):milliseconds()
    t.eq(type(ev.error), "string", "an abnormal exit")
    t.contains(ev.error, "cancel", "the error says why")
    t.ok(waited >= 45, "not before the deadline (" .. waited .. "ms)")
    t.ok(waited < 2000, "soon after the deadline (" .. waited .. "ms)")

    -- an integer deadline in milliseconds, same outcome
    local p2 = process.spawn_monitored("app:cancellable", "app:procs", me, "ignore")
    t.msg("ready", p2)
    process.cancel(p2, 30)
    t.msg("got_cancel", p2)
    t.contains(t.event(p2, "EXIT").error, "cancel", "terminated after 30ms")
    return true
end

return { main = main }
