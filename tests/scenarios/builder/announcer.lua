-- Tells `parent` it runs, then waits for `stop`.
local function main(parent: string)
    process.send(parent, "started", process.pid())
    local inbox = process.inbox()
    while true do
        local m = inbox:receive()
        if m:topic() == "stop" then
            return m:payload()
        end
    end
end

return { main = main }
