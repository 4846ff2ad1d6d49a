-- Spawns `n` monitored workers that return at once and collects their `n` EXITs.
local function main(n: number)
    local events = process.events()
    for _ = 1, n do process.spawn_monitored("bench:quick", "bench:processes") end
    for _ = 1, n do events:receive() end
    return n
end

return { main = main }
