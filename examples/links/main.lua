-- Links: a parent with trap_links gets LINK_DOWN and reports it; a parent without it dies with the child,
-- and main's monitor sees why.
local time = require("time")

local function main()
    local events = process.events()
    local trapper = process.spawn_monitored("app:trapper", "app:processes")
    local bystander = process.spawn_monitored("app:bystander", "app:processes")
    local exits = {}
    local deadline = time.after("5s")
    while not (exits[trapper] and exits[bystander]) do
        local r = channel.select({ events:case_receive(), deadline:case_receive() })
        if r.channel == deadline then
            return nil, "timed out waiting for both exits"
        end
        if r.value.kind == process.event.EXIT then
            exits[r.value.from] = r.value
        end
    end
    local cascade = exits[bystander].error or ""
    return {
        trapper = exits[trapper].result.value,
        bystander_error = string.find(cascade, "link down", 1, true) ~= nil,
    }
end

return { main = main }
