local t = require("t")

local function main()
    -- the root may build spawners ...
    t.ok(pcall(process.with_context, { a = 1 }), "allowed on the root's host")
    -- ... a process on the `locked` host may not: with_context raises PERMISSION_DENIED, no builder
    local probe = process.spawn_monitored("app:builder_probe", "app:locked")
    local got = t.event(probe, "EXIT of the probe").result.value
    t.contains(got.with_context, "PERMISSION_DENIED: ", "with_context raised")
    t.contains(got.with_context, "process.context", "naming the action")
    t.eq(got.builder, false, "no builder was made")
    t.eq(got.with_actor, nil, "so nothing else could be tried")
    return true
end

return { main = main }
