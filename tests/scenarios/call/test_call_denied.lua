local t = require("t")

local function main()
    local server = process.spawn_monitored("app:server", "app:procs")
    local v, err = process.call(server, "no_call", 1)
    t.denied(v, err, "process.call", "a call where only sends are allowed")
    t.contains(err:message(), server, "the denial names the target")
    t.eq(process.send(server, "no_call", 1), true, "the send on that topic is allowed")
    t.eq(process.call(server, "add", { 1, 1 }), 2, "a call on another topic is allowed")
    process.send(server, "stop")
    t.event(server, "EXIT")
    return true
end

return { main = main }
