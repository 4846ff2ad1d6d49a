local t = require("t")

local function main()
    local me = process.pid()
    t.eq(process.registry.register("permanent_name"), true, "register is allowed")
    local r, err = process.registry.unregister("permanent_name")
    t.denied(r, err, "process.registry.unregister", "unregister a permanent name")
    t.eq(process.registry.lookup("permanent_name"), me, "the name is still ours")
    -- even a name that is not registered: the check comes first
    r, err = process.registry.unregister("permanent_name")
    t.denied(r, err, "process.registry.unregister", "again")
    return true -- the name goes with this process when it exits
end

return { main = main }
