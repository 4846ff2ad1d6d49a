local t = require("t")

local function main()
    process.set_options({ trap_links = true })
    local barrier = process.spawn_monitored("app:via_exec", "app:procs", "app:linker", process.pid())
    local linker = t.msg("linked"):payload()
    t.eq(process.unlink(linker), true, "unlink returns true")
    process.send(linker, "fail", "after unlink")
    local ev = t.event(nil, "the barrier's EXIT")
    t.eq(ev.from, barrier, "no LINK_DOWN after unlink")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(ev.error, "after unlink", "the linker did fail")

    -- spawn_linked's link can be removed too, and unlink of an unlinked process is harmless
    local pid = process.spawn_linked("app:worker", "app:procs")
    t.eq(process.unlink(pid), true, "unlink")
    t.eq(process.unlink(pid), true, "unlink again")
    process.terminate(pid)
    local marker = process.spawn_monitored("app:worker", "app:procs")
    process.send(marker, "stop")
    t.eq(t.event(nil, "next").from, marker, "no LINK_DOWN after unlink")
    return true
end

return { main = main }
