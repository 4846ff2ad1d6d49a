-- Waits until the node stops it (CANCEL), then returns its version.
local function main(version: string)
    local events = process.events()
    while true do
        local event = events:receive()
        if event.kind == process.event.CANCEL then
            return version
        end
    end
end

return { main = main }
