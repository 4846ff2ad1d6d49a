local t = require("t")

local function main()
    -- a script's own coroutine is not a process: process calls there are INVALID ("no process context")
    local me = process.pid()
    local co = coroutine.create(function()
        return process.send(me, "x", 1)
    end)
    local ok, r, err = coroutine.resume(co)
    t.eq(ok, true, "the coroutine ran")
    t.err(r, err, errors.INVALID, "send from a plain coroutine")
    t.contains(err:message(), "context", "the message says why")
    t.empty(process.inbox(), "nothing was sent")
    co = coroutine.create(function()
        return process.pid()
    end)
    ok, r, err = coroutine.resume(co)
    t.err(r, err, errors.INVALID, "process.pid() from a plain coroutine")
    -- the process itself still works
    t.eq(process.send(me, "y", 2), true, "send from the process")
    t.eq(t.msg("y"):payload(), 2, "delivered")
    return true
end

return { main = main }
