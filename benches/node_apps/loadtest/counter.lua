-- Counts `incr` messages; answers `echo` calls with their payload and `get` calls with the count.
local function main()
    local ok, err = process.registry.register("counter")
    if not ok then
        error("cannot register: " .. tostring(err))
    end
    local inbox = process.inbox()
    local events = process.events()
    local count = 0
    while true do
        local r = channel.select({ inbox:case_receive(), events:case_receive() })
        if r.channel == events then
            if r.value.kind == process.event.CANCEL then
                return count
            end
        else
            local msg = r.value
            local topic = msg:topic()
            if topic == "incr" then
                count = count + 1
            elseif topic == "get" then
                msg:reply(count)
            elseif topic == "echo" then
                msg:reply(msg:payload())
            end
        end
    end
end

return { main = main }
