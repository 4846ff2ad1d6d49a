-- `ch:receive()` answers exactly `value, ok` whatever the channel holds: an event made in Luau from its parts
-- (queued before the call, or arriving while the process waits), a message's payload, or `nil, false` on a
-- closed channel.
local t = require("t")

local function main()
    local events = process.events()

    -- Queued before the call: the child ends first (`exec` of another child waits long enough for it).
    local first = process.spawn_monitored("app:ender", "app:procs", "value", { n = 1 })
    process.exec("app:ender", "app:procs", "value", 0)
    local queued = table.pack(events:receive())
    t.eq(queued.n, 2, "a queued event: two values")
    t.eq(queued[2], true, "ok")
    t.eq(queued[1].kind, process.event.EXIT, "kind")
    t.eq(queued[1].from, first, "from the first child")
    t.deep(queued[1].result, { value = { n = 1 } }, "result")
    t.eq(queued[1].error, nil, "no error")

    -- Arriving while the process waits: the receive parks before the child has run.
    local second = process.spawn_monitored("app:ender", "app:procs", "raise_plain", "boom")
    local got = table.pack(events:receive())
    t.eq(got.n, 2, "an event received while waiting: two values")
    local e, yes = got[1], got[2]
    t.eq(yes, true, "ok")
    t.eq(e.kind, process.event.EXIT, "kind")
    t.eq(e.from, second, "from")
    t.eq(e.error, "boom", "error")
    t.eq(e.result.error, "boom", "result.error")
    t.eq(type(e.at), "number", "at")
    t.eq(first ~= second, true, "two children")

    -- A payload channel and a closed one.
    local pings = process.listen("ping")
    process.send(process.pid(), "ping", 7)
    local p = table.pack(pings:receive())
    t.eq(p.n, 2, "a payload: two values")
    t.eq(p[1], 7, "the payload")
    t.eq(p[2], true, "ok")
    process.unlisten(pings)
    local closed = table.pack(pings:receive())
    t.eq(closed.n, 2, "a closed channel: two values")
    t.eq(closed[1], nil, "nil")
    t.eq(closed[2], false, "not ok")
    return true
end

return { main = main }
