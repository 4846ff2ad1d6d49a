local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:v1", "app:procs", me)
    t.msg("v1_started", pid)

    -- a failed upgrade returns nil, err and the old code keeps running
    process.send(pid, "upgrade", "app:nope")
    local failed = t.msg("upgrade_failed", pid):payload()
    t.eq(failed.kind, errors.NOT_FOUND, "unknown entry")
    t.contains(failed.message, "app:nope", "names the entry")
    t.eq(failed.ok, nil, "returns nil")

    process.send(pid, "upgrade", "app:helper")
    failed = t.msg("upgrade_failed", pid):payload()
    t.eq(failed.kind, errors.INVALID, "a library entry is no process")

    process.send(pid, "upgrade", 42)
    failed = t.msg("upgrade_failed", pid):payload()
    t.eq(failed.kind, errors.INVALID, "an entry id that is not a string")

    -- still v1: it counts work and can still upgrade
    process.send(pid, "work")
    process.send(pid, "upgrade", "app:v2")
    local started = t.msg("v2_started", pid):payload()
    t.eq(started.state.count, 1, "v1 kept running after the failed upgrades")
    process.send(pid, "stop")
    t.event(pid, "EXIT")

    -- state that cannot be copied is INVALID, and the caller goes on
    local r, err = process.upgrade(nil, function() end)
    t.err(r, err, errors.INVALID, "state with a function")
    return true
end

return { main = main }
