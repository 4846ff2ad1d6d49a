-- A registered service in the reference system's style: answers requests on the reply topic they name.
local helpers = require("helpers")

local function run(name: string, owner: string)
    local ok, err = process.registry.register(name)
    if not ok then
        return nil, err
    end
    process.send(owner, "ready", name)
    local count = 0
    local inbox = process.inbox()
    while true do
        local msg = inbox:receive()
        local request = msg:payload():data()
        if msg:topic() == "inc" then
            count += request.by
        elseif msg:topic() == "get" then
            process.send(msg:from(), request.reply_to, { count = count, squared = helpers.square(count) })
        elseif msg:topic() == "stop" then
            return count
        end
    end
end

return { run = run }
