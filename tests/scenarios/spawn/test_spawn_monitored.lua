local t = require("t")

local function main()
    -- the child exits at once: the monitor is in place before it runs, so the EXIT is never missed
    local pid = process.spawn_monitored("app:quick", "app:procs", "done")
    local ev = t.event(pid, "EXIT of an instant child")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(ev.kind, "pid.exit", "EXIT is the reference system's string")
    t.eq(ev.result.value, "done", "result.value")
    t.eq(ev.error, nil, "no error on a normal exit")
    t.eq(type(ev.at), "number", "at is unix seconds")
    t.ok(math.abs(ev.at - os.time()) < 60, "at is now")

    local failing = process.spawn_monitored("app:quick", "app:procs", "raise", "x")
    ev = t.event(failing, "EXIT of a failing child")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.contains(ev.error, "quick raised: x", "event.error")
    t.eq(ev.result.error, ev.error, "result.error is the same text")
    t.eq(ev.result.value, nil, "no value on an abnormal exit")

    -- spawn_monitored does not link: a failing child does not take us down (we are still here)
    t.empty(process.events(), "nothing else")
    return true
end

return { main = main }
