-- Registering a name one already holds is true (idempotent); another process still cannot take it.
local t = require("t")

local function main()
    local me = process.pid()
    t.eq(process.registry.register("again-svc"), true, "first")
    t.eq(process.registry.register("again-svc"), true, "again: idempotent")
    t.eq(process.registry.register("again-svc", me), true, "again, naming the own PID")
    t.eq(process.registry.lookup("again-svc"), me)

    local taker = process.spawn_monitored("app:name_taker", "app:procs", me, "again-svc")
    t.eq(t.msg("took", taker):payload():data(), errors.ALREADY_EXISTS, "another process is refused")
    t.event(taker, "EXIT of the taker")

    -- A name held by another process, registered for that process again: true as well.
    local idle = process.spawn_monitored("app:relay", "app:procs")
    t.eq(process.registry.register("again-other", idle), true)
    t.eq(process.registry.register("again-other", idle), true, "the same holder")
    local r, err = process.registry.register("again-other")
    t.err(r, err, errors.ALREADY_EXISTS, "but not for me")
    t.eq(process.registry.unregister("again-svc"), true)
    process.send(idle, "stop")
    t.event(idle, "EXIT of the relay")
    return true
end

return { main = main }
