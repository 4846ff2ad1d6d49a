-- Reports what ctx.get gives to the PID in context value `parent`; with `depth` > 0 it also spawns a
-- grandchild (which inherits the context values) that reports too.
local ctx = require("ctx")

local function main(depth)
    local parent = ctx.get("parent")
    local user, err = ctx.get("user")
    local _, missing = ctx.get("no-such-key")
    process.send(parent, "ctx", {
        depth = depth,
        user = user,
        err = err and err:kind(),
        missing = missing and missing:kind(),
        all_user = ctx.all().user,
    })
    if depth > 0 then
        process.spawn("app:ctx_reader", "app:procs", depth - 1)
    end
    return true
end

return { main = main }
