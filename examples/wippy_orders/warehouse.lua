-- Ships orders: each message on "ship" is an order as JSON text; shipping it is announced on the event bus
-- as `order.shipped`. A message on "stop" ends the warehouse.
local json = require("json")
local events = require("events")

local function main()
    local ship = process.listen("ship")
    local stop = process.listen("stop")
    while true do
        local r = channel.select({ ship:case_receive(), stop:case_receive() })
        if r.channel == stop then
            return true
        end
        local order = assert(json.decode(r.value))
        assert(events.send("orders." .. order.region, "order.shipped", "/orders/" .. order.id, { total = order.total }))
    end
end

return { main = main }
