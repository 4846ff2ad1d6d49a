local t = require("t")

local function main()
    local me = process.pid()
    local b = process.with_context({}):with_name("early_bird")
    local pid = b:spawn("app:reporter", "app:procs", me, "early_bird")
    -- registered before the child runs: usable at once by the parent
    t.eq(process.registry.lookup("early_bird"), pid, "lookup right after spawn")
    t.eq(process.send("early_bird", "ping", "hi"), true, "send to the name right after spawn")
    local r = t.msg("report", pid):payload()
    t.eq(r.named, pid, "the child sees its name from its first line")
    if #r.queued > 0 then
        t.deep(r.queued, { { topic = "ping", from = me, payload = "hi" } }, "the early message was waiting")
    else
        t.eq(t.msg("pong", pid):payload(), "hi", "the early message arrived")
    end

    -- the name is taken now: a second spawn with it raises and starts nothing
    local ok, err = pcall(function()
        return b:spawn("app:announcer", "app:solo", me)
    end)
    t.raised(ok, err, errors.ALREADY_EXISTS, "early_bird", "a taken name")
    local probe = process.spawn_monitored("app:announcer", "app:solo", me)
    t.msg("started", probe)
    process.send(probe, "stop")
    t.event(probe, "EXIT of the probe")

    process.monitor(pid)
    process.send("early_bird", "stop")
    t.event(pid, "EXIT")
    local r2, err2 = process.registry.lookup("early_bird")
    t.err(r2, err2, errors.NOT_FOUND, "released at exit")

    ok, err = pcall(function()
        return process.with_context({}):with_name("")
    end)
    t.raised(ok, err, errors.INVALID, nil, "an empty name")
    ok, err = pcall(function()
        return process.with_context({}):with_name(5)
    end)
    t.raised(ok, err, errors.INVALID, nil, "a name that is not a string")
    return true
end

return { main = main }
