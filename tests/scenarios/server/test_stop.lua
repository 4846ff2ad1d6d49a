-- server.stop from handle_call: the reply (if any) reaches the caller, terminate runs, and the exit is
-- normal for "normal", abnormal otherwise; without a reply the caller gets UNAVAILABLE.
local t = require("t")
local time = require("time")
local server = require("server")

local function exit_of(events, pid)
    while true do
        local r = channel.select({ events:case_receive(), time.after("2s"):case_receive() })
        t.ok(r.channel == events, "an EXIT came")
        if r.value.kind == process.event.EXIT and r.value.from == pid then
            return r.value
        end
    end
end

local function main()
    local seen = process.listen("seen")
    local events = process.events()
    local kv = t.ok(process.spawn_monitored("app:kv", "app:procs", process.pid()))
    seen:receive() -- init
    t.eq(server.call(kv, { op = "stop" }), "bye", "the stop's reply")
    local term = seen:receive()
    t.eq(term.what, "terminate")
    t.eq(term.value, "normal")
    local ev = exit_of(events, kv)
    t.eq(ev.result.error, nil, "a normal exit")

    local kv2 = t.ok(process.spawn_monitored("app:kv", "app:procs", process.pid()))
    seen:receive()
    local v, err = server.call(kv2, { op = "stop_silently" })
    t.eq(v, nil)
    t.eq(err:kind(), errors.UNAVAILABLE, "no reply: the caller learns the server is gone")
    t.eq(seen:receive().value, "shutting down", "terminate got the reason")
    local ev2 = exit_of(events, kv2)
    t.ok(string.find(tostring(ev2.result.error), "shutting down", 1, true), "abnormal, with the reason")
    return true
end

return { main = main }
