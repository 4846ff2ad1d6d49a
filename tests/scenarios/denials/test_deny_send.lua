local t = require("t")

local function main()
    local me = process.pid()
    local pid = process.spawn_monitored("app:target", "app:procs", me)
    t.msg("ready", pid)
    local r, err = process.send(pid, "forbidden", "secret")
    t.denied(r, err, "process.send", "send on a forbidden topic")
    t.contains(err:message(), pid, "the message names the target process")
    t.eq(process.send(pid, "allowed", 1), true, "another topic is fine")
    process.send(pid, "ping")
    -- messages from one sender arrive in order: had the denied one been delivered it would be listed
    t.deep(t.msg("pong", pid):payload().messages, { "allowed" }, "only the allowed message arrived")
    -- the denied send did not reach anyone else either (a send to ourselves is checked the same way)
    r, err = process.send(me, "forbidden", 1)
    t.denied(r, err, "process.send", "send to self on a forbidden topic")
    t.empty(process.inbox(), "nothing delivered to us")
    process.send(pid, "stop")
    t.event(pid, "EXIT")
    return true
end

return { main = main }
