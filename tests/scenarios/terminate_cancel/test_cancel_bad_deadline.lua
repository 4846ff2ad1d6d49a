local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:cancellable", "app:procs", me, "ignore")
    t.msg("ready", pid)
    local r, err = process.cancel(pid, "soon")
    t.err(r, err, errors.INVALID, "a duration that does not parse")
    r, err = process.cancel(pid, {})
    t.err(r, err, errors.INVALID, "a table is no duration")
    r, err = process.cancel(pid, -5)
    t.err(r, err, errors.INVALID, "a negative duration")
    -- nothing was delivered
    process.send(pid, "ping")
    t.eq(t.msg("pong", pid):payload(), 0, "no CANCEL reached the process")
    process.send(pid, "stop")
    t.eq(t.event(pid, "EXIT").result.value, "stopped", "it was never cancelled")
    return true
end

return { main = main }
