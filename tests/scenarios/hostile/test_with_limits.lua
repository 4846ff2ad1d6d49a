local t = require("t")

local function main()
    local me = process.pid()
    local b = process.with_context({})

    -- above the host's maximum: LIMIT_EXCEEDED, and nothing starts
    local ok, err = pcall(function()
        return b:with_limits({ compute = 50000000 }):spawn("app:hostile", "app:tight", "loop", me)
    end)
    t.raised(ok, err, errors.LIMIT_EXCEEDED, "compute", "compute over the host's maximum")
    ok, err = pcall(function() return b:with_limits({ memory = "1GiB" }):spawn("app:neighbour", "app:tight", 1) end)
    t.raised(ok, err, errors.LIMIT_EXCEEDED, "memory", "memory over the host's maximum")
    t.empty(process.events(), "no child started")

    -- bad shapes: INVALID when the builder method is called
    ok, err = pcall(function() return b:with_limits({ cpu = 1 }) end)
    t.raised(ok, err, errors.INVALID, "cpu", "unknown key")
    ok, err = pcall(function() return b:with_limits({ memory = "lots" }) end)
    t.raised(ok, err, errors.INVALID, "memory", "bad size")
    ok, err = pcall(function() return b:with_limits({ compute = -1 }) end)
    t.raised(ok, err, errors.INVALID, "compute", "negative")

    -- narrowed: the loop ends at the child's own budget, which the error names
    local pid = b:with_limits({ compute = 100000 }):spawn_monitored("app:hostile", "app:tight", "loop", me)
    t.msg("started", pid)
    local ev = t.event(pid, "EXIT of the narrowed looper")
    t.contains(ev.error, "limit.compute: spent 100000 of its 100000", "its own budget")

    -- narrowed limits that the child stays within
    pid = b:with_limits({ mailbox = 1 }):spawn_monitored("app:neighbour", "app:tight", 1)
    t.eq(t.event(pid).result.value, 1, "a child within its limits returns normally")
    return true
end

return { main = main }
