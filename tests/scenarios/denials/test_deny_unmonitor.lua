local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:sticky", "app:procs", me)
    t.msg("ready", pid)
    local r, err = process.unmonitor(pid)
    t.denied(r, err, "process.unmonitor", "unmonitor a sticky process")
    process.send(pid, "stop", "still watched")
    local ev = t.event(pid, "EXIT: the monitor is still in place")
    t.eq(ev.result.value, "still watched", "value")
    return true
end

return { main = main }
