-- Boundary class 2a, tenant numbers and time: `time.sleep`, `time.after`, `time.ticker`,
-- `time.parse_duration` and `process.cancel` with 1e300, -1, NaN, ±infinity, "300000years" and 2^53 ms, and
-- `t:add` past the year 9999: each is `INVALID` naming the value (returned as `nil, err`, or raised where the
-- call raises), the attacker goes on and returns what it saw, and the neighbour finishes (see case.lua).
local t = require("t")
local case = require("case")

local function main()
    case("tenant_numbers", function(exit)
        local seen = exit.result and exit.result.value
        t.eq(type(seen), "table", "the attacker returns what it saw (" .. tostring(exit.error) .. ")")
        t.eq(#seen, 7 * 5 + 2 + 3, "every call answered")
        for i = 1, 7 * 5 + 2 do
            t.contains(seen[i], "INVALID", "refusal " .. i)
            t.contains(seen[i], "invalid duration", "refusal " .. i)
        end
        t.contains(seen[7 * 5 + 3], "INVALID", "a time past 9999")
        t.contains(seen[7 * 5 + 3], "past the latest time", "a time past 9999 is refused")
        t.contains(seen[7 * 5 + 4], "formatted 99", "the latest reachable time formats")
        t.eq(seen[7 * 5 + 5], "nanos true", "and converts")
    end, false, "app:tight", "app:hostile_timed")
    return true
end

return { main = main }
