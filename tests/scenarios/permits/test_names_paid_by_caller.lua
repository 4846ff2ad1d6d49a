-- Issue 9: a name bound to another process is paid for by the caller (its `max_names`, 2 on host `few`),
-- never the target, and goes when either exits; unbinding another process's name needs a policy that says so.
local t = require("t")

local function main()
    local me = process.pid()
    local child = process.spawn_monitored("app:holder", "app:procs", me, { "its_own" })
    t.msg("registered", child)
    -- the caller pays: two names for the child fill the caller's quota (host `few`), not the child's
    local payer = process.spawn_monitored("app:registrar", "app:few", me, { "for_child_1", "for_child_2", "for_child_3" }, child)
    t.deep(t.msg("bound", payer):payload(), { "ok", "ok", errors.LIMIT_EXCEEDED }, "the payer's two names, then its limit")
    t.eq(process.registry.lookup("for_child_1"), child, "a name bound to another process resolves to it")
    process.send(payer, "stop")
    t.event(payer, "EXIT of the payer")
    local r, err = process.registry.lookup("for_child_1")
    t.err(r, err, errors.NOT_FOUND, "a name goes with the process that paid for it")
    t.eq(process.registry.lookup("its_own"), child, "the target's own name stays")
    r, err = process.registry.lookup("for_child_2")
    t.err(r, err, errors.NOT_FOUND, "both names it paid for")

    -- unregister of another process's name: the request says whose it is, and this policy forbids it
    local ok, uerr = process.registry.unregister("its_own")
    t.denied(ok, uerr, "process.registry.unregister", "another process's name")
    t.eq(process.registry.lookup("its_own"), child, "nothing was removed")
    t.eq(process.registry.register("mine"), true, "own name")
    t.eq(process.registry.unregister("mine"), true, "own name removed")
    process.send(child, "stop", true)
    t.event(child, "EXIT of the child")
    return true
end

return { main = main }
