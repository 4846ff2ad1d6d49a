-- A fork bomb: tells `boss` it runs, spawns two more of itself linked (so stopping the first stops them all),
-- tells `boss` of each refusal, then waits for ever.
local function main(boss: string)
    process.send(boss, "forked")
    for _ = 1, 2 do
        local pid, err = process.spawn_linked("app:forker", "app:h2", boss)
        if not pid then process.send(boss, "refused", err:kind() .. ": " .. err:message()) end
    end
    process.inbox():receive()
end

return { main = main }
