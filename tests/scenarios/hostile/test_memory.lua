-- Memory attacks on 4 MiB per process: each must end with limit.memory whatever it catches (see case.lua).
local case = require("case")

local function main()
    for _, kind in { "string_rep", "string_rep_in_pcall", "concat", "doubling", "table_growth",
                     "table_growth_in_pcall", "coroutine_bomb", "buffer" } do
        case(kind, "limit.memory", false)
    end
    return true
end

return { main = main }
