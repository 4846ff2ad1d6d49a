-- Calls a slow function synchronously (parked until it returns) on behalf of `parent`, who terminates it.
local funcs = require("funcs")

local function main(parent)
    return funcs.call("app:slow", parent)
end

return { main = main }
