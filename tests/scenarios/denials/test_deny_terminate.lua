local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn("app:guarded", "app:procs", me)
    t.msg("ready", pid)
    local r, err = process.terminate(pid)
    t.denied(r, err, "process.terminate", "terminate a guarded process")
    process.send(pid, "ping")
    local pong = t.msg("pong", pid):payload()
    t.deep(pong.events, {}, "the guarded process is alive and saw nothing")
    process.send(pid, "stop", "done")
    return true
end

return { main = main }
