local t = require("t")

local function main()
    local server = process.spawn_monitored("app:server", "app:procs")
    t.eq(process.call(server, "add", { 1, 2 }), 3, "the reply is the value")
    t.deep(process.call(server, "echo", { a = { 1, 2 }, b = "x" }), { a = { 1, 2 }, b = "x" }, "a table comes back whole")
    t.eq(process.call(server, "echo"), nil, "no payload: a reply of nil")
    -- the name works as a destination too
    process.registry.register("calc", server)
    t.eq(process.call("calc", "add", { 2, 3 }, "1s"), 5, "a call by name, with a timeout")
    -- process.reply answers, and a plain message has no reply reference
    t.eq(process.call(server, "later"), "later", "answered with process.reply")
    t.deep(t.msg("plain", server):payload(), { reply_to = true, kind = "INVALID" },
        "a plain send has no reply_to, and msg:reply on it is INVALID")
    -- the caller's mailbox holds nothing from the calls
    t.empty(process.inbox(), "no reply reached the caller's mailbox")
    process.send(server, "stop")
    t.event(server, "EXIT")
    return true
end

return { main = main }
