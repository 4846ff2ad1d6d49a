-- The actor this function runs as and the context value `request_id` (nil when it has none).
local security = require("security")
local ctx = require("ctx")

local function main()
    local actor = security.actor()
    local request_id = ctx.get("request_id")
    return { actor = actor and actor:id(), request_id = request_id, caller_arg_count = 0 }
end

return { main = main }
