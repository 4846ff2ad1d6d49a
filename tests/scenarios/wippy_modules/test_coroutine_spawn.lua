-- The reference dialect's coroutine.spawn, and process calls inside coroutines (compat mode).
local t = require("t")

local function main()
    -- the reference's ping-pong over unbuffered channels
    local ping, pong, done = channel.new(0), channel.new(0), channel.new(1)
    coroutine.spawn(function()
        for i = 1, 3 do
            ping:receive()
            pong:send("pong" .. i)
        end
        done:send(true)
    end)
    for i = 1, 3 do
        ping:send("ping")
        t.eq(pong:receive(), "pong" .. i, "round " .. i)
    end
    t.eq(done:receive(), true, "the spawned coroutine finished")

    -- spawn returns at once and nothing; main runs on until it waits
    local order = {}
    local finished = channel.new(1)
    t.eq(select("#", coroutine.spawn(function()
        table.insert(order, "spawned")
        finished:send(true)
    end)), 0, "coroutine.spawn returns nothing")
    table.insert(order, "main")
    t.eq(finished:receive(), true)
    t.eq(table.concat(order, ","), "main,spawned", "main first, then the spawned coroutine")

    -- process calls inside a spawned coroutine and inside a plain one
    local me = process.pid()
    local inbox = process.listen("from_spawn")
    coroutine.spawn(function()
        t.eq(process.pid(), me, "process.pid() in a spawned coroutine")
        process.send(me, "from_spawn", 42)
    end)
    t.eq(inbox:receive(), 42, "the message a spawned coroutine sent")
    t.eq(coroutine.wrap(function() return process.pid() end)(), me, "process.pid() in a plain coroutine")

    -- a bad argument is a clear error
    local ok, err = pcall(coroutine.spawn, 42)
    t.eq(ok, false)
    t.contains(tostring(err), "takes a function", "the error names the argument")
    return true
end

return { main = main }
