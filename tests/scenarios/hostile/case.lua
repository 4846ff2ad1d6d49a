-- One hostile case: the attacker runs on host `tight` (one VM) and has started before its neighbour starts on
-- the same VM. The neighbour must return the right sum and the attacker must end with an error containing
-- `want`. Where the attack runs in Lua code the runtime can pause (`preemptible`), the neighbour must finish
-- first: the attacker was paused at its time slices. Code in a coroutine, a C call (pattern matching,
-- `tostring`) or an error handler cannot be paused; it is still counted, and ended by its budget.
local t = require("t")

return function(kind, want, preemptible)
    local bad = process.spawn_monitored("app:hostile", "app:tight", kind, process.pid())
    t.eq(t.msg("started", bad, kind .. ": started", "10s"):payload(), kind, "the attacker runs")
    local good = process.spawn_monitored("app:neighbour", "app:tight", 100000)
    local first = t.event(nil, kind .. ": first exit", "15s")
    local second = t.event(nil, kind .. ": second exit", "15s")
    local by = { [first.from] = first, [second.from] = second }
    if preemptible then
        t.eq(first.from, good, kind .. ": the neighbour finishes while the attacker still runs")
    end
    t.eq(by[good].result.value, 5000050000, kind .. ": the neighbour's result")
    t.ok(by[bad].error, kind .. ": the attacker exits abnormally")
    t.contains(by[bad].error, want, kind .. ": exit reason")
end
