local t = require("t")

local function exit_of(...)
    local pid = process.spawn_monitored("app:ender", "app:procs", ...)
    local ev = t.event(pid, "EXIT")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(ev.from, pid, "from is the exited process")
    t.eq(type(ev.at), "number", "at")
    t.eq(type(ev.result), "table", "result is a table")
    t.eq(ev.error, nil, "no error on a normal exit")
    t.eq(ev.result.error, nil, "no result.error on a normal exit")
    return ev
end

local function main()
    t.eq(exit_of("value", 42).result.value, 42, "a number")
    t.eq(exit_of("value", "text").result.value, "text", "a string")
    t.eq(exit_of("value", false).result.value, false, "false is a value, not a failure")
    t.deep(exit_of("value", { a = { 1, 2 }, b = "c" }).result.value, { a = { 1, 2 }, b = "c" }, "a table")
    t.eq(exit_of("nothing").result.value, nil, "returning nothing is a normal exit with nil")
    -- `v, nil` is a normal exit too
    t.eq(exit_of("pair", "v", nil).result.value, "v", "a nil second value")
    return true
end

return { main = main }
