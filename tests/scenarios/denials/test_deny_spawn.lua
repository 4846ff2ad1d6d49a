local t = require("t")

local function main()
    local me = process.pid()
    local pid, err = process.spawn("app:no_spawn", "app:solo", me)
    t.denied(pid, err, "process.spawn", "spawn of a forbidden entry")
    t.contains(err:message(), "app:no_spawn", "the message names the resource")
    pid, err = process.spawn_monitored("app:no_spawn", "app:solo", me)
    t.denied(pid, err, "process.spawn", "spawn_monitored needs process.spawn too")
    pid, err = process.spawn_linked_monitored("app:no_spawn", "app:solo", me)
    t.denied(pid, err, "process.spawn", "spawn_linked_monitored needs process.spawn too")

    -- nothing started: the one-process host is still empty, no name, no message, no event
    local probe = process.spawn_monitored("app:runner", "app:solo", me)
    t.ok(probe, "the solo host is empty")
    t.msg("started", probe)
    local r, lerr = process.registry.lookup("app_no_spawn_ran")
    t.err(r, lerr, errors.NOT_FOUND, "the denied child never registered its name")
    process.send(probe, "stop")
    t.event(probe, "EXIT of the probe")
    t.empty(process.inbox(), "no message from a denied child")
    t.empty(process.events(), "no event from a denied child")
    return true
end

return { main = main }
