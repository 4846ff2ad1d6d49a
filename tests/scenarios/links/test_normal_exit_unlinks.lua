local t = require("t")

local function main()
    -- no trap_links: a LINK_DOWN would kill this test
    t.eq(process.get_options().trap_links, false, "trap_links defaults to false")
    local barrier = process.spawn_monitored("app:via_exec", "app:procs", "app:linker", process.pid())
    local linker = t.msg("linked"):payload()
    process.send(linker, "stop", "all good")
    -- the exec in `barrier` returns only after the linker's exit was handled completely, so anything the
    -- linker's exit sent us is queued before the barrier's EXIT
    local ev = t.event(nil, "the barrier's EXIT")
    t.eq(ev.from, barrier, "no event about the linker before the barrier's EXIT")
    t.eq(ev.result.value, "all good", "the linker returned normally")
    t.empty(process.events(), "events")

    -- the link is gone with it: a second process that links and fails does reach us
    process.set_options({ trap_links = true })
    local barrier2 = process.spawn_monitored("app:via_exec", "app:procs", "app:linker", process.pid())
    local linker2 = t.msg("linked"):payload()
    process.send(linker2, "fail", "second")
    ev = t.event(linker2, "LINK_DOWN from the failing linker")
    t.eq(ev.kind, process.event.LINK_DOWN, "an abnormal exit does send LINK_DOWN")
    t.eq(t.event(barrier2, "barrier 2").error, "second", "the barrier saw the failure through exec")
    return true
end

return { main = main }
