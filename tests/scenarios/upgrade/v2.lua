-- Version 2: reports the state v1 passed, then answers `ping` until `stop`.
local function main(parent: string, state: { count: number, from: string })
    process.send(parent, "v2_started", { pid = process.pid(), state = state, id = process.id() })
    local inbox = process.inbox()
    while true do
        local m = inbox:receive()
        if m:topic() == "ping" then
            process.send(m:from(), "pong", { version = 2, payload = m:payload() })
        elseif m:topic() == "stop" then
            return { version = 2, count = state.count }
        end
    end
end

return { main = main }
