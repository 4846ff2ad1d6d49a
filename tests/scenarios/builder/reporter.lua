-- Reports to `parent`: its pid, actor, scope, context values, the messages queued before it ran, and
-- whether `name` (if given) was registered to it before it ran. Then waits for `stop` (unless told to end).
local security = require("security")
local ctx = require("ctx")

local function main(parent: string, name: string?, finish: boolean?)
    local queued = {}
    local inbox = process.inbox()
    while true do
        local r = channel.select({ inbox:case_receive(), default = true })
        if r.default then
            break
        end
        local m = r.value
        table.insert(queued, { topic = m:topic(), from = m:from(), payload = m:payload() })
    end
    local named = nil
    if name then
        named = process.registry.lookup(name)
    end
    local actor = security.actor()
    local scope = security.scope()
    local names = scope and scope:names() or {}
    table.sort(names)
    process.send(parent, "report", {
        pid = process.pid(),
        actor = actor and actor:id(),
        scopes = names,
        ctx = ctx.all(),
        a = ctx.get("a"),
        queued = queued,
        named = named,
    })
    if finish then
        return true
    end
    while true do
        local m = inbox:receive()
        if m:topic() == "stop" then
            return m:payload()
        elseif m:topic() == "fail" then
            error(m:payload(), 0)
        elseif m:topic() == "ping" then
            process.send(m:from(), "pong", m:payload())
        end
    end
end

return { main = main }
