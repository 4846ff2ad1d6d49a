-- Keeps every message unread (kept messages count against the mailbox bound) until a CANCEL arrives on
-- events() (lifecycle events are never blocked by a full mailbox); then returns the payloads it held.
local function main()
    local events = process.events()
    while true do
        local ev = events:receive()
        if ev.kind == process.event.CANCEL then
            break
        end
    end
    local held = {}
    local inbox = process.inbox()
    while true do
        local r = channel.select({ inbox:case_receive(), default = true })
        if r.default then
            break
        end
        table.insert(held, r.value:payload())
    end
    return held
end

return { main = main }
