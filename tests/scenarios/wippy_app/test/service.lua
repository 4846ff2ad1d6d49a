-- A named service: requests by name, replies on a topic the request names.
local time = require("time")

local function main()
    local pid, err = process.spawn_monitored("app:counter", "app:processes", "counter_svc", process.pid())
    if err then
        return false, "spawn: " .. err
    end
    -- wait until the service holds its name
    local inbox = process.inbox()
    local ready = channel.select({ inbox:case_receive(), time.after("3s"):case_receive() })
    if ready.channel ~= inbox or ready.value:topic() ~= "ready" then
        return false, "the service never said it was ready"
    end
    if ready.value:payload():data() ~= "counter_svc" or process.registry.lookup("counter_svc") ~= pid then
        return false, "the service should hold its name"
    end
    for i = 1, 4 do
        process.send("counter_svc", "inc", { by = i })
    end
    local replies = process.listen("counter_reply", { message = true })
    process.send("counter_svc", "get", { reply_to = "counter_reply" })
    local r = channel.select({ replies:case_receive(), time.after("3s"):case_receive() })
    if r.channel ~= replies then
        return false, "no reply"
    end
    local reply = r.value:payload():data()
    if reply.count ~= 10 or reply.squared ~= 100 then
        return false, "count " .. string(reply.count)
    end
    if r.value:from() ~= pid then
        return false, "the reply comes from the service"
    end
    process.send("counter_svc", "stop")
    local ev = process.events():receive()
    if ev.kind ~= process.event.EXIT or ev.result.value ~= 10 then
        return false, "the service should return its count"
    end
    return true
end

return { main = main }
