-- ctx.get / ctx.all as the reference documents them, and context values across processes.
local t = require("t")
local ctx = require("ctx")

local function main()
    local me = process.pid()
    local v, err = ctx.get("nothing-here")
    t.err(v, err, errors.NOT_FOUND, "an unknown key")
    t.contains(err:message(), "nothing-here")
    v, err = ctx.get("")
    t.err(v, err, errors.INVALID, "an empty key")
    v, err = ctx.get(42)
    t.err(v, err, errors.INVALID, "a number key")
    v, err = ctx.get(string.rep("k", 100000))
    t.err(v, err, errors.INVALID, "a huge key")
    local all, aerr = ctx.all()
    t.eq(aerr, nil)
    t.eq(type(all), "table")

    -- Values set with a builder reach the child and its child (inherited), and a payload is its value.
    local builder = process.with_context({ parent = me, user = payload.new({ id = "u1" }) })
    local child = builder:spawn_monitored("app:ctx_reader", "app:procs", 1)
    local seen = {}
    for _ = 1, 2 do
        local report = t.msg("ctx"):payload():data()
        seen[report.depth] = report
    end
    t.eq(seen[1].user.id, "u1", "the child reads it")
    t.eq(seen[0].user.id, "u1", "the grandchild inherits it")
    t.eq(seen[0].all_user.id, "u1", "ctx.all has it")
    t.eq(seen[1].err, nil)
    t.eq(seen[0].missing, errors.NOT_FOUND)
    t.event(child, "EXIT of the child")
    return true
end

return { main = main }
