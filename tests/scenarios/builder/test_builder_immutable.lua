local t = require("t")

local function report()
    return t.msg("report"):payload()
end

local function main()
    local me = process.pid()
    local b0 = process.with_context({ a = 1 })
    local b1 = b0:with_context({ b = 2 })
    local b2 = b0:with_name("imm_name")
    local b3 = b0:with_message("hello", "queued")
    t.ok(not rawequal(b0, b1) and not rawequal(b0, b2) and not rawequal(b0, b3), "each method returns a new builder")
    t.ok(not pcall(function()
        b0.extra = true
    end), "a builder cannot be changed in place")

    -- the original is unchanged by what was derived from it
    local p0 = b0:spawn("app:reporter", "app:procs", me, "imm_name", true)
    local r0 = report()
    t.eq(r0.pid, p0, "report from the b0 child")
    t.deep(r0.ctx, { a = 1 }, "b0 has only its own context")
    t.eq(r0.named, nil, "b0 registers no name")
    t.deep(r0.queued, {}, "b0 queues no message")

    local p1 = b1:spawn("app:reporter", "app:procs", me, nil, true)
    local r1 = report()
    t.eq(r1.pid, p1, "b1 child")
    t.deep(r1.ctx, { a = 1, b = 2 }, "b1 merges its context over b0's")

    local p2 = b2:spawn("app:reporter", "app:procs", me, "imm_name")
    local r2 = report()
    t.eq(r2.named, p2, "b2 registered the name")
    t.deep(r2.queued, {}, "b2 queues no message")
    process.send(p2, "stop")

    local p3 = b3:spawn("app:reporter", "app:procs", me, nil, true)
    local r3 = report()
    t.eq(r3.pid, p3, "b3 child")
    t.deep(r3.queued, { { topic = "hello", from = me, payload = "queued" } }, "b3 queued its message")

    -- a builder can be used again: same settings, a new child
    local again = b1:spawn("app:reporter", "app:procs", me, nil, true)
    t.ok(again ~= p1, "a new child")
    t.deep(report().ctx, { a = 1, b = 2 }, "same context")
    return true
end

return { main = main }
