-- Sends to itself and receives, forever: a steady stream of audited decisions until the runtime is killed.
local function main()
    local inbox = process.inbox()
    local i = 0
    while true do
        i = i + 1
        process.send(process.pid(), "tick", i)
        inbox:receive()
    end
end

return { main = main }
