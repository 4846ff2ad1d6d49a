local t = require("t")

local function exit_of(...)
    local pid = process.spawn_monitored("app:ender", "app:procs", ...)
    local ev = t.event(pid, "EXIT")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(type(ev.error), "string", "event.error is a string on an abnormal exit")
    t.eq(ev.result.error, ev.error, "result.error is the same string")
    t.eq(ev.result.value, nil, "no value on an abnormal exit")
    return ev.error
end

local function main()
    t.contains(exit_of("raise", "kaboom"), "kaboom", "a raised string")
    t.eq(exit_of("raise_plain", "exact text"), "exact text", "a raised string without position")
    t.contains(exit_of("raise_object", "gone away"), "gone away", "a raised error object")
    t.eq(exit_of("pair", 1, "second value"), "second value", "v, err with err not nil")
    t.eq(exit_of("pair", nil, "only err"), "only err", "nil, err")
    t.eq(exit_of("return_object", "bad input"), "bad input", "nil, error object: its message")

    local pid = process.spawn_monitored("app:waiter", "app:procs")
    t.eq(process.terminate(pid), true, "terminate")
    local ev = t.event(pid, "EXIT of a terminated process")
    t.eq(ev.error, "terminated", "terminated is abnormal with error \"terminated\"")
    t.eq(ev.result.error, "terminated", "result.error")
    return true
end

return { main = main }
