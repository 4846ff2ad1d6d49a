local time = require("time")

local function main(task: { task_id: number, value: number })
    time.sleep("100ms")
    return task.value * 2
end

return { main = main }
