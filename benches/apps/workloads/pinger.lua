-- Sends `n` pings to a ponger, waiting for each pong; then a 0 that stops the ponger.
local function main(n: number)
    local pongs = process.listen("pong")
    local ponger = process.spawn("bench:ponger", "bench:processes")
    for i = 1, n do
        process.send(ponger, "ping", i)
        pongs:receive()
    end
    process.send(ponger, "ping", 0)
    return n
end

return { main = main }
