-- Registering a name one already holds is `true` in Corral's own API too; what the reference dialect adds
-- (the `payload` global, scope:policies, ctx.get's errors) is absent here.
local t = require("t")
local security = require("security")
local ctx = require("ctx")

local function main()
    local me = process.pid()
    t.eq(process.registry.register("again_own"), true, "first")
    t.eq(process.registry.register("again_own"), true, "again: idempotent")
    t.eq(process.registry.register("again_own", me), true, "naming the own PID")
    local holder = process.spawn_monitored("app:holder", "app:procs", me, { "again_held" })
    t.msg("registered", holder)
    local r, err = process.registry.register("again_held")
    t.err(r, err, errors.ALREADY_EXISTS, "another's name is still taken")
    t.eq(process.registry.register("again_held", holder), true, "registered to its holder again")
    process.registry.unregister("again_own")
    process.send(holder, "stop")
    t.event(holder, "EXIT")

    -- Corral's API stays as docs/lua-api.md: no dialect pieces.
    t.eq(payload, nil, "no payload global")
    local ok, perr = pcall(function() return security.scope():policies() end)
    t.eq(ok, false, "scope:policies is the dialect's")
    t.contains(tostring(perr), "wippy")
    t.eq(ctx.get("no-such-key"), nil, "ctx.get of an unknown key is nil")
    t.eq(select("#", ctx.get("no-such-key")), 1, "and nothing else")
    t.eq(type(process.inbox), "function")
    process.send(me, "self", 5)
    t.eq(t.msg("self"):payload(), 5, "a message's payload is the value itself")
    return true
end

return { main = main }
