local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn("app:guarded", "app:procs", me)
    t.msg("ready", pid)
    local r, err = process.cancel(pid, "10ms")
    t.denied(r, err, "process.cancel", "cancel a guarded process")
    -- no CANCEL was delivered (it would be on events() before our ping is answered) and no deadline runs
    process.send(pid, "ping")
    t.deep(t.msg("pong", pid):payload().events, {}, "no CANCEL delivered")
    process.send(pid, "stop")
    return true
end

return { main = main }
