-- Subscribe by system, by prefix pattern and by kind; events arrive as {system, kind, path, data}.
local t = require("t")
local events = require("events")

local function main()
    local orders = assert(events.subscribe("orders.*"))
    local users = assert(events.subscribe("users", "user.created"))
    local all_users = assert(events.subscribe("users"))

    local ok, err = events.send("orders.eu", "order.created", "/orders/123", { order_id = "123", total = 99.5 })
    t.eq(ok, true)
    t.eq(err, nil)
    local evt = t.recv(orders:channel(), "the order event")
    t.eq(evt.system, "orders.eu")
    t.eq(evt.kind, "order.created")
    t.eq(evt.path, "/orders/123")
    t.deep(evt.data, { order_id = "123", total = 99.5 }, "the data, copied")

    -- `orders.*` is every system under `orders.`, at any depth, but not `orders` itself.
    assert(events.send("orders.eu.north", "order.shipped", "/orders/124"))
    local deep = t.recv(orders:channel(), "a deeper system")
    t.eq(deep.system, "orders.eu.north")
    t.eq(deep.data, nil, "an event without data")
    assert(events.send("orders", "order.created", "/orders/125"))
    assert(events.send("ordersx.eu", "order.created", "/orders/126"))
    t.empty(orders:channel(), "neither `orders` nor `ordersx.eu` match `orders.*`")

    -- A kind filter: only that kind; without one, every kind of the system.
    assert(events.send("users", "user.deleted", "/users/1"))
    assert(events.send("users", "user.created", "/users/2", { id = 2 }))
    local created = t.recv(users:channel(), "the created user")
    t.eq(created.kind, "user.created")
    t.eq(created.data.id, 2)
    t.empty(users:channel(), "the deleted user is filtered out")
    t.eq(t.recv(all_users:channel()).kind, "user.deleted", "in order")
    t.eq(t.recv(all_users:channel()).kind, "user.created")

    -- Sending to a system nobody listens to is fine: the bus is best-effort.
    t.eq(events.send("nobody", "ping", "/"), true)

    -- close: no more events; what was queued is still read; the channel then reports closed.
    assert(events.send("orders.us", "order.created", "/orders/200"))
    t.eq(orders:close(), true)
    t.eq(orders:close(), false, "a second close")
    assert(events.send("orders.us", "order.created", "/orders/201"))
    local queued = t.recv(orders:channel(), "the event queued before close")
    t.eq(queued.path, "/orders/200")
    local v, more = orders:channel():receive()
    t.eq(v, nil)
    t.eq(more, false, "closed after close()")

    -- The channel works in select with others.
    local r = channel.select({ users:channel():case_receive(), default = true })
    t.eq(r.default, true)
    assert(events.send("users", "user.created", "/users/3"))
    r = channel.select({ all_users:channel():case_receive(), users:channel():case_receive() })
    t.eq(r.ok, true)
    t.eq(r.value.path, "/users/3")
    users:close()
    all_users:close()
    return true
end

return { main = main }
