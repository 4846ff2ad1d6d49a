local t = require("t")

local function main()
    local me = process.pid()
    local holder = process.spawn("app:holder", "app:procs", me, { "dest_name" })
    t.msg("registered", holder)
    t.eq(process.send("dest_name", "ping", 1), true, "send by name")
    t.eq(t.msg("pong", holder):payload(), 1, "reached the holder")
    t.eq(process.monitor("dest_name"), true, "monitor by name")
    process.set_options({ trap_links = true })
    t.eq(process.link("dest_name"), true, "link by name")
    t.eq(process.unlink("dest_name"), true, "unlink by name")
    t.eq(process.unmonitor("dest_name"), true, "unmonitor by name")
    t.eq(process.monitor("dest_name"), true, "monitor again")
    t.eq(process.cancel("dest_name", "5s"), true, "cancel by name")
    t.eq(process.terminate("dest_name"), true, "terminate by name")
    local ev = t.event(holder, "EXIT")
    t.eq(ev.error, "terminated", "terminated")
    t.empty(process.events(), "no LINK_DOWN after unlink")
    local r, err = process.send("dest_name", "ping", 2)
    t.err(r, err, errors.NOT_FOUND, "the name is gone")
    return true
end

return { main = main }
