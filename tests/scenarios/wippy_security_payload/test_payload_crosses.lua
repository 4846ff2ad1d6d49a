-- A payload object can be sent, passed as a spawn argument and returned from main: it is its value.
local t = require("t")

local function main()
    local me = process.pid()
    local relay = process.spawn_monitored("app:relay", "app:procs")

    -- The relay sends back the payload object it received (not :data()).
    process.send(relay, "go", { n = 5, list = { "x", "y" } })
    local back = t.msg("back", relay)
    t.deep(back:payload():data(), { n = 5, list = { "x", "y" } }, "the value crossed twice")

    -- payload.new as a payload of a send, and inside a table.
    process.send(relay, "go", payload.new("plain"))
    t.eq(t.msg("back", relay):payload():data(), "plain")
    process.send(relay, "go", { inner = payload.new({ deep = true }) })
    t.eq(t.msg("back", relay):payload():data().inner.deep, true, "a payload inside a table")
    process.send(relay, "stop")
    t.event(relay, "EXIT of the relay")

    -- As a spawn argument.
    local echo = process.spawn_monitored("app:arg_echo", "app:procs", me, payload.new({ k = "v" }))
    t.eq(t.msg("args", echo):payload():data().k, "v")
    t.event(echo, "EXIT of arg_echo")

    -- Returned from main: exec gives the value, the EXIT event carries it.
    local value = process.exec("app:returner", "app:procs", 21)
    t.eq(value.doubled, 42, "exec returns the payload's value")
    t.eq(value.tags[1], "a")
    local r = process.spawn_monitored("app:returner", "app:procs", 1)
    local ev = t.event(r, "EXIT of returner")
    t.eq(ev.error, nil, "a normal exit")
    t.eq(ev.result.value.doubled, 2)

    -- A JSON payload crosses as its value too.
    local j = payload.new({ a = 1 }):transcode(payload.format.JSON)
    process.send(me, "json", j)
    t.eq(t.msg("json"):payload():data().a, 1)
    return true
end

return { main = main }
