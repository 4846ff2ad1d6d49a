-- Garbage and huge arguments: INVALID (or LIMIT_EXCEEDED past a bound), never a crash.
local t = require("t")
local funcs = require("funcs")

local function main()
    local v, err = funcs.call("")
    t.err(v, err, errors.INVALID, "an empty target")
    v, err = funcs.call("add")
    t.err(v, err, errors.INVALID, "no namespace")
    t.contains(err:message(), "namespace")
    v, err = funcs.call("app:")
    t.err(v, err, errors.INVALID, "no name")
    t.contains(err:message(), "name")
    v, err = funcs.call(":add")
    t.err(v, err, errors.INVALID, "an empty namespace")
    v, err = funcs.call(12345)
    t.err(v, err, errors.INVALID, "a number target")
    v, err = funcs.call({})
    t.err(v, err, errors.INVALID, "a table target")
    v, err = funcs.call()
    t.err(v, err, errors.INVALID, "no target")
    v, err = funcs.call(string.rep("a", 1000000) .. ":x")
    t.err(v, err, errors.INVALID, "a 1 MB target")
    v, err = funcs.async(string.rep("a", 1000000) .. ":x")
    t.err(v, err, errors.INVALID, "a 1 MB async target")
    v, err = funcs.call("app:missing")
    t.err(v, err, errors.NOT_FOUND, "an unknown entry")
    v, err = funcs.call("app:proc")
    t.err(v, err, errors.INVALID, "a process entry is not a function")
    t.contains(err:message(), "function.lua")

    -- Arguments: a function cannot be copied; 2 MB is over the 1 MiB message bound.
    v, err = funcs.call("app:add", function() end, 1)
    t.err(v, err, errors.INVALID, "a function argument")
    v, err = funcs.call("app:add", string.rep("x", 2 * 1024 * 1024), 1)
    t.err(v, err, errors.LIMIT_EXCEEDED, "a 2 MB argument")
    v, err = funcs.async("app:add", string.rep("x", 2 * 1024 * 1024), 1)
    t.err(v, err, errors.LIMIT_EXCEEDED, "a 2 MB async argument")
    local cyclic = {}
    cyclic.self = cyclic
    v, err = funcs.call("app:add", cyclic, 1)
    t.err(v, err, errors.INVALID, "a cyclic argument")

    -- Executor methods: wrong types are `nil, INVALID`.
    local base = funcs.new()
    v, err = base:with_context(5)
    t.err(v, err, errors.INVALID, "context of a number")
    v, err = base:with_context({ [1] = "x" })
    t.err(v, err, errors.INVALID, "context with a number key")
    v, err = base:with_actor("user:bob")
    t.err(v, err, errors.INVALID, "an actor that is a string")
    v, err = base:with_scope(42)
    t.err(v, err, errors.INVALID, "a scope that is a number")
    v, err = base:with_options("fast")
    t.err(v, err, errors.INVALID, "options that are a string")
    v, err = base:with_options({ timeout = -5 })
    t.err(v, err, errors.INVALID, "a negative timeout")
    v, err = base:with_options({ timeout = 0 / 0 })
    t.err(v, err, errors.INVALID, "a NaN timeout")
    v, err = base:with_options({ retries = 3 })
    t.err(v, err, errors.INVALID, "an unknown option")
    v, err = base:with_context({ big = string.rep("x", 2 * 1024 * 1024) })
    t.ok(v == nil and err ~= nil, "a 2 MB context value is refused")

    -- A long chain costs linear time and memory, and the result still works.
    local exec = base
    for i = 1, 2000 do
        exec = assert(exec:with_context({ step = i }))
    end
    t.eq(exec:call("app:add", 2, 2), 4)

    -- Many async calls at once stay within the caller's bounds; each result arrives.
    local futures = {}
    for i = 1, 50 do
        futures[i] = assert(funcs.async("app:add", i, 0))
    end
    local sum = 0
    for i = 1, 50 do
        local p = t.recv(futures[i]:channel(), "result " .. i)
        sum = sum + p:data()
    end
    t.eq(sum, 50 * 51 / 2)
    return true
end

return { main = main }
