-- The seeds' monitored worker pool (seed 001, "完整示例：受监控的 Worker 池"):
-- spawn 5 monitored workers, collect their EXIT events, return the results by task id.
local time = require("time")

local function main()
    local events = process.events()
    local workers = {}
    local count = 5

    for i = 1, count do
        local pid, err = process.spawn_monitored("app:task_worker", "app:processes", { task_id = i, value = i * 10 })
        if err then
            return nil, "spawn worker " .. i .. " failed: " .. err
        end
        workers[pid] = { task_id = i }
    end

    local results = {}
    local completed = 0
    local timeout = time.after("10s")
    while completed < count do
        local r = channel.select({ events:case_receive(), timeout:case_receive() })
        if r.channel == timeout then
            return nil, "timeout waiting for workers"
        end
        local event = r.value
        if event.kind == process.event.EXIT and workers[event.from] then
            local worker = workers[event.from]
            if event.error then
                return nil, "worker " .. worker.task_id .. " failed: " .. event.error
            end
            results[worker.task_id] = event.result.value
            completed += 1
        end
    end
    return results
end

return { main = main }
