local t = require("t")

local function main()
    t.eq(type(require("time").now), "function", "a granted built-in module")
    t.ok(rawequal(require("t"), t), "an import is loaded once per process")
    local ok, err = pcall(require, "security")
    t.eq(ok, false, "a built-in module the entry does not grant")
    t.contains(tostring(err), "security", "the error names the module")
    ok, err = pcall(require, "json")
    t.eq(ok, false, "a module that does not exist")
    t.contains(tostring(err), "json", "the error names the module")
    ok, err = pcall(require, "app:t")
    t.eq(ok, false, "an entry id is not an alias")
    return true
end

return { main = main }
