local t = require("t")

local function main()
    local me = process.pid()
    local pid, err = process.spawn_linked("app:no_linked", "app:solo", me)
    t.denied(pid, err, "process.spawn.linked", "spawn_linked")
    pid, err = process.spawn_linked_monitored("app:no_linked", "app:solo", me)
    t.denied(pid, err, "process.spawn.linked", "spawn_linked_monitored")

    local plain = process.spawn_monitored("app:no_linked", "app:solo", me)
    t.ok(plain, "spawn_monitored is allowed and fits: nothing else runs on the host")
    t.eq(t.msg("started"):payload(), plain, "only the allowed child started")
    t.stop(plain)
    t.empty(process.inbox(), "no other child")
    t.empty(process.events(), "no LINK_DOWN or EXIT from a denied child")
    return true
end

return { main = main }
