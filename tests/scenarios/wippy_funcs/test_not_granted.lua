-- `funcs` and `events` are granted only by `modules:`.
local t = require("t")

local function main()
    local ok, err = pcall(require, "funcs")
    t.eq(ok, false)
    t.contains(tostring(err), "not granted", "funcs without a grant")
    ok, err = pcall(require, "events")
    t.eq(ok, false)
    t.contains(tostring(err), "not granted", "events without a grant")
    return true
end

return { main = main }
