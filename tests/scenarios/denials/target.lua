-- Says `ready`; counts what it receives. `ping` answers `pong` with {messages = n, events = {kinds}} after
-- a last look at events(); `stop` returns; `fail` raises.
local function main(parent: string)
    process.send(parent, "ready", process.pid())
    local inbox = process.inbox()
    local events = process.events()
    local received = {}
    local seen = {}
    while true do
        local r = channel.select({ inbox:case_receive(), events:case_receive() })
        if r.channel == events then
            table.insert(seen, r.value.kind)
        else
            local m = r.value
            local topic = m:topic()
            if topic == "ping" then
                while true do
                    local more = channel.select({ events:case_receive(), default = true })
                    if more.default then
                        break
                    end
                    table.insert(seen, more.value.kind)
                end
                process.send(m:from(), "pong", { messages = received, events = seen })
            elseif topic == "stop" then
                return m:payload()
            elseif topic == "fail" then
                error(m:payload(), 0)
            else
                table.insert(received, topic)
            end
        end
    end
end

return { main = main }
