-- `assert` raises its message as it is: an error object stays an error object (the everyday
-- `assert(process.spawn(...))` shows the real error), a string stays a string.
local t = require("t")

local function main()
    local ok, err = pcall(function()
        assert(process.spawn("app:no_such_entry", "app:procs"))
    end)
    t.eq(ok, false)
    t.eq(type(err), "userdata", "the error object itself is raised")
    t.eq(err:kind(), errors.NOT_FOUND)

    local ok2, msg = pcall(assert, false, "plain text")
    t.eq(ok2, false)
    t.eq(msg, "plain text")
    local ok3, default = pcall(assert, nil)
    t.eq(ok3, false)
    t.ok(string.find(tostring(default), "assertion failed!", 1, true), tostring(default))

    local a, b, c = assert(1, 2, 3)
    t.eq(a + b + c, 6, "a true value returns every argument")
    return true
end

return { main = main }
