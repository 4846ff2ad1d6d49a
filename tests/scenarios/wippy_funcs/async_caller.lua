-- Starts a slow async call that reports to `parent`, then exits without waiting: the call must not outlive it.
local funcs = require("funcs")

local function main(parent)
    local future, err = funcs.async("app:slow", parent)
    assert(future, err)
    process.send(parent, "caller_done", true)
    return true
end

return { main = main }
