local t = require("t")

-- Each attack runs on host `tight` (one VM, 4 MiB per process) beside a neighbour on the same VM. The attacker
-- must end with `limit.memory` whatever it catches, and the neighbour must return its right result.
local function case(kind)
    local bad = process.spawn_monitored("app:hostile", "app:tight", kind, process.pid())
    t.eq(t.msg("started", bad, kind .. ": started", "10s"):payload(), kind, "the attacker runs")
    local good = process.spawn_monitored("app:neighbour", "app:tight", 100000)
    local first = t.event(nil, kind .. ": first exit", "15s")
    local second = t.event(nil, kind .. ": second exit", "15s")
    local by = { [first.from] = first, [second.from] = second }
    t.eq(by[good].result.value, 5000050000, kind .. ": the neighbour's result")
    t.ok(by[bad].error, kind .. ": the attacker exits abnormally")
    t.contains(by[bad].error, "limit.memory", kind .. ": exit reason")
end

local function main()
    for _, kind in { "string_rep", "string_rep_in_pcall", "concat", "doubling", "table_growth",
                     "table_growth_in_pcall", "coroutine_bomb", "buffer" } do
        case(kind)
    end
    return true
end

return { main = main }
