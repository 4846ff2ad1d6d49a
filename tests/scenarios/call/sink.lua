-- Takes every message and answers none, except a `huge` call (a reply over its host's bound, then a small
-- one) and `stop`, which returns how many it took.
local function main(report)
    local inbox = process.inbox()
    local taken = 0
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then return taken end
        if msg:topic() == "huge" then
            local none, err = msg:reply(string.rep("x", 100000))
            local func, ferr = msg:reply(print)
            local small = msg:reply("small")
            process.send(report, "huge", { err:kind(), ferr:kind(), small })
        end
        taken = taken + 1
    end
end

return { main = main }
