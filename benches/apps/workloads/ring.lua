-- A ring of `n` processes (this one and n - 1 nodes) passes a token `laps` times round; returns the setup time
-- and each lap's time in nanoseconds: { setup, lap1, lap2, ... }.
local time = require("time")

local function main(n: number, laps: number)
    local tokens = process.listen("t")
    local started = time.now()
    local nodes = table.create(n - 1)
    for i = 1, n - 1 do nodes[i] = process.spawn("bench:ring_node", "bench:processes") end
    for i = 1, n - 1 do process.send(nodes[i], "next", nodes[i + 1] or process.pid()) end
    local out = { time.now():sub(started):nanoseconds() }
    for lap = 1, laps do
        local at = time.now()
        process.send(nodes[1], "t", lap)
        tokens:receive()
        out[lap + 1] = time.now():sub(at):nanoseconds()
    end
    process.send(nodes[1], "t", -1)
    tokens:receive()
    return out
end

return { main = main }
