local t = require("t")

local function main()
    local me = process.pid()
    -- while we wait in exec, the child runs and its message to us is delivered
    local r = process.exec("app:chatty", "app:procs", me)
    t.eq(r.id, "app:chatty", "value")
    local m = t.msg("during_exec", r.pid)
    t.eq(m:payload(), r.pid, "the child ran under its own pid")
    t.ok(r.pid ~= me, "exec starts a new process")

    -- many execs in a row: each waits for its child (no leak of processes or events)
    local total = 0
    for i = 1, 50 do
        total += process.exec("app:ender", "app:procs", "value", i)
    end
    t.eq(total, 1275, "sum of 50 execs")
    t.empty(process.events(), "events")
    return true
end

return { main = main }
