-- Uses the counter service that the runtime started before this root process: waits for its name, adds to
-- it, and reads the total back.
local time = require("time")

local function main()
    local counter = nil
    for _ = 1, 200 do
        counter = process.registry.lookup("counter")
        if counter then
            break
        end
        time.sleep("5ms")
    end
    if not counter then
        return nil, "the counter service did not register"
    end
    local values = process.listen("value", { message = true })
    for i = 1, 3 do
        process.send("counter", "incr", i)
    end
    process.send("counter", "get")
    local r = channel.select({ values:case_receive(), time.after("5s"):case_receive() })
    if r.channel ~= values then
        return nil, "no value within 5s"
    end
    return { total = r.value:payload(), from_service = r.value:from() == counter }
end

return { main = main }
