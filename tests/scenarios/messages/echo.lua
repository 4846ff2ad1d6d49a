-- Answers `ping` with `pong` (the same payload) to the sender; `stop` returns its payload.
local function main()
    local inbox = process.inbox()
    while true do
        local msg, ok = inbox:receive()
        if not ok then
            return nil, "inbox closed"
        end
        if msg:topic() == "ping" then
            process.send(msg:from(), "pong", msg:payload())
        elseif msg:topic() == "stop" then
            return msg:payload()
        end
    end
end

return { main = main }
