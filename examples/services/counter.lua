-- A counter service: registers as "counter", adds each "incr" to its total, answers "get": a call with its
-- reply, a plain message on topic "value" to the sender.
local function main(start: number)
    local total = start
    local ok, err = process.registry.register("counter")
    if not ok then
        error("cannot register: " .. tostring(err))
    end
    local inbox = process.inbox()
    local events = process.events()
    while true do
        local r = channel.select({ inbox:case_receive(), events:case_receive() })
        if r.channel == events then
            if r.value.kind == process.event.CANCEL then
                return total
            end
        else
            local msg = r.value
            if msg:topic() == "incr" then
                total = total + (msg:payload() or 1)
            elseif msg:topic() == "get" and msg:reply_to() then
                -- A call (process.call, or POST /v1/processes/counter/call on a node): answer it.
                msg:reply(total)
            elseif msg:topic() == "get" and msg:from() then
                process.send(msg:from(), "value", total)
            end
        end
    end
end

return { main = main }
