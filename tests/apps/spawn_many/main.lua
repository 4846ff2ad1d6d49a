-- Spawns 50 children, each told its number; counts the spawns allowed and denied and the reports received
-- (within a second of the last spawn), and returns the counts.
local time = require("time")

local function main()
    local spawned, denied = 0, 0
    for i = 1, 50 do
        local _, err = process.spawn("app:child", "app:processes", process.pid(), i)
        if err then
            denied += 1
        else
            spawned += 1
        end
    end
    local inbox = process.inbox()
    local reports = 0
    local timeout = time.after("1s")
    while reports < spawned do
        local r = channel.select({ inbox:case_receive(), timeout:case_receive() })
        if r.channel == timeout then
            break
        end
        reports += 1
    end
    return { spawned = spawned, denied = denied, reports = reports }
end

return { main = main }
