-- Version 1. `upgrade` tries process.upgrade(payload, parent) and reports a failure; `ping` answers
-- `pong` with version 1; `stop` returns.
local function main(parent: string)
    process.send(parent, "ready", process.pid())
    local inbox = process.inbox()
    while true do
        local m = inbox:receive()
        if m:topic() == "upgrade" then
            local ok, err = process.upgrade(m:payload(), parent)
            process.send(parent, "upgrade_failed", { ok = ok, kind = err:kind(), message = err:message() })
        elseif m:topic() == "ping" then
            process.send(m:from(), "pong", { version = 1, id = process.id() })
        elseif m:topic() == "stop" then
            return "v1"
        end
    end
end

return { main = main }
