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
    -- A message with more tags than an AO message holds (256) is not handled, and the process goes on.
    local many = {}
    for i = 1, 300 do many["T" .. i] = i end
    process.send(probe, "Echo", many)
    process.send(probe, "Alive")
    t.eq(t.recv(seen, "alive after 300 tags").what, "alive", "the over-tagged Echo was not handled")
    -- Many failures in a row stay cheap and the process stays up.
    for _ = 1, 200 do
        process.send(probe, "Boom")
    end
    process.send(probe, "Alive")
    t.eq(t.recv(seen, "alive after 200 errors").what, "alive")
    -- A handler that yields (time.sleep) finishes before the next message is dispatched.
    process.send(probe, "Sleep", "zzz")
    process.send(probe, "Alive")
    t.eq(t.recv(seen, "slept").what, "slept", "the sleeping handler finished first")
    t.eq(t.recv(seen, "alive after the sleep").what, "alive")
    t.empty(process.events(), "no EXIT: the process is alive")
    t.stop(probe)

    -- An error in the top level (before the loop) ends the process abnormally with it.
    local broken = t.ok(process.spawn_monitored("app:broken", "app:procs"))
    local ev = t.event(broken, "the broken process's EXIT")
    t.eq(ev.kind, process.event.EXIT)
    t.contains(ev.error, "the top level failed on purpose")
    return true
end

return { main = main }
