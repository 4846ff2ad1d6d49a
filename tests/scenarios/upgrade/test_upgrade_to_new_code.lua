local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:v1", "app:procs", me)
    t.eq(t.msg("v1_started", pid):payload(), pid, "v1 runs")
    process.registry.register("upgradable", pid)
    for _ = 1, 3 do
        process.send(pid, "work")
    end
    process.send(pid, "upgrade", "app:v2")
    -- a message sent before the new code reads its mailbox is not lost
    process.send(pid, "ping", "early")

    local started = t.msg("v2_started", pid):payload()
    t.eq(started.pid, pid, "the same pid after the upgrade")
    t.deep(started.state, { count = 3, from = "v1" }, "the state reached the new code")
    t.eq(started.id, "app:v2", "process.id() names the code that runs now")
    local pong = t.msg("pong", pid):payload()
    t.deep(pong, { version = 2, payload = "early" }, "the mailbox survived the upgrade")

    -- names and monitors survive too; no EXIT was sent for the upgrade itself
    t.empty(process.events(), "no EXIT for an upgrade")
    t.eq(process.registry.lookup("upgradable"), pid, "the name still points at it")
    process.send("upgradable", "stop")
    local ev = t.event(pid, "EXIT of v2")
    t.deep(ev.result.value, { version = 2, count = 3 }, "v2's return value")
    return true
end

return { main = main }
