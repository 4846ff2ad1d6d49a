local t = require("t")
local security = require("security")

-- Spawns `probe` on the one-process host: it only fits if a denied spawn left nothing running there.
local function solo_is_empty(me)
    local probe, err = process.spawn_monitored("app:announcer", "app:solo", me)
    t.ok(probe, "the solo host should be empty: " .. tostring(err))
    t.msg("started", probe)
    process.send(probe, "stop")
    t.event(probe, "EXIT of the probe")
end

local function main()
    local me = process.pid()

    -- a child without the `builder` scope may not create a builder; one without `security` may not
    -- change actor or scope. Both raise (pcall false) with PERMISSION_DENIED.
    local no_scope = process.with_context({}):with_scope(security.new_scope({}))
    local tried = t.event(no_scope:spawn_monitored("app:try_builder", "app:procs"), "EXIT").result.value
    t.contains(tried.with_context, "PERMISSION_DENIED: ", "with_context raised")
    t.contains(tried.with_context, "process.context", "naming the action")
    t.eq(tried.with_actor, nil, "no builder at all")

    local builder_only = process.with_context({}):with_scope(security.new_scope({ "builder" }))
    tried = t.event(builder_only:spawn_monitored("app:try_builder", "app:procs"), "EXIT").result.value
    t.eq(tried.with_context, "ok", "the builder scope allows with_context")
    t.eq(tried.chained, "ok", "and :with_context")
    t.contains(tried.with_actor, "PERMISSION_DENIED: ", ":with_actor raised")
    t.contains(tried.with_actor, "process.security", "naming the action")
    t.contains(tried.with_scope, "PERMISSION_DENIED: ", ":with_scope raised")

    -- denials at spawn time raise too, and start nothing
    local b = process.with_context({})
    local ok, err = pcall(function()
        return b:with_name("reserved_name"):spawn("app:announcer", "app:solo", me)
    end)
    t.raised(ok, err, errors.PERMISSION_DENIED, "process.registry.register", "with_name of a forbidden name")
    local r, lerr = process.registry.lookup("reserved_name")
    t.err(r, lerr, errors.NOT_FOUND, "no name")
    solo_is_empty(me)

    ok, err = pcall(function()
        return b:with_message("forbidden", 1):spawn("app:announcer", "app:solo", me)
    end)
    t.raised(ok, err, errors.PERMISSION_DENIED, "process.send", "with_message on a forbidden topic")
    solo_is_empty(me)

    ok, err = pcall(function()
        return b:spawn_monitored("app:off_limits", "app:solo", me)
    end)
    t.raised(ok, err, errors.PERMISSION_DENIED, "process.spawn", "spawning a forbidden entry")
    solo_is_empty(me)
    t.empty(process.inbox(), "no denied child ever announced itself")
    t.empty(process.events(), "and no event came from one")

    -- bad arguments raise INVALID
    ok, err = pcall(function()
        return b:with_actor("user:someone")
    end)
    t.raised(ok, err, errors.INVALID, nil, "with_actor takes an actor object")
    ok, err = pcall(function()
        return b:with_scope({ "x" })
    end)
    t.raised(ok, err, errors.INVALID, nil, "with_scope takes a scope object")
    return true
end

return { main = main }
