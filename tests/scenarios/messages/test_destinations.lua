local t = require("t")

local function main()
    local me = process.pid()
    -- an unknown name
    local r, err = process.send("nobody_by_that_name", "x", 1)
    t.err(r, err, errors.NOT_FOUND, "unknown name")

    -- a pid that is no longer alive
    local dead = process.spawn_monitored("app:sender", "app:procs", me, 0, { "x" })
    t.event(dead, "EXIT of a short child")
    r, err = process.send(dead, "x", 1)
    t.err(r, err, errors.NOT_FOUND, "dead pid")
    r, err = process.terminate(dead)
    t.err(r, err, errors.NOT_FOUND, "terminate a dead pid")
    r, err = process.cancel(dead)
    t.err(r, err, errors.NOT_FOUND, "cancel a dead pid")
    r, err = process.link(dead)
    t.err(r, err, errors.NOT_FOUND, "link a dead pid")

    -- a pid of an earlier incarnation of this node: NOT_FOUND, and the message says it is stale
    local stale = string.gsub(me, "@%x+|", "@1|")
    t.ok(stale ~= me, "made a stale pid from " .. me)
    r, err = process.send(stale, "x", 1)
    t.err(r, err, errors.NOT_FOUND, "stale pid")
    t.contains(err:message(), "stale", "the message says the pid is stale")

    -- garbage
    r, err = process.send("{not a pid", "x", 1)
    t.err(r, err, errors.INVALID, "garbage pid")
    r, err = process.send("", "x", 1)
    t.err(r, err, errors.INVALID, "empty destination")
    r, err = process.send(nil, "x", 1)
    t.err(r, err, errors.INVALID, "nil destination")
    r, err = process.send({}, "x", 1)
    t.err(r, err, errors.INVALID, "table destination")
    r, err = process.monitor("{x@zz|h|1}")
    t.err(r, err, errors.INVALID, "monitor of a garbage pid")
    t.empty(process.inbox(), "inbox")
    t.empty(process.events(), "events")
    return true
end

return { main = main }
