-- Lives as long as its spawner: monitors it, reads nothing else (its mailbox fills), returns on its EXIT.
local function main(parent: string)
    process.monitor(parent)
    local events = process.events()
    while true do
        local ev = events:receive()
        if ev.kind == process.event.EXIT and ev.from == parent then return true end
    end
end

return { main = main }
