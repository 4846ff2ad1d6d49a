-- Registers every name it is given, tells the parent, then: `stop` returns, `fail` raises.
local function main(parent: string, names: { string })
    for _, name in ipairs(names) do
        local ok, err = process.registry.register(name)
        if not ok then
            process.send(parent, "refused", { name = name, kind = err:kind(), message = err:message() })
            return nil, err
        end
    end
    process.send(parent, "registered", names)
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return msg:payload()
        elseif msg:topic() == "fail" then
            error(msg:payload(), 0)
        elseif msg:topic() == "ping" then
            process.send(msg:from(), "pong", msg:payload())
        end
    end
end

return { main = main }
