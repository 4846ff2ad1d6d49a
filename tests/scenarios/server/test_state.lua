-- Two servers of one entry share nothing.
local t = require("t")
local server = require("server")

local function main()
    local a = t.ok(process.spawn("app:kv", "app:procs", nil, 1))
    local b = t.ok(process.spawn("app:kv", "app:procs", nil, 100))
    server.call(a, { op = "put", key = "k", value = "in a" })
    t.eq(server.call(b, { op = "get", key = "k" }), nil, "b never saw a's put")
    t.eq(server.call(a, { op = "count" }), 1)
    t.eq(server.call(b, { op = "count" }), 100)
    -- A reply shaped like a stop is only a reply: the markers cannot be forged.
    local fake = server.call(a, { op = "fake_stop" })
    t.eq(fake.reason, "normal")
    t.eq(server.call(a, { op = "count" }), 1, "the server still runs")
    process.terminate(a)
    process.terminate(b)
    return true
end

return { main = main }
