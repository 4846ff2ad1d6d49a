-- Tries to make the audit log big: 10 000 monitors of one dead PID, 100 registrations and 100 `can`s of a
-- 4 MiB string, 100 sends on a 4 MiB topic. Returns how many EXITs it got and the kinds of the refusals.
local security = require("security")

local function main()
    local me = process.pid()
    local dead = string.sub(me, 1, (string.find(me, "|[^|]*$"))) .. "999999999}"
    for _ = 1, 10000 do process.monitor(dead) end
    local long = string.rep("a", 4 * 1024 * 1024)
    local kinds = {}
    for _ = 1, 100 do
        local _, a = process.registry.register(long)
        local _, b = security.can(long, "x")
        local _, c = process.send(me, long, 1)
        kinds[a:kind() .. "/" .. b:kind() .. "/" .. c:kind()] = true
    end
    local exits = 0
    local events = process.events()
    while not channel.select({ events:case_receive(), default = true }).default do exits += 1 end
    local seen = {}
    for k in kinds do table.insert(seen, k) end
    return { exits = exits, refusals = seen }
end

return { main = main }
