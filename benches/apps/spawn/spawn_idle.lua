-- Spawns n processes that wait on their inbox, and returns while they stay alive.
local function main(n: number)
    for i = 1, n do
        local _, err = process.spawn("bench:idle", "bench:processes")
        if err then
            return nil, "spawn " .. i .. ": " .. err
        end
    end
    return n
end

return { main = main }
