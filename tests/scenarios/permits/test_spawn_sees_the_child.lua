-- Issue 9: spawn and process.security decisions carry who the child will be (`context.actor`, `tenant`,
-- `scopes`, `entry`): the policy forbids children of the `evil` tenant, assumed with :with_actor.
local t = require("t")
local security = require("security")

local function main()
    local me = process.pid()
    local good = security.new_actor("user:g", { tenant = "good" })
    local evil = security.new_actor("user:e", { tenant = "evil" })
    local pid = process.with_context({}):with_actor(good):spawn_monitored("app:holder", "app:procs", me, {})
    t.msg("registered", pid)
    process.send(pid, "stop", true)
    t.event(pid, "EXIT of the good child")
    local ok, err = pcall(function() return process.with_context({}):with_actor(evil) end)
    t.raised(ok, err, errors.PERMISSION_DENIED, "process.security", "assuming an evil actor is decided with it")
    t.empty(process.inbox(), "no child of the evil tenant ever ran")
    -- the assumed actor's meta reaches the decision (the keys the schema declares: `role`, `tenant`)
    local intruder = security.new_actor("user:i", { tenant = "good", role = "intruder" })
    ok, err = pcall(function() return process.with_context({}):with_actor(intruder) end)
    t.raised(ok, err, errors.PERMISSION_DENIED, "process.security", "an intruder's meta is seen")
    local worker = security.new_actor("user:w", { tenant = "good", role = "worker", shift = 3 })
    pid = process.with_context({}):with_actor(worker):spawn_monitored("app:holder", "app:procs", me, {})
    t.msg("registered", pid)
    process.send(pid, "stop", true)
    t.event(pid, "EXIT of the worker child (a meta key the schema does not declare is left out)")
    return true
end

return { main = main }
