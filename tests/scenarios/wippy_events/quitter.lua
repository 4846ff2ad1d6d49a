local events = require("events")

local function main(parent)
    local sub = assert(events.subscribe("orders.*"))
    process.send(parent, "ready", sub ~= nil)
    return true
end

return { main = main }
