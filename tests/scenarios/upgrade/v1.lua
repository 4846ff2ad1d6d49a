-- Version 1: counts `work` messages; on `upgrade` it becomes v2, handing over its state.
local function main(parent: string)
    process.send(parent, "v1_started", process.pid())
    local count = 0
    local inbox = process.inbox()
    while true do
        local m = inbox:receive()
        if m:topic() == "work" then
            count += 1
        elseif m:topic() == "upgrade" then
            local target = m:payload()
            local ok, err = process.upgrade(target, parent, { count = count, from = "v1" })
            -- only reached when the upgrade failed
            process.send(parent, "upgrade_failed", { kind = err:kind(), message = err:message(), ok = ok })
        end
    end
end

return { main = main }
