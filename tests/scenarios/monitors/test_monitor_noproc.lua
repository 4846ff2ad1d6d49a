local t = require("t")

local function main()
    local pid = process.spawn_monitored("app:worker", "app:procs")
    process.send(pid, "stop", 1)
    t.event(pid, "EXIT")
    -- the PID has exited: monitor still returns true, and an EXIT with "noproc" is there at once
    t.eq(process.monitor(pid), true, "monitor of an exited pid")
    local r = channel.select({ process.events():case_receive(), default = true })
    t.ok(not r.default, "the noproc EXIT is delivered at once, not later")
    local ev = r.value
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(ev.from, pid, "from")
    t.eq(ev.error, "noproc", "error")
    t.eq(ev.result.error, "noproc", "result.error")
    t.empty(process.events(), "one noproc only")
    return true
end

return { main = main }
