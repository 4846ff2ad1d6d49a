local function main()
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return true
        end
        if msg:reply_to() then
            msg:reply({ echo = msg:payload(), actor = msg:from_actor() })
        end
    end
end

return { main = main }
