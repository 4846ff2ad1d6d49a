-- funcs.call: a function entry's result, its error, and an Executor's context and actor.
local t = require("t")
local funcs = require("funcs")
local security = require("security")

local function main()
    t.eq(funcs.call("app:add", 2, 3), 5, "a sync call returns the function's result")

    local user, err = funcs.call("app:lookup", 42)
    t.eq(err, nil)
    t.eq(user.name, "Alice", "a table result")
    t.eq(user.id, 42)

    local none, lerr = funcs.call("app:lookup", 7)
    t.eq(none, nil, "a failing function gives nil")
    t.contains(lerr:message(), "no user 7", "and its error text")

    -- The called function runs as the caller's actor unless an Executor says otherwise.
    local seen = funcs.call("app:who")
    t.eq(seen.actor, "user:tester", "the caller's actor")
    t.eq(seen.request_id, nil, "no context value")

    -- Executors are immutable: each method returns a new one, the base is reusable.
    local base = funcs.new()
    local traced, cerr = base:with_context({ request_id = "req-1" })
    t.eq(cerr, nil)
    local as_bob = assert(traced:with_actor(security.new_actor("user:bob")))
    local r1 = traced:call("app:who")
    t.eq(r1.request_id, "req-1", "context values reach the function")
    t.eq(r1.actor, "user:tester")
    local r2 = as_bob:call("app:who")
    t.eq(r2.actor, "user:bob", "with_actor: the function runs as bob")
    t.eq(r2.request_id, "req-1", "and keeps the context")
    local r3 = base:call("app:who")
    t.eq(r3.request_id, nil, "the base executor is unchanged")
    t.eq(base:call("app:add", 1, 1), 2)

    -- Options: a timeout the call returns within.
    local timed = assert(base:with_options({ timeout = 5000, priority = 1 }))
    t.eq(timed:call("app:add", 20, 22), 42)
    return true
end

return { main = main }
