-- The platform's operator starts one service per tenant, each as the tenant's actor, then runs an acme
-- client that tries to reach both services. Tenant isolation is the policy's, not this script's.
local security = require("security")
local time = require("time")

local function spawn_as(actor_id: string, entry: string, monitored: boolean, ...)
    local builder = process.with_context({ tenant = actor_id }):with_actor(security.new_actor(actor_id))
    if monitored then
        return builder:spawn_monitored(entry, "platform:processes", ...)
    end
    return builder:spawn(entry, "platform:processes", ...)
end

local function main()
    local events = process.events()
    local acme_service = spawn_as("user:alice", "acme:service", true)
    local globex_service = spawn_as("user:bob", "globex:service", true)
    local client = spawn_as("user:alice", "acme:client", true, { own = acme_service, other = globex_service })

    local report, counts = nil, {}
    local deadline = time.after("5s")
    local pending = 3
    while pending > 0 do
        local r = channel.select({ events:case_receive(), deadline:case_receive() })
        if r.channel == deadline then
            return nil, "timed out"
        end
        local event = r.value
        if event.kind == process.event.EXIT then
            pending -= 1
            if event.error then
                return nil, event.from .. " failed: " .. event.error
            end
            if event.from == client then
                report = event.result.value
                -- The operator may stop both services.
                process.send(acme_service, "stop")
                process.send(globex_service, "stop")
            elseif event.from == acme_service then
                counts.acme = event.result.value
            else
                counts.globex = event.result.value
            end
        end
    end
    return {
        own_tenant_send = report.own,
        cross_tenant_denied = report.cross_denied,
        denial_names_action = string.find(report.cross_message, "process.send", 1, true) ~= nil,
        denial_names_resource = string.find(report.cross_message, "Process::", 1, true) ~= nil,
        acme_received = counts.acme,
        globex_received = counts.globex,
    }
end

return { main = main }
