-- Every call corral check reads, each with a literal it can check.
local time = require("time")
local security = require("security")
local util = require("util")

local function main()
    local pid = process.spawn("app:worker", "app:procs", 1)
    local builder = process.with_context({ tenant = "acme" }):with_actor(security.new_actor("user:alice"))
    local other = builder:spawn_monitored("app:worker", "app:procs", 2)
    local bob = security.new_actor("user:bob")
    local scope = security.named_scope("tenant_acme")
    time.sleep("1ms")
    return { pid ~= nil, other ~= nil, util.double(2), bob ~= nil, scope ~= nil }
end

return { main = main }
