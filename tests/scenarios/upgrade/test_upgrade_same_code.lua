local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:counter", "app:procs", me, 1, 3)
    for n = 1, 3 do
        local tick = t.msg("tick", pid):payload()
        t.eq(tick.n, n, "state passed on by upgrade(nil, ...)")
        t.eq(tick.pid, pid, "same pid on every run")
        t.eq(tick.leftover, nil, "each run starts from fresh globals")
    end
    local ev = t.event(pid, "EXIT")
    t.eq(ev.result.value, 3, "the last run's value")
    t.empty(process.events(), "one EXIT, none for the upgrades")
    return true
end

return { main = main }
