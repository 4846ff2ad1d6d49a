-- A tenant's service: counts what it receives until it is told to stop.
local function main()
    local inbox = process.inbox()
    local received = 0
    while true do
        local msg = inbox:receive()
        if not msg or msg:topic() == "stop" then
            return received
        end
        received += 1
    end
end

return { main = main }
