local t = require("t")

local function main()
    local me = process.pid()
    local v, err = process.exec("app:no_exec", "app:solo", me)
    t.denied(v, err, "process.exec", "exec of a forbidden entry")
    t.contains(err:message(), "app:no_exec", "names the entry")
    -- exec and spawn are separate permissions: spawning the entry is allowed, and it fits on the host
    local pid = process.spawn("app:no_exec", "app:solo", me)
    t.ok(pid, "spawn is allowed and the host is empty")
    t.eq(t.msg("started"):payload(), pid, "only the spawned child ran")
    t.stop(pid)
    t.empty(process.inbox(), "nothing from the denied exec")
    return true
end

return { main = main }
