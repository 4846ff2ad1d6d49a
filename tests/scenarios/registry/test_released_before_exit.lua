local t = require("t")

local function main()
    local me = process.pid()
    -- normal exit: when the EXIT arrives the name is already free, and we can take it at once
    local holder = process.spawn_monitored("app:holder", "app:procs", me, { "svc_main" })
    t.msg("registered", holder)
    process.send(holder, "stop", "bye")
    local ev = t.event(holder, "EXIT")
    t.eq(ev.result.value, "bye", "normal exit")
    local r, err = process.registry.lookup("svc_main")
    t.err(r, err, errors.NOT_FOUND, "the name is free when EXIT is delivered")
    t.eq(process.registry.register("svc_main"), true, "the monitor can re-register it right away")
    t.eq(process.registry.lookup("svc_main"), me, "now ours")
    process.registry.unregister("svc_main")

    -- abnormal exit seen through a trapped link: also free by the time LINK_DOWN is delivered
    process.set_options({ trap_links = true })
    local linked = process.spawn_linked("app:holder", "app:procs", me, { "svc_linked", "svc_linked_2" })
    t.msg("registered", linked)
    process.send(linked, "fail", "crash")
    ev = t.event(linked, "LINK_DOWN")
    t.eq(ev.kind, process.event.LINK_DOWN, "kind")
    t.eq(process.registry.register("svc_linked"), true, "free when LINK_DOWN is delivered")
    t.eq(process.registry.register("svc_linked_2"), true, "every name of it")
    process.registry.unregister("svc_linked")
    process.registry.unregister("svc_linked_2")

    -- terminated: same
    local term = process.spawn_monitored("app:holder", "app:procs", me, { "svc_term" })
    t.msg("registered", term)
    process.terminate("svc_term")
    t.eq(t.event(term, "EXIT").error, "terminated", "terminated by name")
    t.eq(process.registry.register("svc_term"), true, "free after terminate")
    process.registry.unregister("svc_term")
    return true
end

return { main = main }
