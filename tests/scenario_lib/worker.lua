-- `stop` returns its payload, `fail` raises it; `ping` answers `pong`.
local function main()
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        local topic = msg:topic()
        if topic == "stop" then
            return msg:payload()
        elseif topic == "fail" then
            error(msg:payload(), 0)
        elseif topic == "ping" then
            process.send(msg:from(), "pong", msg:payload())
        end
    end
end

return { main = main }
