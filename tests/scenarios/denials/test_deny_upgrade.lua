local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:upgrader", "app:procs", me)
    t.msg("ready", pid)
    process.send(pid, "upgrade", "app:v2_forbidden")
    local failed = t.msg("upgrade_failed", pid):payload()
    t.eq(failed.ok, nil, "upgrade returned nil")
    t.eq(failed.kind, errors.PERMISSION_DENIED, "kind")
    t.contains(failed.message, "process.upgrade", "names the action")
    t.contains(failed.message, "app:v2_forbidden", "names the entry")
    process.send(pid, "ping")
    t.deep(t.msg("pong", pid):payload(), { version = 1, id = "app:upgrader" }, "still the old code")
    process.send(pid, "stop")
    t.eq(t.event(pid, "EXIT").result.value, "v1", "exited as v1")
    t.empty(process.inbox(), "v2 never started")
    return true
end

return { main = main }
