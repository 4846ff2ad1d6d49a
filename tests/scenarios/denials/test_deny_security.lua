local t = require("t")

local function main()
    local probe = process.spawn_monitored("app:builder_probe", "app:nosec")
    local got = t.event(probe, "EXIT of the probe").result.value
    t.eq(got.with_context, "ok", "with_context is allowed on nosec")
    t.contains(got.with_actor, "PERMISSION_DENIED: ", ":with_actor raised")
    t.contains(got.with_actor, "process.security", "naming the action")
    t.contains(got.with_scope, "PERMISSION_DENIED: ", ":with_scope raised")
    t.contains(got.with_scope, "process.security", "naming the action")
    t.eq(got.derived, false, "no derived builder was made")
    return true
end

return { main = main }
