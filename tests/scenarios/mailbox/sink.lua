-- Registers `overflow_sink` and forwards every message it gets to `parent` as `forwarded`.
local function main(parent: string)
    local ok, err = process.registry.register("overflow_sink")
    if not ok then
        return nil, err
    end
    process.send(parent, "ready")
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return true
        end
        process.send(parent, "forwarded", { topic = msg:topic(), from = msg:from(), payload = msg:payload() })
    end
end

return { main = main }
