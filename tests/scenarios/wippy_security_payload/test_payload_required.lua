-- `require("payload")` with `modules: [payload]` is the same module as the global.
local t = require("t")
local p = require("payload")

local function main()
    t.eq(p, payload, "the same table")
    t.eq(p.new(7):data(), 7)
    return true
end

return { main = main }
