local t = require("t")

local function main()
    local me = process.pid()
    local r, err = process.send(me, "bad", function() end)
    t.err(r, err, errors.INVALID, "a function payload")
    r, err = process.send(me, "bad", { ok = 1, nested = { f = print } })
    t.err(r, err, errors.INVALID, "a nested function")
    t.contains(err:message(), "nested.f", "the error names the offending path")
    local cycle = { name = "loop" }
    cycle.me = cycle
    r, err = process.send(me, "bad", cycle)
    t.err(r, err, errors.INVALID, "a cycle")
    t.contains(err:message(), "cycle", "the error says it is a cycle")
    r, err = process.send(me, "bad", 1, coroutine.create(function() end))
    t.err(r, err, errors.INVALID, "a thread")
    r, err = process.send(me, "bad", process.inbox())
    t.err(r, err, errors.INVALID, "userdata (a channel)")
    t.empty(process.inbox(), "nothing invalid was delivered")

    -- payloads are copied: changing the table after send changes nothing delivered
    local shared = { list = { 1, 2 }, deep = { deeper = { "x" } } }
    local same = { a = shared, b = shared } -- the same table twice is not a cycle
    process.send(me, "copy", same)
    shared.list[1] = 99
    shared.deep.deeper[1] = "changed"
    local got = t.msg("copy", me):payload()
    t.deep(got.a, { list = { 1, 2 }, deep = { deeper = { "x" } } }, "a copy taken at send time")
    t.deep(got.b, got.a, "both references copied")
    got.a.list[1] = 5
    t.eq(got.b.list[1], 1, "the receiver's copies are independent tables")
    t.eq(shared.list[1], 99, "the sender's table is untouched by the receiver")

    -- a table nested past the host's depth bound is LIMIT_EXCEEDED
    local deep = {}
    local cur = deep
    for _ = 1, 40 do
        cur.next = {}
        cur = cur.next
    end
    r, err = process.send(me, "deep", deep)
    t.err(r, err, errors.LIMIT_EXCEEDED, "too deep")
    t.empty(process.inbox(), "nothing too deep was delivered")
    return true
end

return { main = main }
