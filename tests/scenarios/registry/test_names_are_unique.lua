local t = require("t")

local function main()
    local me = process.pid()
    local holder = process.spawn_monitored("app:holder", "app:procs", me, { "unique_a", "unique_b" })
    t.deep(t.msg("registered", holder):payload(), { "unique_a", "unique_b" }, "holder registered")

    local r, err = process.registry.register("unique_a")
    t.err(r, err, errors.ALREADY_EXISTS, "a taken name")
    t.contains(err:message(), "unique_a", "the error names the name")
    t.eq(process.registry.lookup("unique_a"), holder, "the holder keeps it")
    r, err = process.registry.register("unique_b", me)
    t.err(r, err, errors.ALREADY_EXISTS, "taken, for a pid too")

    -- a second holder that wants a taken name is refused
    local second = process.spawn_monitored("app:holder", "app:procs", me, { "unique_c", "unique_a" })
    local refused = t.msg("refused", second):payload()
    t.eq(refused.name, "unique_a", "refused name")
    t.eq(refused.kind, errors.ALREADY_EXISTS, "kind")
    t.contains(t.event(second, "EXIT of the refused holder").error, "unique_a", "it failed")
    r, err = process.registry.lookup("unique_c")
    t.err(r, err, errors.NOT_FOUND, "the refused holder's other name went with it")

    -- unregister, by anyone allowed, frees the name for someone else
    t.eq(process.registry.unregister("unique_a"), true, "unregister another's name")
    t.eq(process.registry.register("unique_a"), true, "now it is ours")
    t.eq(process.registry.lookup("unique_a"), me, "lookup")
    process.registry.unregister("unique_a")
    process.send(holder, "stop")
    t.event(holder, "EXIT")
    r, err = process.registry.lookup("unique_b")
    t.err(r, err, errors.NOT_FOUND, "released at exit")
    return true
end

return { main = main }
