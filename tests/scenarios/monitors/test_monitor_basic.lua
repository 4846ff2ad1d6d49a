local t = require("t")

local function main()
    local pid = process.spawn("app:worker", "app:procs")
    t.eq(process.monitor(pid), true, "monitor returns true")
    -- a live, monitored process still answers
    process.send(pid, "ping", 1)
    t.eq(t.msg("pong", pid):payload(), 1, "pong")
    t.empty(process.events(), "no event while it lives")
    process.send(pid, "stop", { done = true })
    local ev = t.event(pid, "EXIT")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.deep(ev.result.value, { done = true }, "value")

    -- by registered name; and an abnormal exit
    local named = process.spawn("app:worker", "app:procs")
    process.registry.register("mon_target", named)
    t.eq(process.monitor("mon_target"), true, "monitor by name")
    process.send("mon_target", "fail", "broken")
    ev = t.event(named, "EXIT by name")
    t.eq(ev.error, "broken", "the error")

    local r, err = process.monitor("no_such_name")
    t.err(r, err, errors.NOT_FOUND, "monitor of an unknown name")
    return true
end

return { main = main }
