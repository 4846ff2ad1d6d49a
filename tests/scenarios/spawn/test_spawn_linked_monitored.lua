local t = require("t")

local function main()
    process.set_options({ trap_links = true })
    local pid = process.spawn_linked_monitored("app:quick", "app:procs", "raise", "both")
    local first = t.event(pid, "first event")
    local second = t.event(pid, "second event")
    local kinds = { [first.kind] = first, [second.kind] = second }
    t.ok(kinds[process.event.EXIT], "an EXIT from the monitor")
    t.ok(kinds[process.event.LINK_DOWN], "a LINK_DOWN from the link")
    t.contains(kinds[process.event.EXIT].error, "quick raised: both", "EXIT error")
    t.contains(kinds[process.event.LINK_DOWN].error, "quick raised: both", "LINK_DOWN error")

    -- a normal exit: EXIT from the monitor only
    local ok = process.spawn_linked_monitored("app:quick", "app:procs", 7)
    local ev = t.event(ok, "EXIT of a normal child")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(ev.result.value, 7, "value")
    t.empty(process.events(), "no LINK_DOWN after a normal exit")
    return true
end

return { main = main }
