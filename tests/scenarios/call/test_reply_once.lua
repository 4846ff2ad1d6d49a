local t = require("t")

local function main()
    local server = process.spawn_monitored("app:server", "app:procs")
    t.eq(process.call(server, "twice"), "first", "the first reply is the answer")
    t.deep(t.msg("replies", server):payload(), { true, false, false }, "true the first time, false afterwards")
    -- the next call gets its own answer, not the second reply
    t.eq(process.call(server, "add", { 4, 5 }), 9, "a later call is answered by its own reply")
    process.send(server, "stop")
    t.event(server, "EXIT")
    return true
end

return { main = main }
