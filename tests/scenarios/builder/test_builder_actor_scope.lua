local t = require("t")
local security = require("security")

local function main()
    local me = process.pid()
    t.eq(security.actor():id(), "user:tester", "the root's actor")

    -- by default a child inherits actor and scope
    local plain = process.spawn("app:reporter", "app:procs", me, nil, true)
    local r = t.msg("report", plain):payload()
    t.eq(r.actor, "user:tester", "inherited actor")
    t.deep(r.scopes, { "builder", "security" }, "inherited scope")

    -- with_actor: the child runs as bob
    local bob = security.new_actor("user:bob", { role = "guest" })
    local as_bob = process.with_context({}):with_actor(bob)
    local pid = as_bob:spawn("app:reporter", "app:procs", me, nil, true)
    r = t.msg("report", pid):payload()
    t.eq(r.actor, "user:bob", "security.actor():id() in the child")
    t.deep(r.scopes, { "builder", "security" }, "scope still inherited")

    -- and bob's grandchildren are bob too; bob's permissions apply (bob may spawn reporters only)
    local mid = as_bob:spawn_monitored("app:spawner", "app:procs", me)
    local ev = t.event(mid, "EXIT of bob's spawner")
    t.eq(ev.error, nil, "spawner ran")
    local gr = t.msg("report", ev.result.value.child):payload()
    t.eq(gr.actor, "user:bob", "the grandchild inherits the actor")
    local mid2 = as_bob:spawn_monitored("app:try_builder", "app:procs")
    local tried = t.event(mid2, "EXIT of bob's try_builder").result.value
    t.contains(tried.with_context, "ok", "bob has the builder scope")
    t.contains(tried.with_actor, errors.PERMISSION_DENIED, "bob may not change actors (tester only)")

    -- with_scope: the child's policy scope
    local scoped = process.with_context({}):with_scope(security.new_scope({ "builder" }))
    pid = scoped:spawn("app:reporter", "app:procs", me, nil, true)
    r = t.msg("report", pid):payload()
    t.eq(r.actor, "user:tester", "actor unchanged")
    t.deep(r.scopes, { "builder" }, "security.scope():names() in the child")
    local mid3 = scoped:spawn_monitored("app:spawner", "app:procs", me)
    local gr3 = t.msg("report", t.event(mid3, "EXIT").result.value.child):payload()
    t.deep(gr3.scopes, { "builder" }, "the grandchild inherits the scope")

    pid = process.with_context({}):with_scope(security.named_scope("solo_scope")):spawn("app:reporter", "app:procs", me, nil, true)
    t.deep(t.msg("report", pid):payload().scopes, { "solo_scope" }, "named_scope")

    -- both at once
    pid = process.with_context({ a = 9 }):with_actor(bob):with_scope(security.new_scope({})):spawn("app:reporter", "app:procs", me, nil, true)
    r = t.msg("report", pid):payload()
    t.eq(r.actor, "user:bob", "actor")
    t.deep(r.scopes, {}, "empty scope")
    t.eq(r.a, 9, "context")
    return true
end

return { main = main }
