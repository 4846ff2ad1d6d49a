-- An actor's memory is the sum of its live processes' memory limits (corral.toml: 64 MiB for tenant:c; each
-- host's default limit is 16 MiB): four processes fill it, a fifth is LIMIT_EXCEEDED whatever its own limit,
-- and an exit makes room for a narrower one.
local t = require("t")
local security = require("security")

local function main()
    local me = process.pid()
    local as_c = process.with_context({}):with_actor(security.new_actor("tenant:c"))
    local pids = {}
    for i = 1, 4 do
        table.insert(pids, as_c:spawn_monitored("app:idle", if i % 2 == 0 then "app:h1" else "app:h2", me))
    end
    local ok, err = pcall(function()
        return as_c:with_limits({ memory = "1MiB" }):spawn_monitored("app:idle", "app:h1", me)
    end)
    t.raised(ok, err, errors.LIMIT_EXCEEDED, "actor `tenant:c` would hold 68157440 bytes", "a fifth, 1 MiB")
    t.contains(err:message(), "over its quota of 67108864", "the quota in bytes")
    t.empty(process.events(), "the refused spawn started nothing")

    t.stop(pids[4])
    pids[4] = as_c:with_limits({ memory = "8MiB" }):spawn_monitored("app:idle", "app:h1", me)
    pids[5] = as_c:with_limits({ memory = "8MiB" }):spawn_monitored("app:idle", "app:h2", me)
    ok, err = pcall(function()
        return as_c:with_limits({ memory = "1" }):spawn_monitored("app:idle", "app:h1", me)
    end)
    t.raised(ok, err, errors.LIMIT_EXCEEDED, "tenant:c", "exactly full: one byte more is refused")

    for _, pid in pids do t.stop(pid) end
    return true
end

return { main = main }
