-- An actor's live processes are bounded across hosts (corral.toml: 20 for every actor): the 21st spawn is
-- LIMIT_EXCEEDED and starts nothing, another actor is unaffected, and an exit makes room again.
local t = require("t")
local security = require("security")

local function main()
    local me = process.pid()
    local as_a = process.with_context({}):with_actor(security.new_actor("tenant:a"))
    local pids = {}
    for i = 1, 20 do
        local host = if i % 2 == 0 then "app:h1" else "app:h2"
        table.insert(pids, as_a:spawn_monitored("app:idle", host, me))
    end
    local ok, err = pcall(function() return as_a:spawn_monitored("app:idle", "app:h1", me) end)
    t.raised(ok, err, errors.LIMIT_EXCEEDED, "actor `tenant:a` runs its quota of 20 processes", "the 21st")
    t.contains(err:message(), "corral.toml [quotas]", "the error says where the quota comes from")
    t.empty(process.events(), "the refused spawn started nothing")

    -- another actor still spawns, on the same hosts
    local b = process.with_context({}):with_actor(security.new_actor("tenant:b")):spawn_monitored("app:neighbour", "app:h2", 100)
    t.eq(t.event(b, "tenant:b's neighbour").result.value, 5050, "another actor is unaffected")

    -- an exit releases its share of the quota
    t.stop(pids[1])
    table.remove(pids, 1)
    table.insert(pids, as_a:spawn_monitored("app:idle", "app:h1", me))
    ok, err = pcall(function() return as_a:spawn("app:idle", "app:h2", me) end)
    t.raised(ok, err, errors.LIMIT_EXCEEDED, "quota of 20 processes", "full again")

    for _, pid in pids do t.stop(pid) end
    return true
end

return { main = main }
