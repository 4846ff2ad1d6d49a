-- Answers every ping with a pong carrying the same number; returns on 0.
local function main()
    local pings = process.listen("ping", { message = true })
    while true do
        local msg = pings:receive()
        local i = msg:payload()
        if i == 0 then
            return true
        end
        process.send(msg:from(), "pong", i)
    end
end

return { main = main }
