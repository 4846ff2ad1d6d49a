-- Answers every call with its payload; returns on "stop".
local function main()
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return true
        end
        msg:reply(msg:payload())
    end
end

return { main = main }
