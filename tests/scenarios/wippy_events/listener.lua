local events = require("events")

local function main(parent)
    local sub = assert(events.subscribe("orders.*"))
    process.send(parent, "ready", true)
    local ch = sub:channel()
    while true do
        local evt, ok = ch:receive()
        if not ok then return true end
        process.send(parent, "event", evt)
        if evt.kind == "stop" then return true end
    end
end

return { main = main }
