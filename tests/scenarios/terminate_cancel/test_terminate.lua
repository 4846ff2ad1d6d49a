local t = require("t")

local function main()
    local pid = process.spawn_monitored("app:waiter", "app:procs")
    t.eq(process.terminate(pid), true, "terminate returns true")
    local ev = t.event(pid, "EXIT")
    t.eq(ev.kind, process.event.EXIT, "kind")
    t.eq(ev.error, "terminated", "error")
    local r, err = process.terminate(pid)
    t.err(r, err, errors.NOT_FOUND, "terminate of an exited process")

    -- a process that handles CANCEL does not get a say in terminate: it stops at once
    local c = process.spawn_monitored("app:cancellable", "app:procs", process.pid(), "slow", "5s")
    t.msg("ready", c)
    process.terminate(c)
    t.eq(t.event(c, "EXIT").error, "terminated", "no clean up")

    r, err = process.terminate("no_such_process_name")
    t.err(r, err, errors.NOT_FOUND, "unknown name")
    r, err = process.terminate(nil)
    t.err(r, err, errors.INVALID, "nil destination")
    return true
end

return { main = main }
