-- Tells the parent (its first argument) who it is and what it got, then waits for `stop`.
local function main(parent: string, ...)
    local args = { ... }
    process.send(parent, "hello", {
        pid = process.pid(),
        id = process.id(),
        n = select("#", ...),
        args = args,
    })
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return msg:payload()
        end
    end
end

return { main = main }
