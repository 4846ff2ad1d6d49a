-- The seeds' monitored worker pool, in the reference system's style.
local time = require("time")
local helpers = require("helpers")

local function main()
    if not rawequal(require("helpers"), helpers) then
        return false, "an import is loaded once per process"
    end
    local events = process.events()
    local workers = {}
    local count = 8
    for i = 1, count do
        local pid, err = process.spawn_monitored("app:worker", "app:processes", { id = i, value = i + 1 })
        if err then
            return false, "spawn worker " .. i .. " failed: " .. err
        end
        workers[pid] = i
    end

    local results = {}
    local completed = 0
    local timeout = time.after("5s")
    while completed < count do
        local r = channel.select({ events:case_receive(), timeout:case_receive() })
        if r.channel == timeout then
            return false, "timeout waiting for workers"
        end
        local event = r.value
        if event.kind == process.event.EXIT and workers[event.from] then
            if event.error then
                return false, "worker failed: " .. event.error
            end
            results[workers[event.from]] = event.result.value
            completed += 1
        end
    end
    for i = 1, count do
        local got = results[i]
        if got.id ~= i or got.result ~= helpers.square(i + 1) or got.label ~= "task-" .. string(i) then
            return false, "worker " .. i .. " returned the wrong result"
        end
    end
    return true
end

return { main = main }
