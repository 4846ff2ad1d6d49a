local t = require("t")

local function main()
    t.eq(process.set_options({ trap_links = true }), true, "trap links")
    -- the link is in place before the child runs: an instant failure is never missed
    local pid = process.spawn_linked("app:quick", "app:procs", "fail", "linked")
    local ev = t.event(pid, "LINK_DOWN of an instant failure")
    t.eq(ev.kind, process.event.LINK_DOWN, "kind")
    t.eq(ev.kind, "pid.link.down", "LINK_DOWN is the reference system's string")
    t.contains(ev.error, "quick failed: linked", "event.error")
    t.eq(ev.result.error, ev.error, "result.error")

    -- spawn_linked does not monitor, and a normal exit removes the link silently: the only event about
    -- `normal` is the EXIT of the monitor we add ourselves (an EXIT, or one with "noproc" if it is gone)
    local normal = process.spawn_linked("app:quick", "app:procs", "fine")
    local marker = process.spawn_monitored("app:reporter", "app:procs", process.pid())
    t.msg("hello", marker)
    process.monitor(normal)
    local e1 = t.event(normal, "EXIT (or noproc) of the normal linked child")
    t.eq(e1.kind, process.event.EXIT, "only an EXIT from our own monitor, no LINK_DOWN")
    process.send(marker, "stop", 1)
    local e2 = t.event(marker, "EXIT of the marker")
    t.eq(e2.result.value, 1, "marker value")
    t.empty(process.events(), "no LINK_DOWN for a normal exit")
    return true
end

return { main = main }
