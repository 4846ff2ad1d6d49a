local t = require("t")

local function main()
    local me = process.pid()
    local pid, err = process.spawn("app:runner", "app:closed", me)
    t.denied(pid, err, "process.host", "spawn on a closed host")
    t.contains(err:message(), "app:closed", "the message names the host")
    pid, err = process.spawn_linked_monitored("app:runner", "app:closed", me)
    t.denied(pid, err, "process.host", "every variant needs the host")
    local v
    v, err = process.exec("app:runner", "app:closed", me)
    t.denied(v, err, "process.host", "exec needs the host too")

    -- nothing started: `closed` holds one process, and a probe on another host (which the policy lets
    -- start things there) still finds room
    local probe = process.spawn_monitored("app:closed_probe", "app:nosec", me)
    local got = t.event(probe, "EXIT of the probe").result.value
    t.ok(got.pid, "the closed host was empty: " .. tostring(got.error))
    t.eq(t.msg("started"):payload(), got.pid, "only the probe's runner started")
    t.stop(got.pid)
    t.empty(process.inbox(), "no `started` from a denied child")
    return true
end

return { main = main }
