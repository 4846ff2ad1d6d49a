-- Keeps the first call unanswered; on `go` answers it (too late: the caller timed out) and reports what the
-- reply returned; then answers every call with its topic until `stop`.
local function main()
    local inbox = process.inbox()
    local first = inbox:receive()
    local go = inbox:receive()
    process.send(go:from(), "late", first:reply("late"))
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then return "stopped" end
        msg:reply(msg:topic())
    end
end

return { main = main }
