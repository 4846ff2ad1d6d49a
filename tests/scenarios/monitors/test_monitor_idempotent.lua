local t = require("t")

local function main()
    local pid = process.spawn("app:worker", "app:procs")
    t.eq(process.monitor(pid), true, "first monitor")
    t.eq(process.monitor(pid), true, "second monitor")
    t.eq(process.monitor(pid), true, "third monitor")
    process.send(pid, "stop", "once")
    local ev = t.event(pid, "EXIT")
    t.eq(ev.result.value, "once", "value")
    -- a later process's EXIT is the next event: there was exactly one EXIT for `pid`
    local later = process.spawn_monitored("app:worker", "app:procs")
    process.send(later, "stop", "later")
    local next_ev = t.event(nil, "the next event")
    t.eq(next_ev.from, later, "no second EXIT for a repeated monitor")
    t.empty(process.events(), "events")
    return true
end

return { main = main }
