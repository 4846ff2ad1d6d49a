-- A handler or pattern that raises does not end the process: the next message is handled.
local t = require("t")

local function main()
    local seen = process.listen("seen")
    local probe = t.ok(process.spawn_monitored("app:probe", "app:procs", { Watcher = process.pid() }))
    t.recv(seen, "started")
    for _, action in ipairs({ "Boom", "BadPattern", "OddPattern", "NobodyHandlesThis" }) do
        process.send(probe, action, { n = 1 })
        process.send(probe, "Alive")
        local r = t.recv(seen, "alive after " .. action)
        t.eq(r.what, "alive", "the process survived " .. action)
        t.eq(r.value, probe)
    end
    -- Many failures in a row stay cheap and the process stays up.
    for _ = 1, 200 do
        process.send(probe, "Boom")
    end
    process.send(probe, "Alive")
    t.eq(t.recv(seen, "alive after 200 errors").what, "alive")
    t.empty(process.events(), "no EXIT: the process is alive")
    t.stop(probe)
    return true
end

return { main = main }
