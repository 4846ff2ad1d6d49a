-- A handler that raises: terminate gets the error text and the process exits abnormally with it.
local t = require("t")
local time = require("time")
local server = require("server")

local function main()
    local seen = process.listen("seen")
    local events = process.events()
    local kv = t.ok(process.spawn_monitored("app:kv", "app:procs", process.pid()))
    seen:receive()
    local v, err = server.call(kv, { op = "raise" })
    t.eq(v, nil)
    t.eq(err:kind(), errors.UNAVAILABLE)
    local term = seen:receive()
    t.eq(term.what, "terminate")
    t.ok(string.find(term.value, "handler failed on purpose", 1, true), term.value)
    local r = channel.select({ events:case_receive(), time.after("2s"):case_receive() })
    t.ok(r.channel == events)
    t.ok(string.find(tostring(r.value.result.error), "handler failed on purpose", 1, true), "the EXIT names the error")
    return true
end

return { main = main }
