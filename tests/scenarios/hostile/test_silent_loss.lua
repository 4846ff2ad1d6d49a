-- Class 6: builder messages beyond the child's mailbox refuse the spawn with LIMIT_EXCEEDED before anything
-- starts (they used to be dropped with a log line: 1100 sent, 1024 arrived).
local case = require("case")

local function main()
    case("builder_overfull", { "limit exceeded", "100 builder messages do not fit the child's mailbox of 64" },
        false, "app:bounded", "app:host_attacker")
    return true
end

return { main = main }
