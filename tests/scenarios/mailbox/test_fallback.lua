local t = require("t")

local function main()
    local me = process.pid()
    local target = process.spawn_monitored("app:hoarder", "app:spill")
    t.eq(process.send(target, "work", 1), true, "first fits")
    t.eq(process.send(target, "work", 2), true, "second fits")

    -- the host names a fallback, but nobody holds that name yet: the send fails, nothing is dropped silently
    local r, err = process.send(target, "work", 3)
    t.err(r, err, errors.LIMIT_EXCEEDED, "full, and no fallback process")

    local sink = process.spawn_monitored("app:sink", "app:procs", me)
    t.msg("ready", sink)
    t.eq(process.registry.lookup("overflow_sink"), sink, "the sink holds the fallback name")

    t.eq(process.send(target, "work", 3), true, "a full mailbox hands the message to the fallback")
    local fwd = t.msg("forwarded", sink):payload()
    t.eq(fwd.topic, "@fallback", "the fallback gets it on the runtime's topic")
    t.eq(fwd.from, me, "from the original sender")
    t.eq(fwd.payload.target, target, "wrapped with the original target")
    t.eq(fwd.payload.topic, "work", "and the original topic")
    t.deep(fwd.payload.payload, { 3 }, "and the original payload")

    t.eq(process.send(target, "more", "a", "b"), true, "several values")
    fwd = t.msg("forwarded", sink):payload()
    t.eq(fwd.payload.topic, "more", "topic")
    t.deep(fwd.payload.payload, { "a", "b" }, "every value")

    process.cancel(target, "3s")
    local ev = t.event(target, "EXIT of the target")
    t.deep(ev.result.value, { 1, 2 }, "the target held only what fit")

    process.send(sink, "stop")
    t.eq(t.event(sink, "EXIT of the sink").result.value, true, "sink stopped")
    return true
end

return { main = main }
