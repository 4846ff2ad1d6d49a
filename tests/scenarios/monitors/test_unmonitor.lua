local t = require("t")

local function main()
    local pid = process.spawn("app:worker", "app:procs")
    t.eq(process.monitor(pid), true, "monitor")
    t.eq(process.unmonitor(pid), true, "unmonitor returns true")
    process.send(pid, "fail", "unwatched")
    -- nothing about `pid` arrives: the next event is about a process monitored afterwards
    local marker = process.spawn_monitored("app:worker", "app:procs")
    process.send(marker, "stop", "marker")
    local ev = t.event(nil, "the next event")
    t.eq(ev.from, marker, "unmonitor stopped the EXIT of " .. pid)
    -- spawn_monitored's monitor can be removed too
    local m2 = process.spawn_monitored("app:worker", "app:procs")
    t.eq(process.unmonitor(m2), true, "unmonitor after spawn_monitored")
    process.send(m2, "stop")
    local marker2 = process.spawn_monitored("app:worker", "app:procs")
    process.send(marker2, "stop")
    t.eq(t.event(nil, "next").from, marker2, "no EXIT after unmonitor")
    return true
end

return { main = main }
