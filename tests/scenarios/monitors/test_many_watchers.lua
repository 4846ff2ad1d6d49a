local t = require("t")

local function main()
    local me = process.pid()
    local target = process.spawn_monitored("app:worker", "app:procs")
    local w1 = process.spawn("app:watcher", "app:procs", me, target)
    local w2 = process.spawn("app:watcher", "app:procs", me, target)
    local ready = {}
    ready[t.msg("watching"):from()] = true
    ready[t.msg("watching"):from()] = true
    t.ok(ready[w1] and ready[w2], "both watchers monitor the target")
    process.send(target, "fail", "for everyone")
    t.eq(t.event(target, "our own EXIT").error, "for everyone", "our monitor")
    local seen = {}
    for _ = 1, 2 do
        local m = t.msg("saw")
        local p = m:payload()
        t.eq(p.kind, process.event.EXIT, "kind seen by a watcher")
        t.eq(p.from, target, "from")
        t.eq(p.error, "for everyone", "error seen by a watcher")
        seen[m:from()] = true
    end
    t.ok(seen[w1] and seen[w2], "every monitor got the EXIT")

    -- a monitor held by a process that exits is dropped with it (no EXIT to a dead watcher, no leak)
    local target2 = process.spawn("app:waiter", "app:procs")
    local w3 = process.spawn_monitored("app:watcher", "app:procs", me, target2)
    t.msg("watching", w3)
    process.terminate(w3)
    t.eq(t.event(w3, "EXIT of the watcher").error, "terminated", "watcher gone")
    t.stop(target2)
    return true
end

return { main = main }
