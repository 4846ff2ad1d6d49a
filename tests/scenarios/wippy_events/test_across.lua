-- Another process's subscription receives what this one sends; a subscription ends with its process.
local t = require("t")
local events = require("events")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:listener", "app:procs", me)
    t.eq(t.msg("ready", pid):payload():data(), true)
    assert(events.send("orders.eu", "order.created", "/orders/1", { n = 1 }))
    local evt = t.msg("event", pid):payload():data()
    t.eq(evt.system, "orders.eu")
    t.eq(evt.data.n, 1)
    assert(events.send("orders.eu", "stop", "/orders/stop"))
    t.eq(t.msg("event", pid):payload():data().kind, "stop")
    local ev = t.event(pid, "the listener's EXIT")
    t.eq(ev.kind, process.event.EXIT)

    -- A process that subscribed and returned holds no subscription: sends after its exit reach nobody
    -- (and its 64 subscriptions' worth do not accumulate: 100 such processes come and go).
    for _ = 1, 100 do
        local q = process.spawn_monitored("app:quitter", "app:procs", me)
        t.msg("ready", q)
        t.event(q, "the quitter's EXIT")
    end
    t.eq(events.send("orders.eu", "order.created", "/orders/2"), true)
    return true
end

return { main = main }
