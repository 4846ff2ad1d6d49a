-- Class 3: host memory that no limit counted. Every byte the host keeps for a process (error texts, scopes,
-- kept messages, channel items, listeners, events, builders) is charged to its memory account (the host's
-- 4 MiB on `tight`), so each attack ends with `limit.memory` (or a refused LIMIT_EXCEEDED) while the
-- neighbour on the same VM finishes.
local t = require("t")
local case = require("case")

-- Ends over its memory: killed with `limit.memory`, or refused with LIMIT_EXCEEDED (which ends it too),
-- whichever of its Lua heap and what the host holds for it reaches the limit first.
local function over_memory(kind)
    return function(exit)
        local why = tostring(exit.error)
        t.ok(string.find(why, "limit.memory", 1, true) or string.find(why, "LIMIT_EXCEEDED", 1, true),
            kind .. " ends over its memory: " .. why)
    end
end

local function main()
    local A = "app:host_attacker"
    for _, kind in { "error_objects", "scopes", "channel_fill", "builder_chain", "monitor_dead" } do
        case(kind, "limit.memory", false, "app:tight", A)
    end
    for _, kind in { "kept_messages", "listen_forever" } do
        case(kind, over_memory(kind), false, "app:tight", A)
    end
    return true
end

return { main = main }
