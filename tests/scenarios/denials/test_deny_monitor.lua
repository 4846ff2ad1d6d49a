local t = require("t")

local function main()
    local me = process.pid()
    -- the guarded process runs inside an exec of `barrier`: the barrier's EXIT comes only after the
    -- guarded process's exit was handled completely (EXITs to its monitors included)
    local barrier = process.spawn_monitored("app:via_exec", "app:procs", "app:guarded", me)
    local pid = t.msg("ready"):payload()
    local r, err = process.monitor(pid)
    t.denied(r, err, "process.monitor", "monitor a guarded process")
    process.send(pid, "stop", "bye")
    local ev = t.event(nil, "the next event")
    t.eq(ev.from, barrier, "no EXIT of the guarded process reached us: no monitor was set")
    t.eq(ev.result.value, "bye", "the guarded process did exit")
    return true
end

return { main = main }
