local t = require("t")

local function main()
    local me = process.pid()
    process.set_options({ trap_links = true })
    local barrier = process.spawn_monitored("app:via_exec", "app:procs", "app:guarded", me)
    local pid = t.msg("ready"):payload()
    local r, err = process.link(pid)
    t.denied(r, err, "process.link", "link a guarded process")
    process.send(pid, "fail", "guarded failure")
    local ev = t.event(nil, "the next event")
    t.eq(ev.from, barrier, "no LINK_DOWN reached us: no link was made")
    t.eq(ev.error, "guarded failure", "the guarded process did fail")
    return true
end

return { main = main }
