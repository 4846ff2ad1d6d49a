local t = require("t")
local ctx = require("ctx")

local function main()
    local me = process.pid()
    t.eq(ctx.get("a"), nil, "the root has no context value")
    local values = { a = "alpha", nested = { list = { 1, 2 } } }
    local b = process.with_context(values)
    values.a = "changed" -- context values are copied when given to the builder
    local pid = b:spawn("app:reporter", "app:procs", me, nil, true)
    local r = t.msg("report", pid):payload()
    t.eq(r.a, "alpha", "ctx.get reads the builder's value")
    t.deep(r.ctx, { a = "alpha", nested = { list = { 1, 2 } } }, "ctx.all")

    -- later values win
    local over = process.with_context({ a = 1, keep = true }):with_context({ a = 2 })
    over:spawn("app:reporter", "app:procs", me, nil, true)
    t.deep(t.msg("report"):payload().ctx, { a = 2, keep = true }, "merged, later wins")

    -- inherited by grandchildren spawned without a builder
    local mid = process.with_context({ a = "inherited", level = 1 }):spawn_monitored("app:spawner", "app:procs", me)
    local gr = t.msg("report"):payload()
    local ev = t.event(mid, "EXIT of the spawner")
    t.eq(ev.result.value.child, gr.pid, "the grandchild reported")
    t.deep(gr.ctx, { a = "inherited", level = 1 }, "the grandchild inherits the context")

    -- a value that cannot be copied raises INVALID
    local ok, err = pcall(process.with_context, { f = function() end })
    t.raised(ok, err, errors.INVALID, "context.f", "a function in the context")
    ok, err = pcall(process.with_context, "not a table")
    t.raised(ok, err, errors.INVALID, nil, "context that is not a table")
    ok, err = pcall(process.with_context, { [1] = "x" })
    t.raised(ok, err, errors.INVALID, nil, "context keys must be strings")
    return true
end

return { main = main }
