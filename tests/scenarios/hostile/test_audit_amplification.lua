-- Class 8: audit amplification. Strings over the bound (256 bytes) are INVALID before any decision, so no
-- record carries them; a repeated monitor is decided, recorded and answered once.
local t = require("t")
local case = require("case")

local function main()
    case("long_strings", function(exit)
        local seen = exit.result.value
        t.eq(type(seen), "table", "long_strings returns what it saw (" .. tostring(exit.error) .. ")")
        for _, call in { "register", "lookup", "send", "dest", "can", "actor", "scope", "scopes" } do
            t.eq(seen[call], errors.INVALID, call .. " with a string over the bound")
        end
    end, false, "app:bounded", "app:host_attacker")
    case("monitor_repeat", function(exit)
        t.eq(exit.result.value, 1, "one noproc EXIT for 10 000 monitors of one dead PID (" .. tostring(exit.error) .. ")")
    end, false, "app:bounded", "app:host_attacker")
    return true
end

return { main = main }
