-- A pool worker: squares its task's value after a short pause.
local time = require("time")
local helpers = require("helpers")

local function main(task: { id: number, value: number })
    time.sleep("5ms")
    return { id = task.id, label = helpers.label("task", task.id), result = helpers.square(task.value) }
end

return { main = main }
