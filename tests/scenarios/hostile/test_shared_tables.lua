-- Boundary class 1, shared tables: a script plants code in a table every process of its VM shares (a nested
-- table of a global, a userdata type's metatable, the builder's methods). Each write is refused, the attacker
-- ends with the error, and the neighbour on the same VM runs with the tables intact (see case.lua).
local t = require("t")
local case = require("case")

local function main()
    local readonly = "attempt to modify a readonly table"
    for _, kind in { "planted_registry", "planted_event", "planted_builder", "planted_string_meta" } do
        case(kind, readonly, false)
    end
    for _, kind in { "planted_userdata_meta", "planted_error_meta" } do
        case(kind, "attempt to index boolean", false)
    end
    -- the planted function never ran: no message reached the parent
    t.empty(process.inbox(), "nothing was sent by a planted function")
    t.eq(type(process.registry.register), "function", "process.registry.register is the runtime's")
    t.eq(process.event.EXIT, "pid.exit", "process.event is intact")
    return true
end

return { main = main }
