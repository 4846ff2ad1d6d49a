-- Attacks without end, on host `bounded` (mailboxes of 64, 50 children and 16 names per process): each goes
-- on until the runtime refuses with LIMIT_EXCEEDED, which ends it; nothing crashes and the neighbour on the
-- same VM finishes its work (see case.lua).
local case = require("case")

local function main()
    case("flood", { "LIMIT_EXCEEDED: mailbox of", "is full (64 messages)" }, false, "app:bounded")
    case("spawn_forever", { "LIMIT_EXCEEDED: ", "runs its maximum of 50 live children" }, false, "app:bounded")
    case("register_forever", { "LIMIT_EXCEEDED: ", "holds its maximum of 16 names" }, false, "app:bounded")
    return true
end

return { main = main }
