local t = require("t")
local time = require("time")

local function main()
    local holder = process.spawn_monitored("app:holder", "app:procs")
    local started = time.now()
    local v, err = process.call(holder, "first", nil, "50ms")
    t.err(v, err, errors.TIMEOUT, "a call nobody answers in time")
    t.contains(err:message(), holder, "the timeout names the target")
    t.ok(time.now():sub(started):milliseconds() >= 50, "it waited the timeout")
    process.send(holder, "go")
    t.eq(t.msg("late", holder):payload(), true, "the late reply returns true to the replier")
    t.eq(process.call(holder, "second"), "second", "the next call gets its own answer, not the late one")
    t.empty(process.inbox(), "the late reply never reached the caller's mailbox")
    process.send(holder, "stop")
    t.event(holder, "EXIT")
    return true
end

return { main = main }
