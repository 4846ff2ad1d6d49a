-- Takes its time: tells `notify` (when given) its PID, then sleeps 30 s.
local time = require("time")

local function main(notify)
    if notify then
        process.send(notify, "slow_started", process.pid())
    end
    time.sleep("30s")
    return "woke"
end

return { main = main }
