local t = require("t")

local function main()
    local me = process.pid()
    local b = process.with_context({ v = 1 })
    local pid = b:spawn_monitored("app:reporter", "app:procs", me, nil, true)
    t.msg("report", pid)
    t.eq(t.event(pid, "EXIT").result.value, true, "spawn_monitored via the builder")

    process.set_options({ trap_links = true })
    pid = b:spawn_linked("app:reporter", "app:procs", me)
    t.msg("report", pid)
    process.send(pid, "fail", "linked failure")
    local ev = t.event(pid, "LINK_DOWN")
    t.eq(ev.kind, process.event.LINK_DOWN, "spawn_linked via the builder")
    t.eq(ev.error, "linked failure", "error")

    pid = b:spawn_linked_monitored("app:reporter", "app:procs", me)
    t.msg("report", pid)
    process.send(pid, "fail", "both")
    local kinds = {}
    kinds[t.event(pid, "first").kind] = true
    kinds[t.event(pid, "second").kind] = true
    t.ok(kinds[process.event.EXIT] and kinds[process.event.LINK_DOWN], "spawn_linked_monitored via the builder")

    local ok, err = pcall(function()
        return b:spawn("app:nope", "app:procs")
    end)
    t.raised(ok, err, errors.NOT_FOUND, "app:nope", "an unknown entry")
    ok, err = pcall(function()
        return b:spawn("app:reporter", "app:nohost")
    end)
    t.raised(ok, err, errors.NOT_FOUND, "app:nohost", "an unknown host")
    return true
end

return { main = main }
