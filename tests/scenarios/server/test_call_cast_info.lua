-- call reaches handle_call, cast handle_cast, anything else handle_info, in the order sent.
local t = require("t")
local time = require("time")
local server = require("server")

local function seen(inbox)
    local r = channel.select({ inbox:case_receive(), time.after("2s"):case_receive() })
    t.ok(r.channel == inbox, "the server reported")
    return r.value
end

local function main()
    local seen_ch = process.listen("seen")
    local kv = t.ok(process.spawn("app:kv", "app:procs", process.pid(), 10))
    t.eq(seen(seen_ch).what, "init")
    t.eq(server.call(kv, { op = "put", key = "a", value = 1 }), true)
    t.eq(server.call(kv, { op = "get", key = "a" }), 1)
    t.eq(server.call(kv, { op = "get", key = "missing" }), nil, "a nil reply")
    t.ok(server.cast(kv, 5))
    local cast = seen(seen_ch)
    t.eq(cast.what, "cast")
    t.eq(cast.value, 15)
    t.ok(process.send(kv, "ping", 1))
    local info = seen(seen_ch)
    t.eq(info.what, "info")
    t.eq(info.value, "ping")
    t.eq(server.call(kv, { op = "count" }), 15, "the cast changed the state before the call")
    process.terminate(kv)
    return true
end

return { main = main }
