-- Compute and control-flow attacks (see case.lua for what each case checks).
local case = require("case")

local function main()
    case("loop", "limit.compute", true)
    case("loop_in_pcall", "limit.compute", true)
    case("recursion_in_pcall", "limit.compute", true)
    case("loop_in_xpcall_handler", "limit.compute", false)
    case("loop_in_coroutine", "limit.compute", false)
    case("pattern", "limit.compute", false)
    case("tostring_loop", "limit.compute", false)
    case("error_object_loop", "limit.compute", false)
    case("recursion", "stack overflow", false)
    return true
end

return { main = main }
