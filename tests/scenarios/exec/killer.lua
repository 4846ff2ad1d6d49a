-- Terminates the sender of every `kill_me`; returns on `stop`.
local function main()
    local inbox = process.inbox()
    while true do
        local m = inbox:receive()
        if m:topic() == "kill_me" then
            process.terminate(m:from())
        elseif m:topic() == "stop" then
            return true
        end
    end
end

return { main = main }
