-- Links itself to `target` (and tells `report_to`, default the target, that it did), then: `stop` returns
-- its payload, `fail` raises it.
local function main(target: string, report_to: string?)
    local ok, err = process.link(target)
    if not ok then
        return nil, err
    end
    process.send(report_to or target, "linked", process.pid())
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        if msg:topic() == "stop" then
            return msg:payload()
        elseif msg:topic() == "fail" then
            error(msg:payload(), 0)
        end
    end
end

return { main = main }
