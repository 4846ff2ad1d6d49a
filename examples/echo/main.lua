-- Round trip: send "ping" to an echo worker, wait for its reply on "reply".
local time = require("time")

local function main(text: string?)
    local replies = process.listen("reply", { message = true })
    local worker, err = process.spawn("app:echo_worker", "app:processes")
    if err then
        return nil, "spawn failed: " .. err
    end
    local ok, send_err = process.send(worker, "echo", text or "ping")
    if not ok then
        return nil, "send failed: " .. send_err
    end
    local r = channel.select({ replies:case_receive(), time.after("5s"):case_receive() })
    if r.channel ~= replies then
        return nil, "no reply within 5s"
    end
    local msg = r.value
    return { reply = msg:payload(), from_worker = msg:from() == worker, topic = msg:topic() }
end

return { main = main }
