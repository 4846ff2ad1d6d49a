-- Registers `<namespace>_<name>_ran`, tells the parent it started, and waits for `stop`.
local function main(parent: string)
    local name = string.gsub(process.id(), ":", "_") .. "_ran"
    process.registry.register(name)
    process.send(parent, "started", process.pid())
    local inbox = process.inbox()
    while true do
        local m = inbox:receive()
        if m:topic() == "stop" then
            return m:payload()
        end
    end
end

return { main = main }
