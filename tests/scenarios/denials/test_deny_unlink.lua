local t = require("t")

local function main()
    local me = process.pid()
    process.set_options({ trap_links = true })
    local pid = process.spawn("app:sticky", "app:procs", me)
    t.msg("ready", pid)
    t.eq(process.link(pid), true, "link is allowed")
    local r, err = process.unlink(pid)
    t.denied(r, err, "process.unlink", "unlink a sticky process")
    process.send(pid, "fail", "sticky failure")
    local ev = t.event(pid, "LINK_DOWN: the link is still in place")
    t.eq(ev.kind, process.event.LINK_DOWN, "kind")
    t.eq(ev.error, "sticky failure", "error")
    return true
end

return { main = main }
