-- Values that cannot cross processes: the send (or spawn) is refused with a clear error naming the path,
-- nothing is delivered, and the neighbour on the same VM is unaffected (see case.lua).
local t = require("t")
local case = require("case")

local function main()
    case("send_function", "INVALID: payload[1].f: a function cannot be copied between processes", false)
    case("send_userdata", "INVALID: payload[1][1]: a userdata cannot be copied between processes", false)
    case("send_error_object", "INVALID: payload[1]: a userdata cannot be copied between processes", false)
    case("send_thread", "INVALID: payload[1]: a thread cannot be copied between processes", false)
    case("send_cycle", "INVALID: payload[1].a.b.c: a table that contains itself (a cycle) cannot be copied", false)
    case("send_deep", "LIMIT_EXCEEDED", false)
    case("spawn_function_argument", "INVALID: argument", false, "app:bounded")
    t.empty(process.inbox(), "no refused payload was delivered")
    return true
end

return { main = main }
