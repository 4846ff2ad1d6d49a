-- Denials: funcs.call on a forbidden entry, and an Executor's actor the policy refuses.
local t = require("t")
local funcs = require("funcs")
local security = require("security")

local function main()
    local v, err = funcs.call("app:forbidden", 1, 2)
    t.denied(v, err, "funcs.call", "a sync call of a forbidden function")
    t.contains(err:message(), "app:forbidden", "names the entry")

    local f, aerr = funcs.async("app:forbidden", 1, 2)
    t.denied(f, aerr, "funcs.call", "an async call of a forbidden function")

    -- The same entry's code under another id is allowed: the decision is about the entry.
    t.eq(funcs.call("app:add", 1, 2), 3)

    -- with_actor is decided as process.security (like the SpawnBuilder's).
    local exec, serr = funcs.new():with_actor(security.new_actor("user:mallory"))
    t.denied(exec, serr, "process.security", "running a function as mallory")
    return true
end

return { main = main }
