-- Waits on events() and the inbox. On CANCEL: `return` returns the event's fields, `ignore` tells the parent
-- and keeps going, `slow` cleans up for `pause` and then returns. `ping` answers `pong` with the number of
-- CANCEL events seen so far (after looking at events() once more).
local time = require("time")

local function fields(ev)
    return { kind = ev.kind, from = ev.from, at = ev.at, deadline = ev.deadline }
end

local function main(parent: string, mode: string, pause: string?)
    local events = process.events()
    local inbox = process.inbox()
    local cancels = 0
    process.send(parent, "ready", process.pid())
    while true do
        local r = channel.select({ events:case_receive(), inbox:case_receive() })
        if r.channel == events then
            local ev = r.value
            if ev.kind == process.event.CANCEL then
                cancels += 1
                if mode == "return" then
                    return fields(ev)
                elseif mode == "slow" then
                    time.sleep(pause or "10ms")
                    return "cleaned up"
                else
                    process.send(parent, "got_cancel", fields(ev))
                end
            end
        else
            local msg = r.value
            if msg:topic() == "ping" then
                local more = channel.select({ events:case_receive(), default = true })
                if not more.default and more.value.kind == process.event.CANCEL then
                    cancels += 1
                end
                process.send(msg:from(), "pong", cancels)
            elseif msg:topic() == "stop" then
                return "stopped"
            end
        end
    end
end

return { main = main }
