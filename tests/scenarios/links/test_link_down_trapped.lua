local t = require("t")

local function main()
    t.eq(process.set_options({ trap_links = true }), true, "trap links")
    local pid = process.spawn("app:worker", "app:procs")
    t.eq(process.link(pid), true, "link returns true")
    t.eq(process.link(pid), true, "a repeated link is fine")
    process.send(pid, "fail", "worker broke")
    local ev = t.event(pid, "LINK_DOWN")
    t.eq(ev.kind, process.event.LINK_DOWN, "kind")
    t.eq(ev.from, pid, "from is the dead process")
    t.eq(ev.error, "worker broke", "event.error")
    t.eq(ev.result.error, "worker broke", "result.error")
    t.eq(type(ev.at), "number", "at")
    -- one LINK_DOWN for a repeated link: the next event is about a process monitored afterwards
    local marker = process.spawn_monitored("app:worker", "app:procs")
    process.send(marker, "stop")
    t.eq(t.event(nil, "next").from, marker, "exactly one LINK_DOWN")
    -- the trapping process is alive and well
    t.eq(process.get_options().trap_links, true, "still trapping")

    -- terminate is abnormal: a linked process gets LINK_DOWN "terminated"
    local victim = process.spawn_linked("app:worker", "app:procs")
    process.terminate(victim)
    ev = t.event(victim, "LINK_DOWN of a terminated process")
    t.eq(ev.kind, process.event.LINK_DOWN, "kind")
    t.eq(ev.error, "terminated", "error")
    return true
end

return { main = main }
