-- A tenant's fork bomb (each forker spawns two more) ends at its actor's quota of 20 processes, each spawn
-- beyond refused with LIMIT_EXCEEDED; another tenant's process on the same host and VM still starts and
-- finishes its work; stopping the first forker stops them all (links) and frees the quota.
local t = require("t")
local security = require("security")

local function main()
    local me = process.pid()
    local as_a = process.with_context({}):with_actor(security.new_actor("tenant:a"))
    local first = as_a:spawn("app:forker", "app:h2", me)
    local forkers, refused = {}, nil
    while #forkers < 20 or not refused do
        local m = t.recv(process.inbox(), "forked or refused", "10s")
        if m:topic() == "forked" then
            table.insert(forkers, m:from())
        else
            refused = m:payload()
        end
    end
    t.contains(refused, "LIMIT_EXCEEDED: ", "the kind")
    t.contains(refused, "actor `tenant:a` runs its quota of 20 processes", "the bomb's refusal")
    local ok, err = pcall(function() return as_a:spawn("app:idle", "app:h1", me) end)
    t.raised(ok, err, errors.LIMIT_EXCEEDED, "tenant:a", "tenant:a is full on every host")

    local b = process.with_context({}):with_actor(security.new_actor("tenant:b")):spawn_monitored("app:neighbour", "app:h2", 100000)
    t.eq(t.event(b, "tenant:b's neighbour", "10s").result.value, 5000050000, "another tenant works on")

    for _, pid in forkers do process.monitor(pid) end
    process.terminate(first)
    for _ = 1, #forkers do
        t.ok(t.event(nil, "a forker's EXIT").error, "forkers end abnormally")
    end
    t.eq(#forkers, 20, "exactly the quota ran")
    local pid = as_a:spawn_monitored("app:neighbour", "app:h1", 10)
    t.eq(t.event(pid, "tenant:a again").result.value, 55, "the quota is free again")
    return true
end

return { main = main }
