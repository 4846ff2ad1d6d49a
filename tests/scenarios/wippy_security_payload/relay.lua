-- Forwards each message's payload object (not its data) to the sender, on topic `back`; `stop` ends it.
local function main()
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return true
        end
        local ok, err = process.send(msg:from(), "back", msg:payload())
        if not ok then
            process.send(msg:from(), "refused", tostring(err))
        end
    end
end

return { main = main }
