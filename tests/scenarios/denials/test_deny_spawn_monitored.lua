local t = require("t")

local function main()
    local me = process.pid()
    local pid, err = process.spawn_monitored("app:no_monitored", "app:solo", me)
    t.denied(pid, err, "process.spawn.monitored", "spawn_monitored")
    pid, err = process.spawn_linked_monitored("app:no_monitored", "app:solo", me)
    t.denied(pid, err, "process.spawn.monitored", "spawn_linked_monitored")
    t.empty(process.events(), "no monitor, no event")

    -- nothing started (the host has room for exactly one), and a plain spawn of the entry is allowed
    local plain = process.spawn("app:no_monitored", "app:solo", me)
    t.ok(plain, "plain spawn is allowed and fits")
    t.eq(t.msg("started"):payload(), plain, "only the plain child started")
    t.stop(plain)
    t.empty(process.inbox(), "no other child")
    return true
end

return { main = main }
