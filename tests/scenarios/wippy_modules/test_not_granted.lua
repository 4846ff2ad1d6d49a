-- An entry that does not list `json` in its modules cannot require it, even in the reference dialect.
local t = require("t")

local function main()
    local ok, err = pcall(require, "json")
    t.eq(ok, false)
    t.ok(string.find(tostring(err), "not granted", 1, true), tostring(err))
    return true
end

return { main = main }
