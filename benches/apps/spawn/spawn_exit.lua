-- Spawns n monitored processes that return at once, and waits for every EXIT.
local function main(n: number)
    local events = process.events()
    for i = 1, n do
        local _, err = process.spawn_monitored("bench:quick", "bench:processes", i)
        if err then
            return nil, "spawn " .. i .. ": " .. err
        end
    end
    for _ = 1, n do
        events:receive()
    end
    return n
end

return { main = main }
