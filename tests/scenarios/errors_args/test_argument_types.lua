local t = require("t")

local function main()
    local calls = {
        { "send nil", function() return process.send(nil, "x") end },
        { "send number", function() return process.send(5, "x") end },
        { "terminate number", function() return process.terminate(123) end },
        { "cancel table", function() return process.cancel({}) end },
        { "monitor boolean", function() return process.monitor(true) end },
        { "unmonitor nil", function() return process.unmonitor(nil) end },
        { "link table", function() return process.link({}) end },
        { "unlink number", function() return process.unlink(1) end },
        { "spawn without args", function() return process.spawn() end },
        { "spawn_monitored number id", function() return process.spawn_monitored(1, "app:procs") end },
        { "spawn_linked table host", function() return process.spawn_linked("app:waiter", {}) end },
        { "exec nil", function() return process.exec(nil, "app:procs") end },
        { "register nil", function() return process.registry.register(nil) end },
        { "register pid table", function() return process.registry.register("n", {}) end },
        { "lookup number", function() return process.registry.lookup(5) end },
        { "listen number", function() return process.listen(5) end },
    }
    for _, call in ipairs(calls) do
        local r, err = call[2]()
        t.err(r, err, errors.INVALID, call[1])
    end
    t.empty(process.inbox(), "nothing was sent")
    t.empty(process.events(), "nothing was started")
    return true
end

return { main = main }
